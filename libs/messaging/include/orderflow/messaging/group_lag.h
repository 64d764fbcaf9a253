#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "orderflow/common/result.h"
#include "orderflow/messaging/record.h"

namespace orderflow::messaging {

/// One partition's lag as GroupLagProbe sees it.
struct PartitionLag {
  std::string topic;
  int partition = 0;
  std::int64_t lag = 0;        ///< high watermark − the group's committed offset (records, ≥ 0)
  std::int64_t committed = 0;  ///< the group's committed offset (the next one it reads)
  std::int64_t end_offset = 0;  ///< the partition's high watermark
};

/// Lag of consumer groups seen from outside them: each group's committed offsets (OffsetFetch
/// to its coordinator, without joining the group) against the partitions' high watermarks. It
/// still counts while every consumer of a group is down or stuck, which the consumers' own
/// orderflow_consumer_lag cannot. One client per group, created on first use and kept.
/// Not thread-safe: one caller (e.g. a periodic task).
class GroupLagProbe {
 public:
  /// `config`: bootstrap_servers and properties (security.*) of the cluster.
  explicit GroupLagProbe(KafkaConfig config);
  ~GroupLagProbe();
  GroupLagProbe(const GroupLagProbe&) = delete;
  GroupLagProbe& operator=(const GroupLagProbe&) = delete;

  /// The lag of `group` on every partition of `topics` where it has committed an offset
  /// (partitions, and groups, that never committed are left out: a group that does not exist
  /// reports nothing). Blocks up to about `timeout` per topic. kUnavailable when the cluster
  /// does not answer in time; kUnavailable KAFKA_AUTHORIZATION_FAILED (its message names the
  /// refusal, e.g. "Group authorization failed") when the ACLs do not let this client's
  /// principal DESCRIBE the group or a topic (OffsetFetch; a refused group still takes its
  /// `timeout`: librdkafka retries the coordinator lookup); kInvalidInput for a configuration
  /// librdkafka refuses.
  Result<std::vector<PartitionLag>> lag(const std::string& group,
                                        const std::vector<std::string>& topics,
                                        std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::messaging
