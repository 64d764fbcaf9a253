#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "latency.h"

namespace orderflow::bench {

/// Watches a topic for the terminal events of orders (ORDER_COMPLETED, ORDER_CANCELLED) and
/// gives end-to-end latency: terminal event consumed − intended send time of the POST. Reads
/// from the high watermark of every partition at start(), in its own consumer group, without
/// committing. expect() is thread-safe.
class TerminalWatcher {
 public:
  /// `properties`: librdkafka consumer properties applied last (the broker's profile).
  TerminalWatcher(std::string bootstrap, std::string topic,
                  std::map<std::string, std::string> properties = {});
  ~TerminalWatcher();
  TerminalWatcher(const TerminalWatcher&) = delete;
  TerminalWatcher& operator=(const TerminalWatcher&) = delete;

  /// Assigns every partition at its current end and starts the poll thread. Throws
  /// std::runtime_error when the broker cannot be reached.
  void start();
  void stop();

  /// Registers an order created by the load generator (key of its events = order id).
  void expect(std::string order_id, std::chrono::steady_clock::time_point intended);

  struct Result {
    LatencySummary latency;  ///< of orders that reached a terminal event
    std::int64_t completed = 0;
    std::int64_t cancelled = 0;
    std::int64_t missing = 0;  ///< no terminal event before the deadline
    /// When the last of the collected orders' terminal events was consumed (the epoch when
    /// none was): completed + cancelled over the time from the phase's start to this is the
    /// rate at which the saga finished orders.
    std::chrono::steady_clock::time_point last_terminal{};
  };
  /// Waits until every expected order has a terminal event or `deadline` passes, then returns
  /// and forgets the expected orders (the watcher can be reused for the next phase).
  Result collect(std::chrono::steady_clock::time_point deadline);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

nlohmann::json to_json(const TerminalWatcher::Result& r);

/// Sum over the partitions of `topic` of the high watermark (records ever written, for a
/// topic that never deleted any). Throws std::runtime_error when the broker cannot tell.
std::int64_t topic_end_offsets(const std::string& bootstrap, const std::string& topic);

/// Raw librdkafka consumer draining `topics` from the beginning (the same records, batches and
/// broker a service's hop reads): records/s over at most `limit`. Throws std::runtime_error
/// when the broker cannot be reached.
double raw_drain_rate(const std::string& bootstrap, const std::vector<std::string>& topics,
                      std::chrono::milliseconds limit,
                      const std::map<std::string, std::string>& properties = {});

/// Raw librdkafka produce → consume through the same broker with the services' producer and
/// consumer settings (idempotent, acks=all, lz4, and the broker's profile: linger.ms,
/// fetch.wait.max.ms, …).
struct KafkaBaselineOptions {
  std::string bootstrap;
  /// Applied last to the producer and the consumer (the profile the services use on this
  /// broker); without them: linger.ms 1 and fetch.wait.max.ms 5.
  std::map<std::string, std::string> producer_properties;
  std::map<std::string, std::string> consumer_properties;
  std::string topic;         ///< must be new (or empty)
  bool create_topic = true;  ///< create it with `partitions` partitions (CreateTopics)
  int partitions = 3;
  int message_bytes = 600;
  std::int64_t throughput_messages = 200000;  ///< produced as fast as possible
  double latency_rate = 1000;                 ///< msgs/s of the paced latency run
  std::chrono::milliseconds latency_duration{5000};
};

struct KafkaBaselineResult {
  double produce_consume_rate = 0;  ///< msgs/s, first send → last message consumed
  std::int64_t messages = 0;
  LatencySummary latency;  ///< paced run: consumed − sent
  double latency_rate = 0;
};

/// Throws std::runtime_error when the topic cannot be created or messages do not arrive.
KafkaBaselineResult run_kafka_baseline(const KafkaBaselineOptions& options);

nlohmann::json to_json(const KafkaBaselineResult& r);

}  // namespace orderflow::bench
