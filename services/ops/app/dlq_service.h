#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "../domain/dead_letter.h"
#include "dlq_ports.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/producer.h"

namespace orderflow::ops {

/// Result of a bulk action.
struct BulkResult {
  std::vector<std::int64_t> matched;
  std::vector<std::int64_t> done;  ///< acted on (replayed or discarded)
  std::vector<std::pair<std::int64_t, Error>> failed;
  bool dry_run = false;
};

/// Use cases of the ops inbox: ingest DLT records, list/show, replay and discard with the
/// UNPARK protocol of docs/dlq.md. Thread-safe; actions are serialised so two replays of one
/// key cannot interleave.
class DlqService {
 public:
  /// `on_change` is called after each stored change (to refresh the gauges).
  DlqService(DeadLetterStore& store, messaging::Producer& producer, Clock& clock,
             std::function<void()> on_change = {},
             std::chrono::milliseconds send_timeout = std::chrono::milliseconds{10000});

  /// Stores a consumed DLT record (idempotent by DLT coordinates).
  Result<void> ingest(const messaging::ConsumedRecord& record);
  Result<DeadLetterPage> list(const DeadLetterFilter& filter, int limit, int offset);
  /// kNotFound when unknown.
  Result<DeadLetter> get(std::int64_t id);
  Result<std::vector<AuditEntry>> audit_trail(std::int64_t id);

  /// Replays dead letter `id` together with the NEW dead letters of the same group, original
  /// topic and key, in original partition/offset order, then sends UNPARK. Returns the ids
  /// replayed. kNotFound unknown; kConflict DISCARDED; kUnprocessable NOT_REPLAYABLE when it
  /// lacks dlq.original.topic or dlq.consumer.group; kUnavailable when the broker did not ack.
  Result<std::vector<std::int64_t>> replay(std::int64_t id, const std::string& actor);
  /// Discards `id` (kConflict when already DISCARDED); sends UNPARK when none of the key's dead
  /// letters of that group stay NEW.
  Result<void> discard(std::int64_t id, const std::string& actor);

  /// Bulk by filter; kInvalidInput NO_FILTER when the filter is empty.
  Result<BulkResult> replay_matching(const DeadLetterFilter& filter, bool dry_run,
                                     const std::string& actor);
  Result<BulkResult> discard_matching(const DeadLetterFilter& filter, bool dry_run,
                                      const std::string& actor);

  /// Current counts per (original topic, group, status).
  Result<std::vector<DeadLetterCount>> counts() { return store_.counts(); }

 private:
  Result<std::vector<std::int64_t>> replay_locked(std::int64_t id, const std::string& actor);
  Result<void> discard_locked(std::int64_t id, const std::string& actor);
  /// The bulk actions' common start (caller holds action_mutex_): the non-discarded letters
  /// matching `filter`, oldest first, in BulkResult::matched. NO_FILTER for an empty filter.
  Result<BulkResult> match_locked(const DeadLetterFilter& filter, bool dry_run);
  /// Dead letters of (group, topic, key), oldest first.
  Result<std::vector<DeadLetter>> siblings(const DeadLetter& letter);
  Result<void> send_unpark(const DeadLetter& letter);
  Result<void> send(messaging::OutgoingRecord record);
  void changed();

  DeadLetterStore& store_;
  messaging::Producer& producer_;
  Clock& clock_;
  std::function<void()> on_change_;
  std::chrono::milliseconds send_timeout_;
  std::mutex action_mutex_;
};

}  // namespace orderflow::ops
