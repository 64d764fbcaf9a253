#include "orderflow/messaging/offset_tracker.h"

#include <gtest/gtest.h>

namespace orderflow::messaging {
namespace {

TEST(OffsetTracker, NothingDispatchedHasNothingToCommit) {
  OffsetTracker tracker;
  EXPECT_FALSE(tracker.committable().has_value());
  EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(OffsetTracker, InFlightRecordHoldsTheCommitAtItsOffset) {
  OffsetTracker tracker;
  tracker.dispatched(10);
  EXPECT_EQ(tracker.committable(), 10);
  EXPECT_EQ(tracker.in_flight(), 1u);
  tracker.finished(10);
  EXPECT_EQ(tracker.committable(), 11);
  EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(OffsetTracker, OutOfOrderCompletionCommitsOnlyPastTheLowestUnfinished) {
  OffsetTracker tracker;
  for (std::int64_t o = 5; o <= 9; ++o) tracker.dispatched(o);
  tracker.finished(7);
  tracker.finished(9);
  EXPECT_EQ(tracker.committable(), 5);
  tracker.finished(5);
  EXPECT_EQ(tracker.committable(), 6);
  tracker.finished(6);
  EXPECT_EQ(tracker.committable(), 8);
  tracker.finished(8);
  EXPECT_EQ(tracker.committable(), 10);
  EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(OffsetTracker, GapsInOffsetsAreSkipped) {
  // Compacted topics and transaction markers leave holes in the offset sequence.
  OffsetTracker tracker;
  tracker.dispatched(3);
  tracker.dispatched(7);
  tracker.finished(3);
  EXPECT_EQ(tracker.committable(), 7);
  tracker.finished(7);
  EXPECT_EQ(tracker.committable(), 8);
}

TEST(OffsetTracker, UnknownOrRepeatedFinishIsHarmless) {
  OffsetTracker tracker;
  tracker.dispatched(1);
  tracker.finished(42);
  EXPECT_EQ(tracker.committable(), 1);
  tracker.finished(1);
  tracker.finished(1);
  EXPECT_EQ(tracker.committable(), 2);
}

TEST(OffsetTracker, AbandonedRecordNeverLetsTheCommitPassIt) {
  OffsetTracker tracker;
  tracker.dispatched(0);
  tracker.dispatched(1);
  tracker.dispatched(2);
  tracker.finished(0);
  tracker.finished(2);  // 1 is never finished (e.g. its retry was interrupted by stop)
  EXPECT_EQ(tracker.committable(), 1);
}

}  // namespace
}  // namespace orderflow::messaging
