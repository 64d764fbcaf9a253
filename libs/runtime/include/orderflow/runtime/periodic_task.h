#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace orderflow::runtime {

/// Runs `task` on its own thread every `interval` (ms) until stop(); stop() wakes it at once.
/// With FirstRun::kAtStart the first run starts right away on that thread (start() never waits
/// for it), else one interval after start(). stop() waits for a run in progress to end.
/// Exceptions from the task are the task's business (it must not throw). Thread-safe.
class PeriodicTask {
 public:
  enum class FirstRun { kAfterInterval, kAtStart };

  PeriodicTask(std::chrono::milliseconds interval, std::function<void()> task,
               FirstRun first = FirstRun::kAfterInterval)
      : interval_(interval), task_(std::move(task)), first_(first) {}
  ~PeriodicTask() { stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void start() {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { loop(); });
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    bool wait = first_ == FirstRun::kAfterInterval;
    while (!stopping_) {
      if (wait && wake_.wait_for(lock, interval_, [this] { return stopping_; })) break;
      wait = true;
      lock.unlock();
      task_();
      lock.lock();
    }
  }

  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  FirstRun first_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace orderflow::runtime
