#include "orderflow/runtime/shutdown_deadline.h"

#include <unistd.h>

namespace orderflow::runtime {

ShutdownDeadline::ShutdownDeadline(std::shared_ptr<spdlog::logger> logger)
    : logger_(std::move(logger)) {}

ShutdownDeadline::~ShutdownDeadline() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void ShutdownDeadline::arm(std::chrono::milliseconds budget) {
  std::lock_guard lock(mutex_);
  if (deadline_) return;
  budget_ = budget;
  deadline_ = std::chrono::steady_clock::now() + budget;
  watchdog_ = std::thread([this] { watch(); });
}

void ShutdownDeadline::step(std::string what) {
  std::lock_guard lock(mutex_);
  step_ = std::move(what);
}

std::chrono::milliseconds ShutdownDeadline::remaining() const {
  std::lock_guard lock(mutex_);
  if (!deadline_) return budget_;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      *deadline_ - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds{0});
}

void ShutdownDeadline::watch() {
  std::unique_lock lock(mutex_);
  if (cv_.wait_until(lock, *deadline_, [this] { return done_; })) return;
  logger_->error(
      "\"shutdown deadline passed; exiting now: unsent outbox rows are published on the next "
      "start, uncommitted records are consumed again\" budget_ms={} step=\"{}\"",
      budget_.count(), step_);
  logger_->flush();
  ::_exit(kExitCode);
}

}  // namespace orderflow::runtime
