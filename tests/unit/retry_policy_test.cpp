#include <gtest/gtest.h>

#include "orderflow/messaging/consumer_runner.h"

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

}  // namespace
}  // namespace orderflow::messaging
