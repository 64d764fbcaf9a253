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
#include "orderflow/messaging/record.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/storage/database.h"

namespace orderflow::messaging {

/// What a handler did with one record. On kProcessed/kDuplicate/kSkip the record's offset may
/// be committed. `error` is set when the handler failed (docs/dlq.md): a retryable error
/// (kUnavailable) is retried per RetryPolicy and then dead-lettered (RETRIES_EXHAUSTED);
/// kInvalidInput is dead-lettered at once (MALFORMED), anything else at once (HANDLER_ERROR).
struct HandlerResult {
  observability::Outcome outcome = observability::Outcome::kProcessed;
  std::optional<Error> error;
  std::string event_type;  ///< for metric labels and logs; taken from headers when empty
  std::string event_id;

  static HandlerResult processed() { return {}; }
  static HandlerResult duplicate() { return {observability::Outcome::kDuplicate, {}, {}, {}}; }
  static HandlerResult skip(Error why) {
    return {observability::Outcome::kSkip, std::move(why), {}, {}};
  }
  static HandlerResult failed(Error error) {
    return {observability::Outcome::kError, std::move(error), {}, {}};
  }
  /// The three-way split of seed 002: a business rule (kUnprocessable, kNotFound, kConflict)
  /// → skip; a technical error (kUnavailable) → failed and retried; a malformed record
  /// (kInvalidInput) or a bug (kInternal) → failed, not retried.
  static HandlerResult from_error(Error error) {
    switch (error.kind) {
      case ErrorKind::kUnprocessable:
      case ErrorKind::kNotFound:
      case ErrorKind::kConflict:
        return skip(std::move(error));
      default:
        return failed(std::move(error));
    }
  }
};

/// Handles one record. Must do its DB work in one transaction that also records the eventId in
/// the inbox, and return only after that transaction committed. Called from worker threads;
/// records with the same key are never handled concurrently and arrive in partition order.
using RecordHandler = std::function<HandlerResult(const ConsumedRecord&)>;

/// Retry of retryable (technical) errors: fixed backoff by default (seed 000: 2000 ms × 3),
/// or exponential (initial × multiplier^n, capped at max_backoff).
struct RetryPolicy {
  int max_attempts = 3;  ///< total attempts including the first
  std::chrono::milliseconds backoff{2000};
  bool exponential = false;
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{30000};
  /// Delay before attempt `attempt` (2, 3, …).
  [[nodiscard]] std::chrono::milliseconds delay_before(int attempt) const;
};

/// One key parked by a consumer group (docs/dlq.md "Parking").
struct ParkedKey {
  std::string topic;
  std::string key;
  std::int64_t dead_letters = 0;  ///< dead letters of the key this group parked, ≥ 1
};

/// Persistent parked-key state per (group, topic, key), table parked_keys(consumer_group,
/// topic, record_key, parked_at, dead_letters). Implementations must be thread-safe; the
/// runner calls them from its worker threads. Errors are storage errors (kUnavailable when
/// the database is busy); the runner logs them and keeps its in-memory state.
class ParkedKeyStore {
 public:
  virtual ~ParkedKeyStore() = default;
  /// Adds one dead letter to (group, topic, key), parking the key when it was not parked.
  virtual Result<void> park(std::string_view group, std::string_view topic,
                            std::string_view key) = 0;
  /// Dead letters parked for the key; 0 = not parked.
  virtual Result<std::int64_t> count(std::string_view group, std::string_view topic,
                                     std::string_view key) = 0;
  /// Forgets the key (no-op when it was not parked).
  virtual Result<void> unpark(std::string_view group, std::string_view topic,
                              std::string_view key) = 0;
  /// Every key parked by `group`.
  virtual Result<std::vector<ParkedKey>> load(std::string_view group) = 0;
};

/// Schema of the parked-key table; run with
/// storage::migrate(db, "parked_keys", parked_key_migrations()).
std::span<const storage::Migration> parked_key_migrations();

/// A ParkedKeyStore on `db` (which must outlive it and be migrated). Thread-safe.
std::unique_ptr<ParkedKeyStore> make_parked_key_store(storage::Database& db);

struct ConsumerOptions {
  std::string service;   ///< metric and log label
  std::string group_id;  ///< consumer group
  std::vector<std::string> topics;
  /// Worker threads; a key always maps to the same worker. Handlers block on their DB commit,
  /// so more workers make bigger commit groups (docs/benchmarks.md: 3 → 16 took a hop from
  /// ~3,000 to ~11,000 records/s).
  int concurrency = 16;
  int queue_capacity = 1000;  ///< records buffered per worker before the poll loop waits
  RetryPolicy retry;
  std::chrono::milliseconds commit_interval{200};  ///< how often stored offsets are committed
  /// Dead letters of `<topic>` go to `<topic><dlt_suffix>` (config topics.dlt_suffix).
  std::string dlt_suffix = ".dlt";
  /// Time source of retry due times and dlq.error.timestamp; null = the system clock. Must
  /// outlive the runner. Due times are re-checked every 10 ms, so a ManualClock moved by a
  /// test is noticed within one tick.
  const Clock* clock = nullptr;
  /// Where parked keys are persisted; null = in memory only (lost on restart). Must outlive
  /// the runner.
  ParkedKeyStore* parked_keys = nullptr;
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
  /// Throws std::runtime_error on invalid configuration (startup failure).
  ConsumerRunner(KafkaConfig kafka, ConsumerOptions options, RecordHandler handler,
                 observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger);
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
