#include "expiry_scheduler.h"

namespace orderflow::inventory {

ExpiryScheduler::ExpiryScheduler(InventoryService& service, std::chrono::milliseconds interval,
                                 observability::Metrics& metrics,
                                 std::shared_ptr<spdlog::logger> logger)
    : service_(service), interval_(interval), metrics_(metrics), logger_(std::move(logger)) {}

ExpiryScheduler::~ExpiryScheduler() { stop(); }

void ExpiryScheduler::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void ExpiryScheduler::stop() {
  {
    // Under the mutex so the wake-up cannot fall between run()'s check and its wait.
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ExpiryScheduler::run_once() {
  auto expired = service_.expire_due();
  if (!expired) {
    logger_->error("\"reservation expiry failed\" kind={} code={} reason=\"{}\"",
                   to_string(expired.error().kind), expired.error().code, expired.error().message);
    return false;
  }
  if (expired.value() > 0) {
    metrics_.add_counter("orderflow_reservations_expired_total",
                         "Stock reservations that expired unpaid and returned to available", {},
                         expired.value());
    logger_->info("\"reservations expired\" count={}", expired.value());
  }
  return expired.value() >= service_.settings().expiry_batch_size;
}

void ExpiryScheduler::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_.load(); })) {
    lock.unlock();
    // A full batch means more are due: catch up now instead of one batch per interval.
    while (run_once() && !stopping_) {
    }
    lock.lock();
  }
}

}  // namespace orderflow::inventory
