// notification-service: composition root. Construct, start() in order, stop() in reverse.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "adapters/http/notification_routes.h"
#include "adapters/kafka/event_handler.h"
#include "adapters/notifier/log_notifier.h"
#include "adapters/storage/sql_notification_repository.h"
#include "adapters/templates/template_file.h"
#include "app/notification_service.h"
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

using namespace orderflow;

namespace {

struct NotificationSettings {
  config::ServiceConfig common;
  std::string templates_file;
  std::string locale;
  std::vector<std::string> channels;
  std::string fail_user_prefix;
};

NotificationSettings read_settings(const config::Source& source) {
  config::Reader reader(source);
  NotificationSettings s;
  s.common = config::read_service_config(reader, "notification-service", 8083);
  s.common.consumer.group_id = reader.string("consumer.group_id", "notification-service");
  s.common.consumer.topics =
      reader.string_list("consumer.topics", {s.common.topics.orders, s.common.topics.payments});
  s.templates_file = config::resolve_path(
      source, reader.string("notification.templates_file",
                            config::default_config_dir() + "/notification-templates.yaml"));
  s.locale = reader.string("notification.locale", "en");
  s.channels = reader.string_list("notification.channels", {"log"});
  for (const auto& c : s.channels) {
    if (c != "log") {
      throw config::ConfigError("config: notification.channels: unknown channel '" + c +
                                "' (available: log)");
    }
  }
  s.fail_user_prefix = reader.string("notification.faults.fail_user_prefix", "");
  reader.finish();
  return s;
}

int run(const config::Source& source) {
  auto settings = read_settings(source);
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
  notification::LogNotifier log_notifier(logger);
  notification::FaultInjectingNotifier faulty_log(log_notifier, settings.fail_user_prefix);
  notification::NotificationService service(repository, std::move(templates), {&faulty_log}, clock,
                                            cfg.consumer.group_id);
  // A worker's ready records commit in one transaction.
  auto batch = messaging::make_database_batch(*db);
  messaging::ConsumerRunner consumer(cfg.kafka, cfg.consumer,
                                     notification::make_event_handler(service), metrics, logger,
                                     clock, *parked_keys, batch.get());

  runtime::Intake intake;
  http::Router router;
  notification::add_notification_routes(router, service);
  notification::add_fault_routes(router, faulty_log);
  http::add_standard_routes(
      router,
      [&] {
        return runtime::service_readiness(
            {db.get(), &consumer, &intake, &broker, cfg.broker_grace});
      },
      metrics);
  runtime::add_admin_routes(router, intake,
                            [&] { return runtime::service_drain_status(*db, false, &consumer); });
  http::Server server(cfg.http, router, metrics, logger);

  broker.start();
  consumer.start();
  server.start();
  runtime::write_port_file(cfg.port_file, cfg.http.host, server.port());
  logger->info("\"notification-service started\" port={} group={} bootstrap={}", server.port(),
               cfg.consumer.group_id, cfg.kafka.bootstrap_servers);

  int sig = runtime::wait_for_shutdown_signal();
  logger->info("\"stopping\" signal={}", sig);
  deadline.arm(cfg.drain_timeout);
  intake.close();
  server.stop();
  runtime::stop_messaging(deadline, consumer, nullptr, *probe, broker, *logger);
  topics.stop();
  logger->info("\"notification-service stopped\"");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return runtime::service_main(argc, argv, "notification-service", run);
}
