#pragma once

#include <functional>
#include <memory>
#include <string>

#include "orderflow/config/config.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/outbox.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/runtime/broker_monitor.h"
#include "orderflow/runtime/shutdown_deadline.h"
#include "orderflow/storage/database.h"

namespace orderflow::runtime {

/// The shared main() of a service: blocks the shutdown signals before any thread starts, parses
/// the command line (config::load_from_command_line) and runs `run` with the merged source.
/// Returns run's exit code, the parser's (help, bad flags), or 2 after printing
/// "<service>: <what>" for an exception (a startup failure).
int service_main(int argc, char** argv, const std::string& service,
                 const std::function<int(const config::Source&)>& run);

/// Prepares a consuming service's database for idempotent, ordering-safe consumption: applies
/// the inbox and parked-key migrations, points `config.consumer` at the DLT suffix and returns
/// the parked-key store to give the ConsumerRunner (it must outlive the runner). Throws on a
/// migration failure.
std::unique_ptr<messaging::ParkedKeyStore> prepare_consumer(storage::Database& db,
                                                            config::ServiceConfig& config);

/// Start-up of a producing service: loads the metadata of the saga's topics (orders,
/// inventory, payments; up to 5 s each) so the first order after start-up is not delayed by
/// it. A broker that does not answer is logged, not fatal (the first send() then waits).
void warm_up_producer(messaging::Producer& producer, const config::ServiceConfig& config,
                      spdlog::logger& logger);

/// Shutdown of a producing service: publishes the unsent outbox rows (up to two thirds of
/// `budget`, ms; what is left is published on the next start), stops the relay and flushes
/// the producer (the rest of `budget`), logging what could not be finished.
void flush_outbox(messaging::OutboxRelay& relay, messaging::Producer& producer,
                  spdlog::logger& logger, std::chrono::milliseconds budget);

/// The messaging half of a service's stop sequence, each step named to `deadline` and given
/// what is left of its budget: stops the consumer (final commit, leaving the group), then
/// flushes the outbox through `relay` (flush_outbox) or, without one, the producer's queue
/// (ops-service's replays), then stops the broker monitor. Logs what could not be finished.
void stop_messaging(ShutdownDeadline& deadline, messaging::ConsumerRunner& consumer,
                    messaging::OutboxRelay* relay, messaging::Producer& producer,
                    BrokerMonitor& broker, spdlog::logger& logger);

}  // namespace orderflow::runtime
