// ops-service: composition root. Construct, start() in order, stop() in reverse.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "adapters/http/console_routes.h"
#include "adapters/http/console_static.h"
#include "adapters/http/dlq_routes.h"
#include "adapters/kafka/dead_letter_handler.h"
#include "adapters/metrics/dlq_gauges.h"
#include "adapters/metrics/group_lag_gauges.h"
#include "adapters/storage/sql_dead_letter_store.h"
#include "app/dlq_service.h"
#include "orderflow/config/config.h"
#include "orderflow/http/server.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/messaging/topic_browser.h"
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

struct OpsSettings {
  config::ServiceConfig common;
  std::map<std::string, std::vector<std::string>> lag_groups;  ///< lag.groups
  std::chrono::milliseconds lag_interval{5000};                ///< lag.interval_ms
  std::string console_dir;                                     ///< console.dir
  ops::ConsoleSettings console;                                ///< console.*
};

OpsSettings read_settings(const config::Source& source) {
  config::Reader reader(source);
  OpsSettings s;
  auto& cfg = s.common;
  cfg = config::read_service_config(reader, "ops-service", 8081);
  cfg.consumer.group_id = reader.string("consumer.group_id", "ops-service");
  cfg.consumer.topics = ops::dlt_subscription(cfg.topics.dlt_suffix);
  s.lag_groups = ops::lag_groups(reader.string_map("lag.groups"), cfg.topics,
                                 reader.string_map("lag.group_ids"));
  s.lag_interval = reader.millis("lag.interval_ms", s.lag_interval, std::chrono::milliseconds{100});
  s.console_dir = reader.string("console.dir", ORDERFLOW_CONSOLE_DIR);
  s.console.endpoints_file = reader.string(
      "console.endpoints_file", (std::filesystem::path(cfg.data_dir) / "endpoints.json").string());
  s.console.scan_limit = reader.integer("console.scan_limit", s.console.scan_limit, 1, 1'000'000);
  for (const auto& topic : {cfg.topics.orders, cfg.topics.inventory, cfg.topics.payments}) {
    s.console.event_topics.insert(s.console.event_topics.end(),
                                  {topic, topic + cfg.topics.dlt_suffix});
  }
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

  observability::Metrics metrics(cfg.name);
  SystemClock clock;
  // ops-service parks nothing of its own; its DLT reader keeps the runner's state in memory.
  auto parked_keys = messaging::make_memory_parked_key_store();
  auto db = storage::open_database(cfg.storage);
  storage::migrate(*db, "ops", ops::dead_letter_migrations());

  auto producer = messaging::make_kafka_producer(cfg.kafka, logger);
  runtime::warm_up_producer(*producer, cfg, *logger);
  runtime::BrokerMonitor broker(*producer);
  ops::SqlDeadLetterStore store(*db);
  ops::DlqGauges gauges(metrics);
  ops::DlqService* service_ptr = nullptr;
  ops::DlqService service(store, *producer, clock, [&] { gauges.refresh(*service_ptr); });
  service_ptr = &service;
  gauges.refresh(service);
  messaging::ConsumerRunner consumer(cfg.kafka, cfg.consumer,
                                     ops::make_dead_letter_handler(service), metrics, logger, clock,
                                     *parked_keys);

  // The watched groups' lag from outside them (still counted while their consumers are down).
  messaging::GroupLagProbe lag_probe(cfg.kafka);
  ops::GroupLagGauges lag_gauges(lag_probe, settings.lag_groups, metrics, logger);

  messaging::TopicBrowser topic_browser(cfg.kafka);

  runtime::Intake intake;
  http::Router router;
  ops::add_dlq_routes(router, service);
  ops::add_console_static_routes(router, settings.console_dir);
  http::add_openapi_route(router, http::embedded_openapi_json());
  ops::add_console_routes(router, topic_browser, lag_gauges, settings.console);
  http::add_standard_routes(
      router,
      [&] {
        return runtime::service_readiness(
            {db.get(), &consumer, &intake, &broker, cfg.broker_grace});
      },
      metrics);
  runtime::add_admin_routes(router, intake, [&] {
    auto status = consumer.status();
    return runtime::DrainStatus{producer->in_flight(), status.lag, status.in_flight};
  });
  http::Server server(cfg.http, router, metrics, logger);

  broker.start();
  consumer.start();
  lag_gauges.start(settings.lag_interval);
  server.start();
  runtime::write_port_file(cfg.port_file, cfg.http.host, server.port());
  logger->info("\"ops-service started\" port={} group={} subscription={} bootstrap={}",
               server.port(), cfg.consumer.group_id, cfg.consumer.topics.front(),
               cfg.kafka.bootstrap_servers);

  int sig = runtime::wait_for_shutdown_signal();
  logger->info("\"stopping\" signal={}", sig);
  deadline.arm(cfg.drain_timeout);
  intake.close();
  server.stop();
  lag_gauges.stop();
  runtime::stop_messaging(deadline, consumer, nullptr, *producer, broker, *logger);
  topics.stop();
  logger->info("\"ops-service stopped\"");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return runtime::service_main(argc, argv, "ops-service", run); }
