#include "orderflow/runtime/broker_monitor.h"

namespace orderflow::runtime {

BrokerMonitor::BrokerMonitor(messaging::Producer& producer, std::chrono::milliseconds interval,
                             std::chrono::milliseconds timeout)
    : producer_(producer), timeout_(timeout), task_(interval, [this] { check(); }) {}

BrokerMonitor::~BrokerMonitor() { stop(); }

void BrokerMonitor::start() {
  {
    std::lock_guard lock(mutex_);
    last_ok_ = SteadyClock::now();
  }
  task_.start();
}

void BrokerMonitor::stop() { task_.stop(); }

void BrokerMonitor::check() {
  auto answer = producer_.ping(timeout_);
  std::lock_guard lock(mutex_);
  reachable_ = answer.ok();
  if (reachable_) {
    last_ok_ = SteadyClock::now();
    last_error_.clear();
  } else {
    last_error_ = answer.error().message;
  }
}

std::chrono::milliseconds BrokerMonitor::unreachable_for(SteadyClock::time_point now) const {
  std::lock_guard lock(mutex_);
  if (reachable_) return std::chrono::milliseconds{0};
  return std::max(std::chrono::milliseconds{0},
                  std::chrono::duration_cast<std::chrono::milliseconds>(now - last_ok_));
}

std::string BrokerMonitor::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

}  // namespace orderflow::runtime
