#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

#include "orderflow/common/clock.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/batch_transaction.h"
#include "orderflow/messaging/handler_result.h"
#include "orderflow/messaging/parked_key_store.h"
#include "orderflow/messaging/record.h"
#include "orderflow/messaging/retry_policy.h"
#include "orderflow/observability/metrics.h"

namespace orderflow::messaging {

struct ConsumerOptions {
  std::string service;   ///< metric and log label
  std::string group_id;  ///< consumer group
  std::vector<std::string> topics;
  /// Worker threads; a key always maps to the same worker. Handlers block on their DB commit,
  /// so more workers make bigger commit groups (docs/benchmarks.md: 3 → 16 took a hop from
  /// ~3,000 to ~11,000 records/s).
  int concurrency = 16;
  int queue_capacity = 1000;  ///< records buffered per worker before the poll loop waits
  /// Threads that run handed-off handler work (HandlerResult::handed_off), shared by the
  /// workers; started on the first hand-off. With a gateway of latency L the hand-offs cap the
  /// rate at hand_off_threads ÷ L instead of concurrency ÷ L.
  int hand_off_threads = 64;
  /// With a BatchTransaction: at most this many records (one per key: the heads of a worker's
  /// ready lanes) handled in one database transaction (config consumer.batch_size; 1 = one
  /// record per transaction, as without one).
  int max_batch = 64;
  RetryPolicy retry;
  std::chrono::milliseconds commit_interval{200};  ///< how often stored offsets are committed
  /// Dead letters of `<topic>` go to `<topic><dlt_suffix>` (config topics.dlt_suffix).
  std::string dlt_suffix = ".dlt";
};

/// Lag and assignment of a running consumer, for /health/ready and the drain status.
struct ConsumerStatus {
  bool running = false;
  /// The group gave this member its first assignment (possibly empty) since start(); stays
  /// true through later rebalances. Until then nothing is consumed: a broker's group join
  /// takes seconds (the embedded broker delays the first rebalance by ~3 s).
  bool joined = false;
  int assigned_partitions = 0;
  std::int64_t lag = 0;            ///< sum over assigned partitions (high watermark − position)
  std::int64_t offset_resets = 0;  ///< times the broker reset an offset (data loss), since start
  std::int64_t in_flight = 0;      ///< records dispatched and not yet finished
  /// ms since the member lost its last partition (revoke, or an empty assignment after having
  /// had one); 0 while it holds partitions or before its first assignment.
  std::int64_t unassigned_ms = 0;
  std::int64_t session_timeout_ms = 0;  ///< the group session timeout in effect (ms)
};

/// Consumer group member with per-key ordered concurrency and at-least-once commits.
///
/// Its parts (libs/messaging/src/consumer/): KafkaConsumerClient (librdkafka set-up, events,
/// rebalance callbacks, offset-reset detection), PollLoop (polling, backpressure, commits and
/// rebalance handling), PartitionOffsets (per-partition offset tracking), ConsumerLag,
/// LaneWorker (per-key lanes, retry scheduling by RetryPolicy/decide_failure), the
/// DeadLetterPublisher and KeyParking (parking and the UNPARK protocol).
///
/// A poll thread reads records and dispatches each to worker hash(key) % concurrency. An
/// offset is stored only after the handler returned kProcessed/kDuplicate/kSkip (i.e. after its
/// DB transaction committed), and the partition's committed offset only moves past a record
/// when every earlier record of that partition is done. Stored offsets are committed every
/// commit_interval, synchronously on partition revoke (after in-flight records of the revoked
/// partitions finish) and on stop(). auto.offset.reset=earliest: a new group reads the backlog.
/// Every consumed record is logged with eventId, topic, partition, offset and counted in
/// orderflow_messages_total / orderflow_message_processing_seconds.
///
/// Failures (docs/dlq.md): a retryable error schedules a retry after the RetryPolicy delay;
/// meanwhile that record and every later record of the same (partition, key) wait while the
/// worker goes on with other keys (outcome `retry` per retry). A record that fails for good is
/// written to `<topic><dlt_suffix>` by the runner's own idempotent producer (acks=all) with
/// the same key, value and headers plus the dlq.* headers (outcome `dlq`); its offset becomes
/// committable only after the broker acknowledged that write. When the DLT write fails the
/// record is counted `error`, stays uncommitted and the write is retried after the retry
/// backoff (or the record comes again after a restart). Once a key is dead-lettered, the
/// group parks it: its later records go to the DLT (KEY_PARKED) without the handler, until an
/// UNPARK control record for this group resolves them; records whose dlq.replay.group is
/// this group bypass parking. orderflow_parked_keys{group} counts parked keys.
class ConsumerRunner {
 public:
  /// `clock` is the time source of retry due times and dlq.error.timestamp; due times are
  /// re-checked every 10 ms, so a ManualClock moved by a test is noticed within one tick.
  /// `parked_keys` persists parked keys (make_memory_parked_key_store() keeps them in memory
  /// only). `batch` (null: one record per transaction) lets a worker handle its ready records
  /// in one transaction of up to options.max_batch records. All must outlive the runner.
  /// Throws std::runtime_error on invalid configuration or when the parked keys cannot be
  /// loaded (startup failure).
  ConsumerRunner(KafkaConfig kafka, ConsumerOptions options, RecordHandler handler,
                 observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger,
                 const Clock& clock, ParkedKeyStore& parked_keys,
                 BatchTransaction* batch = nullptr);
  ~ConsumerRunner();
  ConsumerRunner(const ConsumerRunner&) = delete;
  ConsumerRunner& operator=(const ConsumerRunner&) = delete;

  /// Subscribes and starts the poll and worker threads.
  void start();
  /// Stops polling, lets workers finish the records they hold (a record waiting for a retry,
  /// and the later records of its key, are abandoned uncommitted: they come again; pending
  /// DLT writes get up to 5 s to be acknowledged), commits, leaves the group. Idempotent.
  void stop();
  /// Thread-safe snapshot.
  [[nodiscard]] ConsumerStatus status() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::messaging
