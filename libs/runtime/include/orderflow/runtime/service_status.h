#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "orderflow/http/server.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/runtime/broker_monitor.h"
#include "orderflow/runtime/service_host.h"
#include "orderflow/storage/database.h"

namespace orderflow::runtime {

/// What /health/ready looks at, read at one moment.
struct ReadinessFacts {
  std::string database_error;  ///< empty when the database answered
  bool draining = false;       ///< intake closed (POST /admin/drain or shutdown)
  std::optional<messaging::ConsumerStatus> consumer;
  std::optional<std::chrono::milliseconds> broker_unreachable_for;  ///< when a monitor runs
  std::string broker_error;
  /// health.broker_unreachable_ms: a broker silent for longer makes the service unready.
  std::chrono::milliseconds broker_grace{5000};
};

/// The readiness verdict of `facts`. Pure. Not ready, with `reason` naming the first failing
/// check, when: the database does not answer; the service is draining; the broker has been
/// unreachable for longer than `broker_grace`; the consumer does not run, has not joined its
/// group, has seen an offset reset (records lost), or has held no partition for longer than
/// its session timeout after having had some. `details` carries every check.
http::Readiness evaluate_readiness(const ReadinessFacts& facts);

/// The parts a service's /health/ready reads (pointers may be null: that check is skipped).
struct ReadinessSources {
  storage::Database* db = nullptr;
  const messaging::ConsumerRunner* consumer = nullptr;
  const Intake* intake = nullptr;
  const BrokerMonitor* broker = nullptr;
  std::chrono::milliseconds broker_grace{5000};
};

/// /health/ready of a service: gathers ReadinessFacts from `sources` and evaluates them.
/// Thread-safe as the parts are.
http::Readiness service_readiness(const ReadinessSources& sources);

/// GET /admin/status of a service: unsent outbox rows (when `has_outbox`; -1 when the count
/// failed) and the consumer's lag and in-flight records (when `consumer` is given), plus those
/// of `second` (a second consumer group of the service, e.g. notification's sink), so a drain
/// waits for both.
DrainStatus service_drain_status(storage::Database& db, bool has_outbox,
                                 const messaging::ConsumerRunner* consumer,
                                 const messaging::ConsumerRunner* second = nullptr);

}  // namespace orderflow::runtime
