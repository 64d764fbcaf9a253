#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <vector>

#include <spdlog/logger.h>

#include "consumer/consumer_lag.h"
#include "consumer/kafka_consumer_client.h"
#include "consumer/lane_worker.h"
#include "consumer/partition_offsets.h"
#include "orderflow/messaging/consumer_runner.h"

namespace orderflow::messaging::consumer {

/// The poll thread's work: polls records and hands them to the workers, with backpressure
/// (when a worker's queue is full the assignment is paused and the records wait in a backlog,
/// so consume() keeps serving the group within max.poll.interval.ms); commits the committable
/// offsets every commit_interval; refreshes the lag every second; and handles rebalances
/// (a revoke drops the revoked partitions' backlog, waits until their in-flight records are
/// settled, then commits them before they are given up).
class PollLoop final : public RebalanceListener {
 public:
  PollLoop(KafkaConsumerClient& client, PartitionOffsets& offsets, WorkerPool& workers,
           ConsumerLag& lag, const ConsumerOptions& options,
           std::shared_ptr<spdlog::logger> logger);

  /// Runs until `stopping`; then gives up the backlog (uncommitted), stops the workers,
  /// commits and leaves the group. The poll thread.
  void run(const std::atomic<bool>& stopping);

  void on_assigned(const std::vector<PartitionKey>& partitions) override;
  void on_revoked(const std::vector<PartitionKey>& partitions) override;

  /// Thread-safe status parts.
  [[nodiscard]] bool joined() const { return joined_.load(); }
  [[nodiscard]] int assigned() const { return assigned_.load(); }
  /// Steady-clock ms when the member lost its last partition; 0 while it holds some.
  [[nodiscard]] std::int64_t unassigned_since_ms() const { return unassigned_since_ms_.load(); }

 private:
  void handle(ConsumedRecord record);
  void drain_backlog();
  void set_paused(bool paused);
  void commit(const std::set<PartitionKey>* only, const char* reason);

  KafkaConsumerClient& client_;
  PartitionOffsets& offsets_;
  WorkerPool& workers_;
  ConsumerLag& lag_;
  const ConsumerOptions& options_;
  std::shared_ptr<spdlog::logger> logger_;

  // Poll thread only.
  std::deque<ConsumedRecord> backlog_;
  bool paused_ = false;

  std::atomic<bool> joined_{false};
  std::atomic<int> assigned_{0};
  std::atomic<std::int64_t> unassigned_since_ms_{0};
};

/// Milliseconds of the steady clock (for ConsumerStatus::unassigned_ms).
std::int64_t steady_ms();

}  // namespace orderflow::messaging::consumer
