#pragma once

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "orderflow/messaging/producer.h"

namespace orderflow::testing {

/// A Producer test double. Acknowledges on its own delivery thread, like librdkafka. Deliveries can
/// be made to fail once per value, or held back to simulate a broker that does not answer in time.
class FakeProducer final : public messaging::Producer {
 public:
  using DeliveryCallback = messaging::DeliveryCallback;
  using DeliveryReport = messaging::DeliveryReport;
  using OutgoingRecord = messaging::OutgoingRecord;

  FakeProducer() : worker_([this] { run(); }) {}
  ~FakeProducer() override {
    {
      std::lock_guard lock(mu_);
      done_ = true;
      hold_ = false;
    }
    cv_.notify_all();
    worker_.join();
  }

  void fail_next_send_of(const std::string& value) {
    std::lock_guard lock(mu_);
    fail_once_.insert(value);
  }
  void hold_reports() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void release_reports() {
    {
      std::lock_guard lock(mu_);
      hold_ = false;
    }
    cv_.notify_all();
  }

  /// What cluster_id() answers: an id, or an error while the "broker" is unreachable.
  void set_cluster_id(Result<std::string> id) {
    std::lock_guard lock(mu_);
    cluster_id_ = std::move(id);
  }
  Result<std::string> cluster_id(std::chrono::milliseconds /*timeout*/) override {
    std::lock_guard lock(mu_);
    return cluster_id_;
  }

  /// What ping() answers.
  void set_ping(Result<void> answer) {
    std::lock_guard lock(mu_);
    ping_ = std::move(answer);
  }
  Result<void> ping(std::chrono::milliseconds /*timeout*/) override {
    std::lock_guard lock(mu_);
    return ping_;
  }

  void send(OutgoingRecord record, DeliveryCallback on_delivery) override {
    std::lock_guard lock(mu_);
    attempts_.push_back(record);
    Result<DeliveryReport> report = DeliveryReport{0, next_offset_};
    if (fail_once_.erase(record.value) > 0) {
      report = unavailable("MSG_TIMED_OUT", "fake broker: message timed out");
    } else {
      ++next_offset_;
      acked_.push_back(std::move(record));
    }
    queue_.push_back({std::move(on_delivery), std::move(report)});
    ++in_flight_;
    cv_.notify_all();
  }

  Result<DeliveryReport> send_sync(OutgoingRecord record,
                                   std::chrono::milliseconds timeout) override {
    auto promise = std::make_shared<std::promise<Result<DeliveryReport>>>();
    auto future = promise->get_future();
    send(std::move(record), [promise](const Result<DeliveryReport>& r) { promise->set_value(r); });
    if (future.wait_for(timeout) != std::future_status::ready) {
      return unavailable("TIMEOUT", "fake producer: no report");
    }
    return future.get();
  }

  Result<void> flush(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    if (!idle_cv_.wait_for(lock, timeout, [&] { return in_flight_ == 0; })) {
      return unavailable("TIMEOUT", "fake producer: flush timed out");
    }
    return {};
  }

  [[nodiscard]] std::int64_t in_flight() const override {
    std::lock_guard lock(mu_);
    return in_flight_;
  }

  /// Every send, in order, including those that failed.
  std::vector<OutgoingRecord> attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }
  /// Records the broker acknowledged, in order.
  std::vector<OutgoingRecord> acked() const {
    std::lock_guard lock(mu_);
    return acked_;
  }
  std::vector<std::string> acked_values() const {
    std::vector<std::string> values;
    for (const auto& r : acked()) values.push_back(r.value);
    return values;
  }

 private:
  struct Pending {
    DeliveryCallback callback;
    Result<DeliveryReport> report;
  };

  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return done_ || (!hold_ && !queue_.empty()); });
      if (queue_.empty()) return;  // done_
      auto next = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      next.callback(next.report);
      lock.lock();
      if (--in_flight_ == 0) idle_cv_.notify_all();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Pending> queue_;
  std::vector<OutgoingRecord> attempts_;
  std::vector<OutgoingRecord> acked_;
  std::set<std::string> fail_once_;
  Result<std::string> cluster_id_ = std::string("fake-cluster");
  Result<void> ping_;
  std::int64_t next_offset_ = 0;
  std::int64_t in_flight_ = 0;
  bool hold_ = false;
  bool done_ = false;
  std::thread worker_;  // last: starts after every field above is initialised
};

}  // namespace orderflow::testing
