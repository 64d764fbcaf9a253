// inventory-service: composition root. Construct, start() in order, stop() in reverse.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "adapters/http/inventory_routes.h"
#include "adapters/kafka/inventory_event_handler.h"
#include "adapters/scheduler/expiry_scheduler.h"
#include "adapters/storage/sql_inventory_repository.h"
#include "app/inventory_service.h"
#include "orderflow/config/catalog.h"
#include "orderflow/config/config.h"
#include "orderflow/http/server.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/outbox.h"
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

struct InventoryConfig {
  config::ServiceConfig common;
  std::string catalog_file;
  inventory::InventorySettings settings;
  std::chrono::milliseconds expiry_interval{1000};
};

InventoryConfig read_settings(const config::Source& source) {
  config::Reader reader(source);
  InventoryConfig s;
  // Batches of reservations lock product rows shared by every order of a sku, in whatever order
  // their records come: on PostgreSQL, concurrent batches (workers, instances) would deadlock.
  s.common =
      config::read_service_config(reader, "inventory-service", 8082, {.postgres_batch_size = 1});
  s.common.consumer.group_id = reader.string("consumer.group_id", "inventory-service");
  // One runner for both topics: within one instance every event of an order (key = orderId)
  // goes to the same worker. Across instances the order's row lock serialises them
  // (InventoryTx::lock_order).
  s.common.consumer.topics =
      reader.string_list("consumer.topics", {s.common.topics.orders, s.common.topics.payments});
  s.catalog_file = config::resolve_path(
      source, reader.string("inventory.catalog_file", config::default_catalog_file()));
  s.settings.consumer_group = s.common.consumer.group_id;
  s.settings.reservation_ttl =
      reader.millis("inventory.reservation_ttl_ms", std::chrono::milliseconds{900000},
                    std::chrono::milliseconds{1});
  s.settings.fail_sku_prefix = reader.string("inventory.faults.fail_sku_prefix", "");
  s.settings.expiry_batch_size =
      static_cast<int>(reader.integer("inventory.expiry_batch_size", 100, 1, 100000));
  s.expiry_interval = reader.millis("inventory.expiry_interval_ms", std::chrono::milliseconds{1000},
                                    std::chrono::milliseconds{1});
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

  auto catalog = config::load_catalog(settings.catalog_file);
  std::vector<inventory::Product> products;
  for (const auto& p : catalog.products) {
    products.push_back({p.sku, p.name, p.unit_price, p.stock, 0, 0});
  }

  observability::Metrics metrics(cfg.name);
  SystemClock clock;
  auto db = storage::open_database(cfg.storage);
  auto parked_keys = runtime::prepare_consumer(*db, cfg);
  storage::migrate(*db, "outbox", messaging::Outbox::migrations());
  storage::migrate(*db, "inventory", inventory::inventory_migrations());

  auto producer = messaging::make_kafka_producer(cfg.kafka, logger);
  runtime::warm_up_producer(*producer, cfg, *logger);
  runtime::BrokerMonitor broker(*producer);
  auto outbox_store = messaging::make_outbox_store(*db, cfg.outbox.retention, &clock);
  messaging::OutboxRelay relay(*outbox_store, *producer, cfg.outbox, metrics, logger, &clock);
  inventory::SqlInventoryRepository repository(*db, cfg.topics.inventory, cfg.name,
                                               [&relay] { relay.notify(); });
  inventory::InventoryService service(repository, clock, settings.settings, &metrics);
  auto seeded = service.seed_catalog(products);
  if (!seeded) throw std::runtime_error("seeding the catalog failed: " + seeded.error().message);
  logger->info("\"catalog seeded\" file={} inserted={} of={}", settings.catalog_file,
               seeded.value(), products.size());

  // A worker's ready records commit in one transaction; the relay is woken once they did.
  auto batch = messaging::make_database_batch(*db, [&relay] { relay.notify(); });
  messaging::ConsumerRunner consumer(cfg.kafka, cfg.consumer,
                                     inventory::make_event_handler(service), metrics, logger, clock,
                                     *parked_keys, batch.get());
  inventory::ExpiryScheduler expiry(service, settings.expiry_interval, metrics, logger);

  runtime::Intake intake;
  http::Router router;
  inventory::add_inventory_routes(router, service, [&intake] { return intake.open(); });
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
  expiry.start();
  server.start();
  runtime::write_port_file(cfg.port_file, cfg.http.host, server.port());
  logger->info("\"inventory-service started\" port={} group={} bootstrap={} db={}", server.port(),
               cfg.consumer.group_id, cfg.kafka.bootstrap_servers, cfg.storage.sqlite_path);

  int sig = runtime::wait_for_shutdown_signal();
  logger->info("\"stopping\" signal={}", sig);
  deadline.arm(cfg.drain_timeout);
  intake.close();
  server.stop();
  expiry.stop();
  runtime::stop_messaging(deadline, consumer, &relay, *producer, broker, *logger);
  topics.stop();
  logger->info("\"inventory-service stopped\"");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return runtime::service_main(argc, argv, "inventory-service", run);
}
