#include "orderflow/messaging/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace orderflow::messaging {

std::chrono::milliseconds RetryPolicy::delay_before(int attempt) const {
  if (attempt <= 1) return std::chrono::milliseconds{0};
  if (!exponential) return std::max(backoff, std::chrono::milliseconds{0});
  // In double so a large attempt number saturates at the cap instead of overflowing.
  double delay = static_cast<double>(backoff.count()) * std::pow(multiplier, attempt - 2);
  auto cap = static_cast<double>(max_backoff.count());
  if (!std::isfinite(delay) || delay > cap) delay = cap;
  if (delay < 0) delay = 0;
  return std::chrono::milliseconds{static_cast<std::int64_t>(delay)};
}

FailureDecision decide_failure(const Error& error, int attempt, const RetryPolicy& policy) {
  if (error.retryable() && attempt < policy.max_attempts) {
    return {true, policy.delay_before(attempt + 1), {}};
  }
  if (error.retryable()) return {false, {}, "RETRIES_EXHAUSTED"};
  if (error.kind == ErrorKind::kInvalidInput) return {false, {}, "MALFORMED"};
  return {false, {}, "HANDLER_ERROR"};
}

}  // namespace orderflow::messaging
