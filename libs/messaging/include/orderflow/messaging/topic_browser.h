#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "orderflow/common/result.h"
#include "orderflow/messaging/record.h"

namespace orderflow::messaging {

/// A partition's offsets: records are at [begin, end) (end is the high watermark, the offset
/// the next record gets).
struct PartitionRange {
  int partition = 0;
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

/// A topic of the cluster with its partitions (sorted by partition).
struct TopicInfo {
  std::string name;
  std::vector<PartitionRange> partitions;
};

/// A record read by TopicBrowser, as stored: bytes, not decoded.
struct BrowsedRecord {
  std::string topic;
  int partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;   ///< the record's timestamp (create or log append time)
  std::optional<std::string> key;  ///< nullopt: the record has no key (not an empty one)
  Headers headers;
  std::string value;
};

/// Reads a cluster's topics from outside every consumer group, for the ops console: metadata,
/// partition offsets and records by partition and offset. It reads with its own consumer that
/// assign()s the partition it reads at an explicit offset and never joins its group (group.id =
/// the client id, default orderflow-topic-browser) nor commits: with ACLs its principal needs
/// DESCRIBE on the topics it lists and READ on those it reads, no grant on the group. A topic it
/// may not DESCRIBE is not in the cluster's answer (not listed, kNotFound); a refusal by the
/// ACLs comes back as kUnavailable KAFKA_AUTHORIZATION_FAILED at once, naming it (not as a
/// timeout). Created lazily on first use and kept. Thread-safe: calls are serialised (one at a
/// time).
class TopicBrowser {
 public:
  /// `config`: bootstrap_servers and properties of the cluster; its `partitioner` property
  /// (kafka.properties or kafka.producer, librdkafka's default consistent_random when unset)
  /// must be the one the producers use, for partition_for_key().
  explicit TopicBrowser(KafkaConfig config);
  ~TopicBrowser();
  TopicBrowser(const TopicBrowser&) = delete;
  TopicBrowser& operator=(const TopicBrowser&) = delete;

  /// Every topic of the cluster's metadata except internal ones (names starting with "__"),
  /// sorted by name, with each partition's offsets. kUnavailable (KAFKA_TIMEOUT or the broker's
  /// error) when the cluster does not answer within about `timeout`.
  Result<std::vector<TopicInfo>> topics(std::chrono::milliseconds timeout);

  /// The offsets of one partition. kNotFound UNKNOWN_TOPIC / UNKNOWN_PARTITION; kUnavailable
  /// as topics().
  Result<PartitionRange> range(const std::string& topic, int partition,
                               std::chrono::milliseconds timeout);

  /// The records of `topic`/`partition` from `offset` on, at most `limit` of them, oldest first,
  /// up to the partition's end as of the call (offsets without a record, e.g. transaction
  /// markers, are skipped). With `only_key`, `limit` bounds the records read, and those with
  /// another key (or none) are left out. kNotFound as range(); kInvalidInput OFFSET_OUT_OF_RANGE
  /// when `offset` is outside [begin, end]; kUnavailable KAFKA_TIMEOUT when the records do not
  /// arrive within `timeout` (in total), KAFKA_AUTHORIZATION_FAILED as soon as the broker
  /// refuses the fetch (no READ on the topic).
  Result<std::vector<BrowsedRecord>> read(const std::string& topic, int partition,
                                          std::int64_t offset, std::int64_t limit,
                                          std::chrono::milliseconds timeout,
                                          const std::optional<std::string>& only_key = {});

  /// The partition a producer with this browser's `partitioner` sends a record with `key` to
  /// (key non-empty). kNotFound UNKNOWN_TOPIC; kUnavailable as topics().
  Result<int> partition_for_key(const std::string& topic, const std::string& key,
                                std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex mutex_;
};

}  // namespace orderflow::messaging
