#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <spdlog/logger.h>

namespace orderflow::runtime {

/// Bounds a service's shutdown (issue 9 "Bounded shutdown"). Constructed first in run() (so
/// it is destroyed last) and armed when SIGTERM arrives: the stop sequence, destructors of
/// Kafka clients included, then has `budget` (timeouts.drain_ms). If it is not finished by
/// then (typically the broker is gone and a commit, a consumer close or a flush waits for
/// it), the watchdog logs the step it was in and ends the process with exit code kExitCode,
/// without running further destructors. Safe by construction: every effect is committed in the
/// database before its offset or outbox mark, so an abrupt end only means unsent outbox rows
/// (published on the next start) and uncommitted records (consumed again, absorbed by the
/// inbox). Thread-safe.
class ShutdownDeadline {
 public:
  static constexpr int kExitCode = 75;  ///< EX_TEMPFAIL: stopped, with work left for next start

  explicit ShutdownDeadline(std::shared_ptr<spdlog::logger> logger);
  ~ShutdownDeadline();
  ShutdownDeadline(const ShutdownDeadline&) = delete;
  ShutdownDeadline& operator=(const ShutdownDeadline&) = delete;

  /// Starts the countdown of `budget` (ms). Idempotent: a second call keeps the first deadline.
  void arm(std::chrono::milliseconds budget);
  /// Names the step under way, for the log line should the deadline pass.
  void step(std::string what);
  /// Time left (0 when spent; the whole budget's worth when not armed), for steps that take a
  /// timeout.
  [[nodiscard]] std::chrono::milliseconds remaining() const;

 private:
  void watch();

  std::shared_ptr<spdlog::logger> logger_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::chrono::milliseconds budget_{0};
  std::string step_ = "stopping";
  bool done_ = false;
  std::thread watchdog_;
};

}  // namespace orderflow::runtime
