// notification-service: composition root. Construct, start() in order, stop() in reverse.
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "adapters/http/notification_routes.h"
#include "adapters/kafka/event_handler.h"
#include "adapters/notifier/http_notifier.h"
#include "adapters/notifier/log_notifier.h"
#include "adapters/sink/http_data_platform_client.h"
#include "adapters/storage/sql_notification_repository.h"
#include "adapters/templates/template_file.h"
#include "app/notification_service.h"
#include "app/sink_service.h"
#include "orderflow/config/config.h"
#include "orderflow/http/server.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/runtime/service_host.h"
#include "orderflow/runtime/service_main.h"
#include "orderflow/runtime/service_status.h"
#include "orderflow/runtime/shutdown_deadline.h"
#include "orderflow/runtime/topic_provisioner.h"
#include "orderflow/storage/database.h"
#include "settings.h"

using namespace orderflow;

namespace {

// The configured channels, each wrapped for fault injection (POST /admin/faults).
struct Channels {
  std::vector<std::unique_ptr<notification::Notifier>> channels;
  std::vector<std::unique_ptr<notification::FaultInjectingNotifier>> faulty;
  [[nodiscard]] std::vector<notification::FaultInjectingNotifier*> faults() const {
    std::vector<notification::FaultInjectingNotifier*> out;
    for (const auto& f : faulty) out.push_back(f.get());
    return out;
  }
  [[nodiscard]] std::vector<notification::Notifier*> notifiers() const {
    auto f = faults();
    return {f.begin(), f.end()};
  }
};

Channels make_channels(const notification::NotificationSettings& settings,
                       const std::shared_ptr<spdlog::logger>& logger) {
  Channels out;
  for (const auto& name : settings.channels) {
    if (name == "log") {
      out.channels.push_back(std::make_unique<notification::LogNotifier>(logger));
    } else {
      out.channels.push_back(std::make_unique<notification::HttpNotifier>(
          name, settings.url_of(name), notification::payload_for(name), settings.outbound));
    }
    out.faulty.push_back(std::make_unique<notification::FaultInjectingNotifier>(
        *out.channels.back(), settings.fail_user_prefix));
  }
  return out;
}

std::unique_ptr<messaging::IdempotencyStore> make_idempotency_store(
    const notification::NotificationSettings& settings, storage::Database& db) {
  if (settings.idempotency_store == "redis") {
    return messaging::make_redis_idempotency_store(settings.redis);
  }
  return messaging::make_database_idempotency_store(db);
}

int run(const config::Source& source) {
  auto settings = notification::read_notification_settings(source);
  auto& cfg = settings.common;
  auto logger = observability::make_logger(cfg.name, cfg.log);
  runtime::ShutdownDeadline deadline(logger);  // first: outlives every part it bounds
  std::filesystem::create_directories(cfg.data_dir);
  config::resolve_bootstrap(cfg);
  runtime::TopicProvisioner topics(cfg, logger);
  topics.start();  // before the producer warms up its topics' metadata
  auto templates = notification::load_templates(settings.templates_file, settings.locale);

  observability::Metrics metrics(cfg.name);
  SystemClock clock;
  auto db = storage::open_database(cfg.storage);
  auto parked_keys = runtime::prepare_consumer(*db, cfg);
  storage::migrate(*db, "notification", notification::notification_migrations());

  // Sends nothing: it only probes the broker for readiness.
  auto probe = messaging::make_kafka_producer(cfg.kafka, logger);
  runtime::BrokerMonitor broker(*probe);
  notification::SqlNotificationRepository repository(*db);
  auto channels = make_channels(settings, logger);
  auto store = make_idempotency_store(settings, *db);
  notification::NotificationService service(repository, std::move(templates), channels.notifiers(),
                                            clock, cfg.consumer.group_id, *store);
  // A worker's ready records commit in one transaction; the channel calls are handed off and
  // run after it (make_event_handler).
  auto batch = messaging::make_database_batch(*db);
  messaging::ConsumerRunner consumer(cfg.kafka, cfg.consumer,
                                     notification::make_event_handler(service), metrics, logger,
                                     clock, *parked_keys, batch.get());
  // The data-platform sink: a consumer group of its own on the orders topic (own offsets,
  // retries and dead letters), so a slow platform never delays the notifications.
  std::unique_ptr<notification::HttpDataPlatformClient> platform;
  std::unique_ptr<notification::SinkService> sink;
  std::unique_ptr<messaging::ConsumerRunner> sink_consumer;
  if (settings.sink_enabled) {
    platform = std::make_unique<notification::HttpDataPlatformClient>(settings.sink_url,
                                                                      settings.outbound);
    sink = std::make_unique<notification::SinkService>(*platform, *store, settings.sink_group);
    auto options = cfg.consumer;
    options.group_id = settings.sink_group;
    options.topics = {cfg.topics.orders};
    sink_consumer = std::make_unique<messaging::ConsumerRunner>(
        cfg.kafka, std::move(options), notification::make_sink_handler(*sink), metrics, logger,
        clock, *parked_keys);
  }

  runtime::Intake intake;
  http::Router router;
  notification::add_notification_routes(router, service);
  notification::add_fault_routes(router, channels.faults());
  http::add_openapi_route(router, http::embedded_openapi_json());
  http::add_standard_routes(
      router,
      [&] {
        auto ready =
            runtime::service_readiness({db.get(), &consumer, &intake, &broker, cfg.broker_grace});
        if (sink_consumer) {
          // The sink's group counts as the notifications' does (running, joined, no reset).
          auto sink_ready = runtime::service_readiness(
              {nullptr, sink_consumer.get(), nullptr, nullptr, cfg.broker_grace});
          ready.details["sink"] = sink_ready.details;
          if (ready.ready && !sink_ready.ready) {
            ready.ready = false;
            ready.reason = settings.sink_group + ": " + sink_ready.reason;
          }
        }
        return ready;
      },
      metrics);
  runtime::add_admin_routes(router, intake, [&] {
    return runtime::service_drain_status(*db, false, &consumer, sink_consumer.get());
  });
  http::Server server(cfg.http, router, metrics, logger);

  broker.start();
  consumer.start();
  if (sink_consumer) sink_consumer->start();
  server.start();
  runtime::write_port_file(cfg.port_file, cfg.http.host, server.port());
  logger->info(
      "\"notification-service started\" port={} group={} bootstrap={} channels={} sink={} "
      "idempotencyStore={}",
      server.port(), cfg.consumer.group_id, cfg.kafka.bootstrap_servers,
      fmt::join(settings.channels, ","), settings.sink_enabled ? settings.sink_url : "off",
      store->kind());

  int sig = runtime::wait_for_shutdown_signal();
  logger->info("\"stopping\" signal={}", sig);
  deadline.arm(cfg.drain_timeout);
  intake.close();
  server.stop();
  if (sink_consumer) sink_consumer->stop();
  runtime::stop_messaging(deadline, consumer, nullptr, *probe, broker, *logger);
  topics.stop();
  logger->info("\"notification-service stopped\"");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return runtime::service_main(argc, argv, "notification-service", run);
}
