#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "orderflow/messaging/offset_tracker.h"
#include "orderflow/messaging/record.h"

namespace orderflow::messaging::consumer {

/// A partition of a subscribed topic.
struct PartitionKey {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const PartitionKey&) const = default;
};

/// An offset to commit for one partition (the next record to read).
struct PartitionOffset {
  PartitionKey partition;
  std::int64_t offset = 0;
};

/// The offsets of the assigned partitions: which records are dispatched, finished or
/// abandoned, what is committable and what was committed, and which partitions are being
/// revoked. At-least-once: a partition's committable offset only moves past a record when
/// every earlier record of it finished. Thread-safe (the poll thread and every worker).
class PartitionOffsets {
 public:
  /// Fresh state for newly assigned partitions.
  void assign(const std::vector<PartitionKey>& partitions);
  /// A record was handed on for handling (offset order per partition).
  void dispatched(const ConsumedRecord& record);
  /// The record is done: `finished` makes its offset committable; otherwise it is abandoned
  /// (it stays uncommitted and comes again).
  void settle(const ConsumedRecord& record, bool finished);
  /// Committable offsets that moved since the last commit, of the partitions in `only` (all when
  /// null).
  [[nodiscard]] std::vector<PartitionOffset> to_commit(const std::set<PartitionKey>* only) const;
  /// The broker accepted the commit of `offset`.
  void committed(const PartitionOffset& offset);
  /// The assigned partitions.
  [[nodiscard]] std::vector<PartitionKey> assigned() const;
  /// The group's committed offset at assignment (negative: none), once asked for.
  [[nodiscard]] std::optional<std::int64_t> start_offset(const PartitionKey& partition) const;
  void set_start_offset(const PartitionKey& partition, std::int64_t offset);

  /// Marks `revoked` as being revoked, then blocks until none of their records is outstanding;
  /// `on_wait` is called every `log_every` while it waits, with the outstanding count.
  void drain_revoked(const std::set<PartitionKey>& revoked, std::chrono::milliseconds log_every,
                     const std::function<void(std::int64_t)>& on_wait);
  /// Forgets the revoked partitions (after their final commit).
  void forget_revoked(const std::set<PartitionKey>& revoked);
  /// Cheap check, lock-free: is any partition being revoked?
  [[nodiscard]] bool revoking_any() const { return revoking_count_.load() > 0; }
  /// Is `partition` being revoked?
  [[nodiscard]] bool revoking(const PartitionKey& partition) const;
  /// Records dispatched and not yet settled, over every partition.
  [[nodiscard]] std::int64_t in_flight() const { return in_flight_.load(); }

 private:
  struct State {
    OffsetTracker tracker;
    std::int64_t outstanding = 0;  ///< dispatched and neither finished nor abandoned
    std::optional<std::int64_t> committed;
    std::optional<std::int64_t> start_offset;
  };

  mutable std::mutex mutex_;
  std::condition_variable settled_;
  std::map<PartitionKey, State> partitions_;
  std::set<PartitionKey> revoking_;
  std::atomic<int> revoking_count_{0};
  std::atomic<std::int64_t> in_flight_{0};
};

}  // namespace orderflow::messaging::consumer
