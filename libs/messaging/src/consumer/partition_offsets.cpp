#include "consumer/partition_offsets.h"

namespace orderflow::messaging::consumer {

void PartitionOffsets::assign(const std::vector<PartitionKey>& partitions) {
  std::lock_guard lock(mutex_);
  for (const auto& key : partitions) partitions_[key] = State{};
}

void PartitionOffsets::dispatched(const ConsumedRecord& record) {
  std::lock_guard lock(mutex_);
  auto& state = partitions_[PartitionKey{record.topic, record.partition}];
  state.tracker.dispatched(record.offset);
  ++state.outstanding;
  ++in_flight_;
}

void PartitionOffsets::settle(const ConsumedRecord& record, bool finished) {
  {
    std::lock_guard lock(mutex_);
    auto it = partitions_.find(PartitionKey{record.topic, record.partition});
    if (it != partitions_.end()) {
      if (finished) it->second.tracker.finished(record.offset);
      --it->second.outstanding;
    }
    --in_flight_;
  }
  settled_.notify_all();
}

std::vector<PartitionOffset> PartitionOffsets::to_commit(const std::set<PartitionKey>* only) const {
  std::vector<PartitionOffset> out;
  std::lock_guard lock(mutex_);
  for (const auto& [key, state] : partitions_) {
    if (only != nullptr && !only->contains(key)) continue;
    auto offset = state.tracker.committable();
    if (!offset || offset == state.committed) continue;
    out.push_back({key, *offset});
  }
  return out;
}

void PartitionOffsets::committed(const PartitionOffset& offset) {
  std::lock_guard lock(mutex_);
  auto it = partitions_.find(offset.partition);
  if (it != partitions_.end()) it->second.committed = offset.offset;
}

std::vector<PartitionKey> PartitionOffsets::assigned() const {
  std::vector<PartitionKey> out;
  std::lock_guard lock(mutex_);
  for (const auto& [key, state] : partitions_) out.push_back(key);
  return out;
}

std::optional<std::int64_t> PartitionOffsets::start_offset(const PartitionKey& partition) const {
  std::lock_guard lock(mutex_);
  auto it = partitions_.find(partition);
  return it == partitions_.end() ? std::nullopt : it->second.start_offset;
}

void PartitionOffsets::set_start_offset(const PartitionKey& partition, std::int64_t offset) {
  std::lock_guard lock(mutex_);
  auto it = partitions_.find(partition);
  if (it != partitions_.end()) it->second.start_offset = offset;
}

void PartitionOffsets::drain_revoked(const std::set<PartitionKey>& revoked,
                                     std::chrono::milliseconds log_every,
                                     const std::function<void(std::int64_t)>& on_wait) {
  std::unique_lock lock(mutex_);
  revoking_ = revoked;
  revoking_count_ = static_cast<int>(revoked.size());
  auto busy = [&] {
    std::int64_t n = 0;
    for (const auto& key : revoked) {
      auto it = partitions_.find(key);
      if (it != partitions_.end()) n += it->second.outstanding;
    }
    return n;
  };
  while (busy() > 0) {
    if (!settled_.wait_for(lock, log_every, [&] { return busy() == 0; })) on_wait(busy());
  }
}

void PartitionOffsets::forget_revoked(const std::set<PartitionKey>& revoked) {
  std::lock_guard lock(mutex_);
  revoking_.clear();
  revoking_count_ = 0;
  for (const auto& key : revoked) partitions_.erase(key);
}

bool PartitionOffsets::revoking(const PartitionKey& partition) const {
  std::lock_guard lock(mutex_);
  return revoking_.contains(partition);
}

}  // namespace orderflow::messaging::consumer
