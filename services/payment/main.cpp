// payment-service: composition root. Construct, start() in order, stop() in reverse.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "adapters/gateway/simulated_gateway.h"
#include "adapters/http/payment_routes.h"
#include "adapters/kafka/payment_event_handler.h"
#include "adapters/observability/metrics_payment_alerts.h"
#include "adapters/storage/sql_payment_repository.h"
#include "app/payment_service.h"
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

constexpr std::chrono::milliseconds kMaxGatewayLatency{60000};

struct PaymentSettings {
  config::ServiceConfig common;
  payment::SimulatedGatewayOptions gateway;
};

PaymentSettings read_settings(const config::Source& source) {
  config::Reader reader(source);
  PaymentSettings s;
  s.common = config::read_service_config(reader, "payment-service", 8084);
  s.common.consumer.group_id = reader.string("consumer.group_id", "payment-service");
  // One runner for both topics: within one instance an order's STOCK_RESERVED and
  // ORDER_CANCELLED share the key, hence the worker. Across instances (or if they did not)
  // PaymentService decides again when the order changed before its commit (ORDER_CHANGED).
  s.common.consumer.topics =
      reader.string_list("consumer.topics", {s.common.topics.inventory, s.common.topics.orders});
  s.gateway.latency = reader.millis("payment.gateway.latency_ms", std::chrono::milliseconds{0});
  if (s.gateway.latency > kMaxGatewayLatency) {
    throw config::ConfigError("config: payment.gateway.latency_ms: at most " +
                              std::to_string(kMaxGatewayLatency.count()));
  }
  auto decline_above = reader.string("payment.gateway.decline_above", "");
  auto rule = payment::DeclineRule::parse(decline_above);
  if (!rule) {
    throw config::ConfigError("config: payment.gateway.decline_above: " + rule.error().message);
  }
  s.gateway.decline = rule.value();
  // The provider's own file, never the service's database: it stands for a system outside ours.
  std::filesystem::path gateway_path(reader.string("payment.gateway.path", "payment-gateway.db"));
  if (gateway_path.is_relative()) {
    gateway_path = std::filesystem::path(s.common.data_dir) / gateway_path;
  }
  if (gateway_path.lexically_normal() ==
      std::filesystem::path(s.common.storage.sqlite_path).lexically_normal()) {
    throw config::ConfigError("config: payment.gateway.path: must not be the service's database " +
                              s.common.storage.sqlite_path);
  }
  s.gateway.path = gateway_path.string();
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
  auto db = storage::open_database(cfg.storage);
  auto parked_keys = runtime::prepare_consumer(*db, cfg);
  storage::migrate(*db, "outbox", messaging::Outbox::migrations());
  storage::migrate(*db, "payment", payment::payment_migrations());

  auto producer = messaging::make_kafka_producer(cfg.kafka, logger);
  runtime::warm_up_producer(*producer, cfg, *logger);
  runtime::BrokerMonitor broker(*producer);
  auto outbox_store = messaging::make_outbox_store(*db, cfg.outbox.retention, &clock);
  messaging::OutboxRelay relay(*outbox_store, *producer, cfg.outbox, metrics, logger, &clock);
  payment::SqlPaymentRepository repository(*db, cfg.topics.payments, cfg.name,
                                           [&relay] { relay.notify(); });
  payment::SimulatedGateway gateway(settings.gateway);
  payment::MetricsPaymentAlerts alerts(metrics, logger);
  payment::PaymentService service(repository, gateway, alerts, clock, cfg.consumer.group_id,
                                  &metrics);
  // A worker's ready records commit in one transaction; the relay is woken once they did.
  auto batch = messaging::make_database_batch(*db, [&relay] { relay.notify(); });
  messaging::ConsumerRunner consumer(cfg.kafka, cfg.consumer,
                                     payment::make_event_handler(service, logger), metrics, logger,
                                     clock, *parked_keys, batch.get());

  runtime::Intake intake;
  http::Router router;
  payment::add_payment_routes(router, service);
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
  server.start();
  runtime::write_port_file(cfg.port_file, cfg.http.host, server.port());
  logger->info(
      "\"payment-service started\" port={} group={} bootstrap={} gatewayLatencyMs={} "
      "declineAbove={} gatewayPath={}",
      server.port(), cfg.consumer.group_id, cfg.kafka.bootstrap_servers,
      settings.gateway.latency.count(),
      settings.gateway.decline.limit() ? settings.gateway.decline.limit()->to_string() : "none",
      settings.gateway.path);

  int sig = runtime::wait_for_shutdown_signal();
  logger->info("\"stopping\" signal={}", sig);
  deadline.arm(cfg.drain_timeout);
  intake.close();
  server.stop();
  // Before the consumer: a call waiting out the gateway latency fails at once (nothing charged,
  // the record stays uncommitted and comes again), so stopping the workers does not wait for it.
  gateway.shutdown();
  runtime::stop_messaging(deadline, consumer, &relay, *producer, broker, *logger);
  topics.stop();
  logger->info("\"payment-service stopped\"");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return runtime::service_main(argc, argv, "payment-service", run);
}
