#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace orderflow::broker {

/// A topic to create: "NAME" or "NAME:PARTITIONS".
struct TopicSpec {
  std::string name;
  int partitions = 3;
};

/// Parses "NAME[:PARTITIONS]". Throws std::invalid_argument for an empty name or a partition
/// count that is not a positive integer.
TopicSpec parse_topic_spec(std::string_view text, int default_partitions);

/// The embedded Kafka-protocol broker: librdkafka's in-memory mock cluster, listening on
/// random localhost ports. No replication, no CreateTopics API (create_topic instead), at most
/// ~5 MiB / 100k message sets per partition (ARCHITECTURE.md, embedded broker notes).
class EmbeddedBroker {
 public:
  /// Throws std::runtime_error when the cluster cannot be created.
  explicit EmbeddedBroker(int brokers = 3);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  /// "127.0.0.1:port,…", the bootstrap.servers clients use.
  [[nodiscard]] std::string bootstrap_servers() const;
  /// Throws std::runtime_error when the topic cannot be created.
  void create_topic(const std::string& name, int partitions);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Writes `content` to `path` so that readers see the old file or the whole new one, never a
/// partial write (temporary file in the same directory, then rename). Throws
/// std::runtime_error on failure.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

}  // namespace orderflow::broker
