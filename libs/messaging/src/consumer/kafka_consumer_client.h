#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "consumer/partition_offsets.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/record.h"

namespace orderflow::messaging::consumer {

/// Told about rebalances, on the poll thread inside KafkaConsumerClient::poll().
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  /// Before the partitions are assigned (possibly none).
  virtual void on_assigned(const std::vector<PartitionKey>& partitions) = 0;
  /// Before the partitions are unassigned: may block until their offsets are final and commit
  /// them through the client.
  virtual void on_revoked(const std::vector<PartitionKey>& partitions) = 0;
};

/// The broker's low and high watermark of a partition; -1 when unknown.
struct Watermarks {
  std::int64_t low = -1;
  std::int64_t high = -1;
};

/// The librdkafka consumer of one group member: its configuration (manual offset store and
/// commit, earliest reset, eager assignment, the profile's properties), its events and log
/// (an offset reset, i.e. lost records, is reported to `on_offset_reset`), and the rebalance
/// callbacks, forwarded to the listener. Every method except the constructor and
/// session_timeout_ms() is for the poll thread only (librdkafka's consumer is not shared).
class KafkaConsumerClient {
 public:
  /// Called with topic, partition (-1 unknown) and librdkafka's text; from the poll thread or
  /// a librdkafka thread.
  using OffsetResetFn =
      std::function<void(const std::string& topic, int partition, const std::string& reason)>;

  /// Throws std::runtime_error on an invalid setting (startup failure).
  KafkaConsumerClient(const KafkaConfig& kafka, const ConsumerOptions& options,
                      std::shared_ptr<spdlog::logger> logger, OffsetResetFn on_offset_reset);
  ~KafkaConsumerClient();
  KafkaConsumerClient(const KafkaConsumerClient&) = delete;
  KafkaConsumerClient& operator=(const KafkaConsumerClient&) = delete;

  /// The group session timeout in effect (ms).
  [[nodiscard]] std::int64_t session_timeout_ms() const;
  /// Subscribes to the options' topics; rebalances go to `listener` (which must outlive the
  /// client's last poll). Throws std::runtime_error when librdkafka refuses.
  void subscribe(RebalanceListener& listener);
  /// The next record, or nullopt after `timeout_ms` (errors and end-of-partition are logged
  /// and skipped). Serves rebalance callbacks.
  std::optional<ConsumedRecord> poll(int timeout_ms);
  /// Pauses (stops fetching) or resumes every assigned partition; the position is kept.
  bool pause_all(bool paused);
  /// Resumes the listed partitions.
  void resume(const std::vector<PartitionKey>& partitions);
  /// Commits synchronously; returns the offsets the broker accepted (failures are logged with
  /// `reason`).
  std::vector<PartitionOffset> commit(const std::vector<PartitionOffset>& offsets,
                                      const char* reason);
  /// The consumer's position per partition (-1 when none yet), in the given order.
  std::vector<std::int64_t> positions(const std::vector<PartitionKey>& partitions);
  /// The group's committed offsets (negative: none), or nullopt when the broker did not answer
  /// within `timeout_ms`; per partition, nullopt when that partition's answer is an error.
  std::optional<std::vector<std::optional<std::int64_t>>> committed(
      const std::vector<PartitionKey>& partitions, int timeout_ms);
  /// Cached watermarks (from fetch responses), or asked from the broker when `query`.
  Watermarks watermarks(const PartitionKey& partition, bool query, int timeout_ms);
  /// Leaves the group (logged on failure).
  void close();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::messaging::consumer
