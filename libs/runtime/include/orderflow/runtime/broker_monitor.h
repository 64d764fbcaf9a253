#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "orderflow/messaging/producer.h"
#include "orderflow/runtime/periodic_task.h"

namespace orderflow::runtime {

/// Whether the Kafka cluster answers, for /health/ready (issue 9 "Readiness that tells the
/// truth"): every `interval` one live metadata round trip (Producer::ping) of up to `timeout`.
/// A broker that is down, unreachable or stopped (SIGSTOP: connections stay open, nothing
/// answers) fails the ping; an idle one does not. Thread-safe.
class BrokerMonitor {
 public:
  using SteadyClock = std::chrono::steady_clock;

  /// `producer` must outlive the monitor. Intervals and timeouts in ms.
  explicit BrokerMonitor(messaging::Producer& producer,
                         std::chrono::milliseconds interval = std::chrono::milliseconds{1000},
                         std::chrono::milliseconds timeout = std::chrono::milliseconds{1000});
  ~BrokerMonitor();
  BrokerMonitor(const BrokerMonitor&) = delete;
  BrokerMonitor& operator=(const BrokerMonitor&) = delete;

  /// Starts pinging (the first ping after `interval`); stop() waits for a ping under way.
  void start();
  void stop();
  /// Pings once now and records the answer (the periodic task calls this).
  void check();
  /// 0 when the last ping succeeded; else the time since the last success (or since start()
  /// when none succeeded yet).
  [[nodiscard]] std::chrono::milliseconds unreachable_for(
      SteadyClock::time_point now = SteadyClock::now()) const;
  /// The last ping's error message; empty after a success.
  [[nodiscard]] std::string last_error() const;

 private:
  messaging::Producer& producer_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  bool reachable_ = false;
  SteadyClock::time_point last_ok_ = SteadyClock::now();
  std::string last_error_ = "not checked yet";
  PeriodicTask task_;
};

}  // namespace orderflow::runtime
