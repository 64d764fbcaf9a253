#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "orderflow/http/router.h"

namespace orderflow::runtime {

/// Blocks SIGINT and SIGTERM in the calling thread and every thread started after it. Call
/// first in main(), before any thread exists, so wait_for_shutdown_signal() receives them.
void block_shutdown_signals();

/// Waits for SIGINT or SIGTERM (after block_shutdown_signals()); returns the signal number.
int wait_for_shutdown_signal();

/// Writes "host:port" to `path` atomically (temp file + rename), for `orderflow up` to read.
/// No-op for an empty path. Throws std::runtime_error when it cannot write.
void write_port_file(const std::string& path, const std::string& host, std::uint16_t port);

/// What a service reports while draining (GET /admin/status).
struct DrainStatus {
  std::int64_t outbox_pending = 0;
  std::int64_t consumer_lag = 0;
  std::int64_t in_flight = 0;
};

/// Intake switch for a graceful drain. Thread-safe.
class Intake {
 public:
  [[nodiscard]] bool open() const { return open_.load(); }
  void close() { open_.store(false); }

 private:
  std::atomic<bool> open_{true};
};

/// POST /admin/drain closes `intake` (writes answer 503 DRAINING from then on) and returns the
/// status; GET /admin/status returns {"intake":"open"|"closed","outboxPending","consumerLag",
/// "inFlight"} from `status`. Used by `orderflow up` to stop intake, wait until outboxes are
/// flushed and consumers caught up, then stop the processes. Both are http::Access::kAdmin.
void add_admin_routes(http::Router& router, Intake& intake, std::function<DrainStatus()> status);

}  // namespace orderflow::runtime
