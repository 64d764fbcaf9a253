#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/logger.h>

#include "../../app/inventory_service.h"
#include "orderflow/observability/metrics.h"

namespace orderflow::inventory {

/// Runs InventoryService::expire_due() every `interval` on its own thread (seed 004's
/// SeatScheduler; idempotent by its conditional update, so overlapping with a payment or a
/// cancel is safe). Counts expired reservations in orderflow_reservations_expired_total and
/// logs errors (the next round tries again). start()/stop() from one thread; stop() is
/// idempotent and waits for a round in progress.
class ExpiryScheduler {
 public:
  ExpiryScheduler(InventoryService& service, std::chrono::milliseconds interval,
                  observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger);
  ~ExpiryScheduler();
  ExpiryScheduler(const ExpiryScheduler&) = delete;
  ExpiryScheduler& operator=(const ExpiryScheduler&) = delete;

  void start();
  void stop();

 private:
  void run();
  /// One expire_due() round; true when the batch was full (more may be due).
  bool run_once();

  InventoryService& service_;
  std::chrono::milliseconds interval_;
  observability::Metrics& metrics_;
  std::shared_ptr<spdlog::logger> logger_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace orderflow::inventory
