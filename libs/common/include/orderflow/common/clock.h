#pragma once

#include <atomic>
#include <chrono>
#include <string>

namespace orderflow {

/// Wall clock port: inject it wherever time decides behaviour, so tests control it.
/// Implementations are thread-safe.
class Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
};

/// The real system clock.
class SystemClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return std::chrono::system_clock::now(); }
};

/// A clock tests move by hand. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{std::chrono::seconds{1'700'000'000}})
      : now_ns_(start.time_since_epoch().count()) {}
  [[nodiscard]] TimePoint now() const override {
    return TimePoint{TimePoint::duration{now_ns_.load()}};
  }
  void advance(std::chrono::nanoseconds by) { now_ns_ += TimePoint::duration{by}.count(); }

 private:
  std::atomic<TimePoint::rep> now_ns_;
};

/// ISO-8601 UTC with milliseconds: "2026-11-21T10:15:30.123Z".
std::string format_iso8601(Clock::TimePoint tp);

/// Milliseconds since the Unix epoch.
std::int64_t to_epoch_ms(Clock::TimePoint tp);

}  // namespace orderflow
