// Unit tests of the ops-service domain: dlq.* header parsing, replay and UNPARK records
// (docs/dlq.md).
#include <gtest/gtest.h>

#include "adapters/kafka/dead_letter_handler.h"
#include "domain/dead_letter.h"
#include "orderflow/messaging/record.h"

namespace orderflow::ops {
namespace {

using messaging::find_header;

messaging::ConsumedRecord dlt_record() {
  messaging::ConsumedRecord r;
  r.topic = "orders.v1.dlt";
  r.partition = 1;
  r.offset = 42;
  r.key = "123";
  r.value = R"({"eventId":"e-1"})";
  r.headers = {{"eventId", "e-1"},
               {"eventType", "ORDER_CREATED"},
               {"source", "order-service"},
               {"dlq.service", "notification-service"},
               {"dlq.consumer.group", "notification-service"},
               {"dlq.original.topic", "orders.v1"},
               {"dlq.original.partition", "2"},
               {"dlq.original.offset", "17"},
               {"dlq.error.timestamp", "2026-11-21T10:15:30.123Z"},
               {"dlq.error.class", "kUnavailable:CHANNEL_FAILURE"},
               {"dlq.error.message", "injected channel failure"},
               {"dlq.error.stacktrace", "attempt 1: x"},
               {"dlq.attempts", "3"},
               {"dlq.reason", "RETRIES_EXHAUSTED"}};
  return r;
}

TEST(DeadLetterTest, ParsesDlqHeaders) {
  auto d = dead_letter_from_record(dlt_record(), Clock::TimePoint{std::chrono::seconds{5}});
  EXPECT_EQ(d.dlt_topic, "orders.v1.dlt");
  EXPECT_EQ(d.dlt_partition, 1);
  EXPECT_EQ(d.dlt_offset, 42);
  EXPECT_EQ(d.service, "notification-service");
  EXPECT_EQ(d.consumer_group, "notification-service");
  EXPECT_EQ(d.original_topic, "orders.v1");
  EXPECT_EQ(d.original_partition, 2);
  EXPECT_EQ(d.original_offset, 17);
  EXPECT_EQ(d.error_timestamp, "2026-11-21T10:15:30.123Z");
  EXPECT_EQ(d.error_class, "kUnavailable:CHANNEL_FAILURE");
  EXPECT_EQ(d.error_message, "injected channel failure");
  EXPECT_EQ(d.error_stacktrace, "attempt 1: x");
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.reason, "RETRIES_EXHAUSTED");
  EXPECT_EQ(d.event_id, "e-1");
  EXPECT_EQ(d.event_type, "ORDER_CREATED");
  EXPECT_EQ(d.status, DeadLetterStatus::kNew);
  EXPECT_EQ(d.replay_count, 0);
  EXPECT_EQ(d.first_seen, Clock::TimePoint{std::chrono::seconds{5}});
  EXPECT_EQ(d.headers.size(), 14u);
}

TEST(DeadLetterTest, RecordWithoutDlqHeadersLeavesFieldsEmpty) {
  messaging::ConsumedRecord r;
  r.topic = "foreign.dlt";
  r.offset = 3;
  r.key = "k";
  r.value = "not json";
  r.headers = {{"dlq.original.offset", "not-a-number"}};
  auto d = dead_letter_from_record(r, Clock::TimePoint{});
  EXPECT_EQ(d.dlt_topic, "foreign.dlt");
  EXPECT_TRUE(d.service.empty());
  EXPECT_TRUE(d.consumer_group.empty());
  EXPECT_TRUE(d.original_topic.empty());
  EXPECT_FALSE(d.original_partition.has_value());
  EXPECT_FALSE(d.original_offset.has_value());
  EXPECT_FALSE(d.attempts.has_value());
  EXPECT_TRUE(d.reason.empty());
  EXPECT_TRUE(d.event_id.empty());
}

TEST(DeadLetterTest, ReplayRecordDropsDlqHeadersAndCountsReplays) {
  auto d = dead_letter_from_record(dlt_record(), Clock::TimePoint{});
  auto out = make_replay_record(d);
  EXPECT_EQ(out.topic, "orders.v1");
  EXPECT_EQ(out.key, "123");
  EXPECT_EQ(out.value, d.value);
  EXPECT_EQ(find_header(out.headers, "eventId"), "e-1");
  EXPECT_EQ(find_header(out.headers, "eventType"), "ORDER_CREATED");
  EXPECT_EQ(find_header(out.headers, "source"), "order-service");
  EXPECT_FALSE(find_header(out.headers, "dlq.reason").has_value());
  EXPECT_FALSE(find_header(out.headers, "dlq.original.topic").has_value());
  EXPECT_FALSE(find_header(out.headers, "dlq.consumer.group").has_value());
  EXPECT_EQ(find_header(out.headers, "dlq.replay.count"), "1");
  EXPECT_EQ(find_header(out.headers, "dlq.replay.group"), "notification-service");
  EXPECT_EQ(out.headers.size(), 5u);

  d.replay_count = 2;
  EXPECT_EQ(find_header(make_replay_record(d).headers, "dlq.replay.count"), "3");
}

TEST(DeadLetterTest, ReplayOfAReplayedRecordKeepsCounting) {
  auto r = dlt_record();
  r.headers.push_back({"dlq.replay.count", "4"});
  r.headers.push_back({"dlq.replay.group", "notification-service"});
  auto out = make_replay_record(dead_letter_from_record(r, Clock::TimePoint{}));
  EXPECT_EQ(find_header(out.headers, "dlq.replay.count"), "5");
  int counts = 0;
  for (const auto& h : out.headers) counts += h.key == "dlq.replay.count" ? 1 : 0;
  EXPECT_EQ(counts, 1);
}

// Found by fuzz/dlt_headers_fuzz.cpp: 2147483647 + 1 was a signed overflow (UBSan).
TEST(DeadLetterTest, ReplayCountAtTheIntLimitDoesNotOverflow) {
  auto r = dlt_record();
  r.headers.push_back({"dlq.replay.count", "2147483647"});
  auto out = make_replay_record(dead_letter_from_record(r, Clock::TimePoint{}));
  EXPECT_EQ(find_header(out.headers, "dlq.replay.count"), "2147483647");
  r.headers.back().value = "-5";
  out = make_replay_record(dead_letter_from_record(r, Clock::TimePoint{}));
  EXPECT_EQ(find_header(out.headers, "dlq.replay.count"), "1");
}

TEST(DeadLetterTest, UnparkControlRecord) {
  auto out = make_unpark_record("orders.v1", "123", "notification-service", 3);
  EXPECT_EQ(out.topic, "orders.v1");
  EXPECT_EQ(out.key, "123");
  EXPECT_TRUE(out.value.empty());
  EXPECT_EQ(find_header(out.headers, "dlq.control"), "UNPARK");
  EXPECT_EQ(find_header(out.headers, "dlq.consumer.group"), "notification-service");
  EXPECT_EQ(find_header(out.headers, "dlq.parked.count"), "3");
}

TEST(DeadLetterTest, StatusNames) {
  EXPECT_EQ(parse_status("new"), DeadLetterStatus::kNew);
  EXPECT_EQ(parse_status("REPLAYED"), DeadLetterStatus::kReplayed);
  EXPECT_EQ(parse_status("Discarded"), DeadLetterStatus::kDiscarded);
  EXPECT_FALSE(parse_status("OTHER").has_value());
  EXPECT_STREQ(to_string(DeadLetterStatus::kDiscarded), "DISCARDED");
}

TEST(DeadLetterTest, HeadersRoundTripThroughJson) {
  messaging::Headers h = {{"a", "1"}, {"a", "2"}, {"b", ""}};
  auto back = headers_from_json(headers_to_json(h));
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[1].value, "2");
}

TEST(DeadLetterTest, DltSubscriptionEscapesTheSuffix) {
  EXPECT_EQ(dlt_subscription(".dlt"), std::vector<std::string>{"^.*\\.dlt$"});
  EXPECT_EQ(dlt_subscription(".DLT"), std::vector<std::string>{"^.*\\.DLT$"});
}

}  // namespace
}  // namespace orderflow::ops
