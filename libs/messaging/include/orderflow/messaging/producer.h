#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "orderflow/common/result.h"
#include "orderflow/messaging/record.h"

namespace orderflow::messaging {

/// Where a record landed once the broker acknowledged it.
struct DeliveryReport {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

using DeliveryCallback = std::function<void(const Result<DeliveryReport>&)>;

/// Idempotent Kafka producer (enable.idempotence=true, acks=all; per-partition order kept
/// across internal retries). Thread-safe.
class Producer {
 public:
  virtual ~Producer() = default;
  /// Enqueues `record`; `on_delivery` is called exactly once, on the producer's delivery
  /// thread, with the broker's acknowledgement or the final error (kUnavailable when the
  /// message timed out, after librdkafka's message.timeout.ms, or the broker is unreachable;
  /// kInvalidInput when it is too large). An error in enqueueing is also reported through
  /// `on_delivery`: while the local queue is full (queue.buffering.max.messages / .max.kbytes,
  /// set by the Kafka profile) send() blocks up to 2 s for room, then reports kUnavailable
  /// KAFKA_QUEUE_FULL (retry later).
  virtual void send(OutgoingRecord record, DeliveryCallback on_delivery) = 0;
  /// Sends and waits for the delivery report (for tools and tests). Timeout in ms.
  virtual Result<DeliveryReport> send_sync(OutgoingRecord record,
                                           std::chrono::milliseconds timeout) = 0;
  /// Waits until every enqueued record has a delivery report. kUnavailable on timeout.
  virtual Result<void> flush(std::chrono::milliseconds timeout) = 0;
  /// Records enqueued and not yet reported.
  [[nodiscard]] virtual std::int64_t in_flight() const = 0;
  /// Fetches and keeps the metadata (partitions, leaders) of `topics` so the first send() to
  /// each does not wait for it (without this the first order after start-up took ~3 s end to
  /// end, docs/benchmarks.md). Blocks up to `timeout` per topic. kUnavailable when the broker
  /// does not answer; the producer still works, the first send() just waits as before.
  virtual Result<void> warm_up(const std::vector<std::string>& topics,
                               std::chrono::milliseconds timeout) {
    return {};
  }
  /// The id of the Kafka cluster this producer talks to (from the metadata; waits up to
  /// `timeout` for it). The outbox relay compares it with the id it recorded to notice a new
  /// cluster (an embedded broker restarted empty). kUnavailable when the broker does not answer
  /// in time. An empty id means "not known" (a test double): no cluster check is made.
  virtual Result<std::string> cluster_id(std::chrono::milliseconds timeout) {
    return std::string();
  }
  /// One metadata round trip to the cluster, up to `timeout` (ms); kUnavailable when no broker
  /// answered in time (down, unreachable or stopped). A live probe, never a cached answer:
  /// readiness uses it to tell a stopped broker from an idle one. Thread-safe.
  virtual Result<void> ping(std::chrono::milliseconds timeout) { return {}; }
};

/// Creates a producer. Throws std::runtime_error on invalid configuration (startup failure).
std::unique_ptr<Producer> make_kafka_producer(const KafkaConfig& config,
                                              std::shared_ptr<spdlog::logger> logger);

}  // namespace orderflow::messaging
