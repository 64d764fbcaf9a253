#pragma once

#include <functional>
#include <optional>
#include <string>

#include "orderflow/common/result.h"
#include "orderflow/messaging/record.h"

namespace orderflow::messaging {

/// What a handler may report about one record. Retrying and dead-lettering are the runner's
/// decisions (retry_policy.h), not outcomes a handler can choose.
enum class HandlerOutcome {
  kProcessed,  ///< the effect committed
  kDuplicate,  ///< the inbox had the eventId: nothing done
  kSkip,       ///< a business rule refused it (seed 002): committed, not retried
  kFailed,     ///< `error` says why; the runner retries or dead-letters it
  /// The slow part of the handling is `hand_off`: the runner runs it on its hand-off pool
  /// (consumer.hand_off_threads) and takes its result as the record's, while the worker goes on
  /// with other keys; the record's key waits, so per-key order holds.
  kHandedOff,
};

/// What a handler did with one record. On kProcessed/kDuplicate/kSkip the record's offset may
/// be committed. `error` is set when the handler failed (docs/dlq.md): a retryable error
/// (kUnavailable) is retried per RetryPolicy and then dead-lettered (RETRIES_EXHAUSTED);
/// kInvalidInput is dead-lettered at once (MALFORMED), anything else at once (HANDLER_ERROR).
struct HandlerResult {
  HandlerOutcome outcome = HandlerOutcome::kProcessed;
  std::optional<Error> error;
  std::string event_type;  ///< for metric labels and logs; taken from headers when empty
  std::string event_id;
  /// kHandedOff only: the rest of the handling, run once on a hand-off thread; it must not hand
  /// off again (that is reported as a HANDLER_ERROR).
  std::function<HandlerResult()> hand_off;

  static HandlerResult processed() { return {}; }
  static HandlerResult duplicate() { return {HandlerOutcome::kDuplicate, {}, {}, {}, {}}; }
  static HandlerResult skip(Error why) {
    return {HandlerOutcome::kSkip, std::move(why), {}, {}, {}};
  }
  static HandlerResult failed(Error error) {
    return {HandlerOutcome::kFailed, std::move(error), {}, {}, {}};
  }
  /// Hands `rest` off (see kHandedOff): for a call that waits on something slow outside the
  /// process (a payment gateway), so a worker is not held for its latency.
  static HandlerResult handed_off(std::function<HandlerResult()> rest) {
    return {HandlerOutcome::kHandedOff, {}, {}, {}, std::move(rest)};
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
  /// True when the record is done with (its offset may be committed).
  [[nodiscard]] bool settled() const {
    return outcome != HandlerOutcome::kFailed && outcome != HandlerOutcome::kHandedOff;
  }
};

/// `result`, or, when it was handed off, what its hand-off returns, run here on the caller's
/// thread (for callers without a hand-off pool: tools, tests). The event id and type of
/// `result` are kept when the hand-off's result has none.
HandlerResult complete(HandlerResult result);

/// "processed", "duplicate", "skip", "failed", "handed_off" (log spelling).
const char* to_string(HandlerOutcome outcome);

/// Handles one record. Must do its DB work in one transaction that also records the eventId in
/// the inbox, and return only after that transaction committed. Called from worker threads;
/// records with the same key are never handled concurrently and arrive in partition order.
using RecordHandler = std::function<HandlerResult(const ConsumedRecord&)>;

}  // namespace orderflow::messaging
