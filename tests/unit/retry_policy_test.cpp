#include <gtest/gtest.h>

#include "orderflow/messaging/dlt_headers.h"
#include "orderflow/messaging/retry_policy.h"

namespace orderflow::messaging {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicy, DefaultIsFixedTwoSecondsThreeAttempts) {
  RetryPolicy policy;
  EXPECT_EQ(policy.max_attempts, 3);
  EXPECT_FALSE(policy.exponential);
  EXPECT_EQ(policy.delay_before(2), milliseconds{2000});
  EXPECT_EQ(policy.delay_before(3), milliseconds{2000});
}

TEST(RetryPolicy, FirstAttemptHasNoDelay) {
  RetryPolicy policy;
  EXPECT_EQ(policy.delay_before(1), milliseconds{0});
  policy.exponential = true;
  EXPECT_EQ(policy.delay_before(1), milliseconds{0});
}

TEST(RetryPolicy, FixedIgnoresTheCap) {
  RetryPolicy policy;
  policy.backoff = milliseconds{500};
  policy.max_backoff = milliseconds{100};
  EXPECT_EQ(policy.delay_before(5), milliseconds{500});
}

TEST(RetryPolicy, ExponentialGrowsByMultiplier) {
  RetryPolicy policy;
  policy.exponential = true;
  policy.backoff = milliseconds{100};
  policy.multiplier = 2.0;
  policy.max_backoff = milliseconds{100000};
  EXPECT_EQ(policy.delay_before(2), milliseconds{100});
  EXPECT_EQ(policy.delay_before(3), milliseconds{200});
  EXPECT_EQ(policy.delay_before(4), milliseconds{400});
  EXPECT_EQ(policy.delay_before(5), milliseconds{800});
}

TEST(RetryPolicy, ExponentialIsCappedAtMaxBackoff) {
  RetryPolicy policy;
  policy.exponential = true;
  policy.backoff = milliseconds{1000};
  policy.multiplier = 3.0;
  policy.max_backoff = milliseconds{5000};
  EXPECT_EQ(policy.delay_before(3), milliseconds{3000});
  EXPECT_EQ(policy.delay_before(4), milliseconds{5000});
  EXPECT_EQ(policy.delay_before(1000), milliseconds{5000});  // no overflow
}

TEST(RetryPolicy, OneMillisecondBackoffForTests) {
  RetryPolicy policy;
  policy.backoff = milliseconds{1};
  EXPECT_EQ(policy.delay_before(2), milliseconds{1});
}

// spring-kafka's DefaultErrorHandler with its classifier: only a retryable error is retried,
// and only while attempts remain.
TEST(DecideFailure, RetryableIsRetriedUntilAttemptsAreUsedUp) {
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.backoff = std::chrono::milliseconds{250};
  auto busy = unavailable("DB_BUSY", "locked");
  auto first = decide_failure(busy, 1, policy);
  EXPECT_TRUE(first.retry);
  EXPECT_EQ(first.delay, std::chrono::milliseconds{250});
  EXPECT_TRUE(decide_failure(busy, 2, policy).retry);
  auto last = decide_failure(busy, 3, policy);
  EXPECT_FALSE(last.retry);
  EXPECT_EQ(last.dead_letter_reason, "RETRIES_EXHAUSTED");
}

TEST(DecideFailure, MalformedAndBugsAreDeadLetteredAtOnce) {
  RetryPolicy policy;
  auto malformed = decide_failure(invalid_input("MALFORMED_EVENT", "not json"), 1, policy);
  EXPECT_FALSE(malformed.retry);
  EXPECT_EQ(malformed.dead_letter_reason, "MALFORMED");
  auto bug = decide_failure(internal_error("HANDLER_EXCEPTION", "npe"), 1, policy);
  EXPECT_FALSE(bug.retry);
  EXPECT_EQ(bug.dead_letter_reason, "HANDLER_ERROR");
}

// Regression: dlq.error.class used to index a name table by the enum's order, so reordering or
// extending ErrorKind would have mislabelled dead letters. Every kind has its own spelling.
TEST(DltErrorClass, NamesEveryErrorKindByItsEnumerator) {
  const std::pair<ErrorKind, const char*> kNames[] = {
      {ErrorKind::kInvalidInput, "kInvalidInput:C"},
      {ErrorKind::kNotFound, "kNotFound:C"},
      {ErrorKind::kConflict, "kConflict:C"},
      {ErrorKind::kUnprocessable, "kUnprocessable:C"},
      {ErrorKind::kUnavailable, "kUnavailable:C"},
      {ErrorKind::kInternal, "kInternal:C"},
  };
  for (const auto& [kind, name] : kNames) {
    EXPECT_EQ(dlt_headers::error_class(Error{kind, "C", "m"}), name);
  }
}

}  // namespace
}  // namespace orderflow::messaging
