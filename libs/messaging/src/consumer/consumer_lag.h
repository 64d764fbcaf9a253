#pragma once

#include <atomic>
#include <cstdint>
#include <set>
#include <string>

#include "consumer/kafka_consumer_client.h"
#include "consumer/partition_offsets.h"
#include "orderflow/observability/metrics.h"

namespace orderflow::messaging::consumer {

/// Consumer lag per assigned partition (high watermark − position; a partition not read from
/// yet counts from the group's committed offset, else from the low watermark), published as
/// orderflow_consumer_lag{group,topic,partition} and summed for ConsumerStatus::lag.
class ConsumerLag {
 public:
  ConsumerLag(KafkaConsumerClient& client, PartitionOffsets& offsets,
              observability::Metrics& metrics, std::string group);
  /// Recomputes the lag of every assigned partition. Poll thread only; asks the broker (at
  /// most 200 ms per query) for what the client has not cached, e.g. while `paused`.
  void update(bool paused);
  /// The revoked partitions' lag is no longer ours: 0 on /metrics and in total().
  void revoked(const std::set<PartitionKey>& partitions);
  /// The last computed sum over the assigned partitions. Thread-safe.
  [[nodiscard]] std::int64_t total() const { return total_.load(); }

 private:
  KafkaConsumerClient& client_;
  PartitionOffsets& offsets_;
  observability::Metrics& metrics_;
  std::string group_;
  std::atomic<std::int64_t> total_{0};
};

}  // namespace orderflow::messaging::consumer
