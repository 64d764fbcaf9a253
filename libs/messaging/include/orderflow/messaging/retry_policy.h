#pragma once

#include <chrono>
#include <string>

#include "orderflow/common/result.h"

namespace orderflow::messaging {

/// The back-off policy of retryable (technical) errors, spring-kafka's `BackOff`: fixed by
/// default (seed 000: 2000 ms × 3 attempts), or exponential (initial × multiplier^n, capped at
/// max_backoff). Config section `consumer.retry`. A plain value; thread-safe to share.
struct RetryPolicy {
  int max_attempts = 3;  ///< total attempts including the first
  std::chrono::milliseconds backoff{2000};
  bool exponential = false;
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{30000};
  /// Delay before attempt `attempt` (2, 3, …); 0 for attempt ≤ 1.
  [[nodiscard]] std::chrono::milliseconds delay_before(int attempt) const;
};

/// What to do with a record whose handler failed (spring-kafka's `DefaultErrorHandler` with its
/// exception classifier; docs/dlq.md "Reasons").
struct FailureDecision {
  bool retry = false;
  std::chrono::milliseconds delay{0};  ///< before the next attempt, when `retry`
  /// When not retried: RETRIES_EXHAUSTED (retryable error, attempts used up), MALFORMED
  /// (kInvalidInput) or HANDLER_ERROR (anything else).
  std::string dead_letter_reason;
};

/// Classifies `error` after handler attempt `attempt` (1-based): a retryable error
/// (kUnavailable) is retried after policy.delay_before(attempt + 1) while attempts remain.
FailureDecision decide_failure(const Error& error, int attempt, const RetryPolicy& policy);

}  // namespace orderflow::messaging
