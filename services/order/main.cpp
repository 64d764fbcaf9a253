// order-service: composition root. Construct, start() in order, stop() in reverse.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "adapters/http/order_routes.h"
#include "adapters/kafka/saga_handler.h"
#include "adapters/storage/sql_order_repository.h"
#include "app/order_service.h"
#include "orderflow/config/catalog.h"
#include "orderflow/config/config.h"
#include "orderflow/http/server.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/outbox.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/runtime/periodic_task.h"
#include "orderflow/runtime/service_host.h"
#include "orderflow/runtime/service_main.h"
#include "orderflow/runtime/service_status.h"
#include "orderflow/runtime/shutdown_deadline.h"
#include "orderflow/runtime/topic_provisioner.h"
#include "orderflow/storage/database.h"

using namespace orderflow;

namespace {

struct OrderSettings {
  config::ServiceConfig common;
  std::string catalog_file;
  std::chrono::milliseconds saga_timeout{300000};
  std::chrono::milliseconds saga_check_interval{5000};
  std::int64_t max_backlog = 10000;  ///< outbox.max_backlog; 0 = unlimited
};

OrderSettings read_settings(const config::Source& source) {
  config::Reader reader(source);
  OrderSettings s;
  s.common = config::read_service_config(reader, "order-service", 8080);
  s.catalog_file = config::resolve_path(
      source, reader.string("order.catalog_file", config::default_catalog_file()));
  s.common.consumer.group_id = reader.string("consumer.group_id", "order-service");
  s.common.consumer.topics =
      reader.string_list("consumer.topics", {s.common.topics.inventory, s.common.topics.payments});
  s.saga_timeout = reader.millis("saga.timeout_ms", s.saga_timeout, std::chrono::milliseconds{1});
  s.saga_check_interval =
      reader.millis("saga.check_interval_ms", s.saga_check_interval, std::chrono::milliseconds{1});
  s.max_backlog = reader.integer("outbox.max_backlog", s.max_backlog, 0, 1'000'000'000);
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

  auto catalog_file = config::load_catalog(settings.catalog_file);
  std::vector<order::Product> products;
  for (const auto& p : catalog_file.products) {
    products.push_back({p.sku, p.name, p.unit_price, p.stock});
  }
  order::Catalog catalog(catalog_file.currency, std::move(products));

  observability::Metrics metrics(cfg.name);
  SystemClock clock;
  auto db = storage::open_database(cfg.storage);
  storage::migrate(*db, "outbox", messaging::Outbox::migrations());
  auto parked_keys = runtime::prepare_consumer(*db, cfg);
  storage::migrate(*db, "order", order::order_migrations());

  auto producer = messaging::make_kafka_producer(cfg.kafka, logger);
  runtime::warm_up_producer(*producer, cfg, *logger);
  runtime::BrokerMonitor broker(*producer);
  auto outbox_store = messaging::make_outbox_store(*db, cfg.outbox.retention, &clock);
  messaging::OutboxRelay relay(*outbox_store, *producer, cfg.outbox, metrics, logger, &clock);
  // New orders are refused (503 OVERLOADED) while the relay cannot keep up; saga updates and
  // cancels are not: they are bounded by the orders already accepted.
  messaging::OutboxBacklog backlog(*db, settings.max_backlog, metrics);
  order::SqlOrderRepository repository(*db, cfg.topics.orders, cfg.name, [&relay, &backlog] {
    backlog.appended();  // at least one row per commit; the periodic recount has the rest
    relay.notify();
  });
  order::OrderService service(
      repository, catalog, clock, cfg.consumer.group_id, [&backlog] { return backlog.admit(); },
      &metrics);
  // A worker's ready records commit in one transaction; the relay is woken once they did.
  auto batch = messaging::make_database_batch(*db, [&relay] { relay.notify(); });
  messaging::ConsumerRunner consumer(cfg.kafka, cfg.consumer,
                                     order::make_saga_handler(service, logger), metrics, logger,
                                     clock, *parked_keys, batch.get());
  runtime::PeriodicTask saga_timeout(settings.saga_check_interval, [&] {
    auto cancelled = service.cancel_stalled(settings.saga_timeout, 100);
    if (!cancelled) {
      logger->warn("\"saga timeout check failed\" error={}", cancelled.error().message);
    } else if (cancelled.value() > 0) {
      logger->warn("\"orders cancelled by saga timeout\" count={} timeout_ms={}", cancelled.value(),
                   settings.saga_timeout.count());
    }
  });

  runtime::Intake intake;
  http::Router router;
  order::add_order_routes(router, service, [&intake] { return intake.open(); });
  http::add_openapi_route(router, http::embedded_openapi_json());
  http::add_standard_routes(
      router,
      [&] {
        return runtime::service_readiness(
            {db.get(), &consumer, &intake, &broker, cfg.broker_grace});
      },
      metrics);
  runtime::add_admin_routes(router, intake,
                            [&] { return runtime::service_drain_status(*db, true, &consumer); });
  http::Server server(cfg.http, router, metrics, logger);

  broker.start();
  relay.start();
  consumer.start();
  saga_timeout.start();
  server.start();
  runtime::write_port_file(cfg.port_file, cfg.http.host, server.port());
  logger->info("\"order-service started\" port={} bootstrap={} db={}", server.port(),
               cfg.kafka.bootstrap_servers, cfg.storage.sqlite_path);

  int sig = runtime::wait_for_shutdown_signal();
  logger->info("\"stopping\" signal={}", sig);
  deadline.arm(cfg.drain_timeout);
  intake.close();
  server.stop();
  saga_timeout.stop();
  runtime::stop_messaging(deadline, consumer, &relay, *producer, broker, *logger);
  topics.stop();
  logger->info("\"order-service stopped\"");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return runtime::service_main(argc, argv, "order-service", run); }
