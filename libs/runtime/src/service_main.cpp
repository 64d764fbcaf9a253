#include "orderflow/runtime/service_main.h"

#include <iostream>

#include "orderflow/messaging/inbox.h"
#include "orderflow/runtime/service_host.h"

namespace orderflow::runtime {

int service_main(int argc, char** argv, const std::string& service,
                 const std::function<int(const config::Source&)>& run) {
  block_shutdown_signals();
  try {
    int exit_code = 0;
    auto source = config::load_from_command_line(argc, argv, service, exit_code);
    if (!source) return exit_code;
    return run(*source);
  } catch (const std::exception& e) {
    std::cerr << service << ": " << e.what() << "\n";
    return 2;
  }
}

std::unique_ptr<messaging::ParkedKeyStore> prepare_consumer(storage::Database& db,
                                                            config::ServiceConfig& config) {
  storage::migrate(db, "inbox", messaging::Inbox::migrations());
  storage::migrate(db, "parked_keys", messaging::parked_key_migrations());
  auto parked_keys = messaging::make_parked_key_store(db);
  config.consumer.dlt_suffix = config.topics.dlt_suffix;
  return parked_keys;
}

void warm_up_producer(messaging::Producer& producer, const config::ServiceConfig& config,
                      spdlog::logger& logger) {
  auto warm =
      producer.warm_up({config.topics.orders, config.topics.inventory, config.topics.payments},
                       std::chrono::milliseconds{5000});
  if (!warm) {
    logger.warn("\"producer warm-up failed; the first records will wait for metadata\" error={}",
                warm.error().message);
  }
}

void flush_outbox(messaging::OutboxRelay& relay, messaging::Producer& producer,
                  spdlog::logger& logger, std::chrono::milliseconds budget) {
  const auto started = std::chrono::steady_clock::now();
  auto left = relay.drain(budget * 2 / 3);
  if (!left.ok() || left.value() > 0) {
    logger.warn("\"outbox not fully flushed; rows will be published on next start\" left={}",
                left.ok() ? std::to_string(left.value()) : left.error().message);
  }
  relay.stop();
  auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  auto rest = std::max(budget - spent, std::chrono::milliseconds{1});
  if (auto flushed = producer.flush(rest); !flushed) {
    logger.warn("\"producer flush incomplete\" error=\"{}\"", flushed.error().message);
  }
}

void stop_messaging(ShutdownDeadline& deadline, messaging::ConsumerRunner& consumer,
                    messaging::OutboxRelay* relay, messaging::Producer& producer,
                    BrokerMonitor& broker, spdlog::logger& logger) {
  deadline.step("stopping the consumer (final commit, leaving the group)");
  consumer.stop();
  deadline.step("flushing the outbox");
  if (relay != nullptr) {
    flush_outbox(*relay, producer, logger, deadline.remaining());
  } else if (auto flushed = producer.flush(deadline.remaining()); !flushed) {
    logger.warn("\"producer flush incomplete\" error={}", flushed.error().message);
  }
  broker.stop();
  deadline.step("closing the Kafka clients");
}

}  // namespace orderflow::runtime
