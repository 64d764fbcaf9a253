#include "orderflow/messaging/event_codec.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace orderflow::messaging {
namespace {

const char* kValid =
    R"({"eventId":"7f0c6a0e-1111-4222-8333-444455556666","eventType":"ORDER_CREATED",)"
    R"("eventVersion":1,"timestamp":"2026-11-21T10:15:30.123Z","orderId":123,"userId":"42",)"
    R"("totalAmount":"25800","currency":"KRW","items":[{"sku":"ABC-001","quantity":2}]})";

void expect_malformed(std::string_view value, const std::string& why) {
  Result<DecodedEvent> r = invalid_input("unset", "unset");
  EXPECT_NO_THROW(r = decode_event(value)) << why;
  ASSERT_FALSE(r.ok()) << why;
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput) << why;
  EXPECT_EQ(r.error().code, "MALFORMED_EVENT") << why;
  EXPECT_FALSE(r.error().message.empty()) << why;
}

TEST(EventCodec, DecodesAValidEvent) {
  auto r = decode_event(kValid);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->meta.event_id, "7f0c6a0e-1111-4222-8333-444455556666");
  EXPECT_EQ(r->meta.event_type, "ORDER_CREATED");
  EXPECT_EQ(r->meta.event_version, 1);
  EXPECT_EQ(r->meta.timestamp, "2026-11-21T10:15:30.123Z");
  EXPECT_EQ(r->body.at("orderId"), 123);
  EXPECT_EQ(r->body.at("totalAmount"), "25800");
  EXPECT_EQ(r->body.at("items").size(), 1u);
}

TEST(EventCodec, NotJson) {
  expect_malformed("", "empty");
  expect_malformed("hello", "text");
  expect_malformed(R"({"eventId":"a")", "truncated");
  expect_malformed(R"({"eventId":"a"} trailing)", "trailing garbage");
}

TEST(EventCodec, NotAnObject) {
  expect_malformed("[]", "array");
  expect_malformed(R"([{"eventId":"a"}])", "array of objects");
  expect_malformed(R"("string")", "string");
  expect_malformed("42", "number");
  expect_malformed("null", "null");
}

TEST(EventCodec, MissingEnvelopeFields) {
  for (const char* field : {"eventId", "eventType", "eventVersion", "timestamp"}) {
    auto body = nlohmann::json::parse(kValid);
    body.erase(field);
    expect_malformed(body.dump(), std::string("missing ") + field);
  }
}

TEST(EventCodec, WrongTypedEnvelopeFields) {
  auto with = [](const char* field, nlohmann::json value) {
    auto body = nlohmann::json::parse(kValid);
    body[field] = std::move(value);
    return body.dump();
  };
  expect_malformed(with("eventId", 123), "numeric eventId");
  expect_malformed(with("eventId", nullptr), "null eventId");
  expect_malformed(with("eventId", ""), "empty eventId");
  expect_malformed(with("eventType", nlohmann::json::array({"A"})), "array eventType");
  expect_malformed(with("eventType", ""), "empty eventType");
  expect_malformed(with("eventVersion", "1"), "string eventVersion");
  expect_malformed(with("eventVersion", 1.5), "fractional eventVersion");
  expect_malformed(with("eventVersion", 1.0), "float eventVersion");
  expect_malformed(with("eventVersion", true), "boolean eventVersion");
  expect_malformed(with("eventVersion", 0), "zero eventVersion");
  expect_malformed(with("eventVersion", -1), "negative eventVersion");
  expect_malformed(with("eventVersion", 1LL << 40), "huge eventVersion");
  expect_malformed(with("timestamp", 1700000000000LL), "numeric timestamp");
  expect_malformed(with("timestamp", nlohmann::json::object()), "object timestamp");
}

TEST(EventCodec, InvalidUtf8) {
  std::string value = kValid;
  value.replace(value.find("KRW"), 3, "K\xff\xfeW");
  expect_malformed(value, "invalid UTF-8 in a string");
  expect_malformed("\xc3\x28", "invalid UTF-8 outside JSON");
}

TEST(EventCodec, NeverThrowsOnHostileInput) {
  expect_malformed(std::string(100000, '['), "deep nesting");
  expect_malformed(std::string("\0\0\0", 3), "NUL bytes");
  expect_malformed(R"({"eventId":"a","eventType":"B","eventVersion":1e400,"timestamp":"t"})",
                   "overflowing number");
}

TEST(EventCodec, EncodeRoundTripsAndEnvelopeWins) {
  EventMeta meta{"id-1", "ORDER_PAID", 2, "2026-01-01T00:00:00.000Z"};
  nlohmann::json payload = {{"orderId", 7}, {"eventId", "spoofed"}, {"amount", "12.5"}};
  auto value = encode_event(meta, payload);
  auto r = decode_event(value);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->meta.event_id, "id-1");
  EXPECT_EQ(r->meta.event_type, "ORDER_PAID");
  EXPECT_EQ(r->meta.event_version, 2);
  EXPECT_EQ(r->meta.timestamp, "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(r->body.at("orderId"), 7);
  EXPECT_EQ(r->body.at("amount"), "12.5");
}

TEST(EventCodec, EncodeWithNullPayloadHasOnlyTheEnvelope) {
  auto r = decode_event(encode_event({"id", "T", 1, "ts"}, nullptr));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body.size(), 4u);
}

TEST(EventCodec, StandardHeaders) {
  EventMeta meta{"id-9", "STOCK_RESERVED", 1, "ts"};
  auto headers = standard_headers(meta, "inventory-service", "00-aaaa-bbbb-01");
  EXPECT_EQ(find_header(headers, "eventId"), "id-9");
  EXPECT_EQ(find_header(headers, "eventType"), "STOCK_RESERVED");
  EXPECT_EQ(find_header(headers, "source"), "inventory-service");
  EXPECT_EQ(find_header(headers, "traceparent"), "00-aaaa-bbbb-01");
  EXPECT_FALSE(find_header(headers, "missing").has_value());

  auto fresh = standard_headers(meta, "inventory-service");
  auto tp = find_header(fresh, "traceparent");
  ASSERT_TRUE(tp.has_value());
  EXPECT_TRUE(std::regex_match(*tp, std::regex("00-[0-9a-f]{32}-[0-9a-f]{16}-01")));
}

TEST(EventCodec, TraceparentsAreW3cAndRandom) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto tp = new_traceparent();
    EXPECT_TRUE(std::regex_match(tp, std::regex("00-[0-9a-f]{32}-[0-9a-f]{16}-01"))) << tp;
    EXPECT_NE(tp.substr(3, 32), std::string(32, '0'));
    seen.insert(tp);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(Record, FindHeaderReturnsTheFirstValue) {
  Headers headers{{"a", "1"}, {"b", "2"}, {"a", "3"}};
  EXPECT_EQ(find_header(headers, "a"), "1");
  EXPECT_EQ(find_header(headers, "b"), "2");
  EXPECT_FALSE(find_header(headers, "c").has_value());
  EXPECT_FALSE(find_header({}, "a").has_value());
}

}  // namespace
}  // namespace orderflow::messaging
