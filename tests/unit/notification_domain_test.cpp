// Unit tests of the notification domain: template rendering, the bundled template file (en, ko)
// and the mapping of consumed records to IncomingEvent. No network, no sleep.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "adapters/kafka/event_handler.h"
#include "adapters/templates/template_file.h"
#include "domain/notification.h"
#include "orderflow/common/result.h"
#include "orderflow/config/config.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/record.h"
#include "orderflow/testing/support.h"

namespace orderflow::notification {
namespace {

using nlohmann::json;

std::string templates_file() {
  return config::default_config_dir() + "/notification-templates.yaml";
}

// ---- render_template -----------------------------------------------------------------------

TEST(RenderTemplateTest, ReplacesKnownPlaceholders) {
  EXPECT_EQ(render_template("Order #{orderId}: {totalAmount} {currency}.",
                            {{"orderId", "123"}, {"totalAmount", "25800"}, {"currency", "KRW"}}),
            "Order #123: 25800 KRW.");
}

TEST(RenderTemplateTest, ReplacesEveryOccurrence) {
  EXPECT_EQ(render_template("{a}-{a}-{a}", {{"a", "x"}}), "x-x-x");
}

TEST(RenderTemplateTest, UnknownPlaceholdersStayAsWritten) {
  EXPECT_EQ(render_template("Hi {name}, order {orderId}", {{"orderId", "7"}}),
            "Hi {name}, order 7");
  EXPECT_EQ(render_template("{reason}", {}), "{reason}");
  EXPECT_EQ(render_template("{}", {}), "{}");
}

TEST(RenderTemplateTest, TextWithoutPlaceholdersIsUnchanged) {
  EXPECT_EQ(render_template("", {{"a", "b"}}), "");
  EXPECT_EQ(render_template("plain text", {{"a", "b"}}), "plain text");
}

TEST(RenderTemplateTest, UnbalancedBracesStay) {
  EXPECT_EQ(render_template("{orderId", {{"orderId", "1"}}), "{orderId");
  EXPECT_EQ(render_template("orderId}", {{"orderId", "1"}}), "orderId}");
  EXPECT_EQ(render_template("} {orderId} {", {{"orderId", "1"}}), "} 1 {");
  EXPECT_EQ(render_template("{x {orderId}", {{"orderId", "1"}}), "{x 1");
}

TEST(RenderTemplateTest, AdjacentBraces) {
  EXPECT_EQ(render_template("{{orderId}}", {{"orderId", "5"}}), "{5}");
  EXPECT_EQ(render_template("{a}{b}", {{"a", "1"}, {"b", "2"}}), "12");
  EXPECT_EQ(render_template("{a}}{b}", {{"a", "1"}, {"b", "2"}}), "1}2");
  EXPECT_EQ(render_template("{{a}{b}}", {{"a", "1"}, {"b", "2"}}), "{12}");
}

TEST(RenderTemplateTest, ValuesAreNotRenderedAgain) {
  EXPECT_EQ(render_template("{a}", {{"a", "{b}"}, {"b", "no"}}), "{b}");
}

TEST(RenderTemplateTest, KoreanText) {
  EXPECT_EQ(render_template("주문이 생성되었습니다. 주문번호: {orderId}, 금액: {totalAmount}원",
                            {{"orderId", "12345"}, {"totalAmount", "25800"}}),
            "주문이 생성되었습니다. 주문번호: 12345, 금액: 25800원");
  EXPECT_EQ(render_template("{이름}님, {orderId}", {{"이름", "홍길동"}, {"orderId", "1"}}),
            "홍길동님, 1");
}

// ---- Templates -----------------------------------------------------------------------------

IncomingEvent event_of(std::string type, std::map<std::string, std::string> fields) {
  IncomingEvent e;
  e.event_id = "e-1";
  e.event_type = std::move(type);
  e.order_id = 1;
  e.user_id = "u-1";
  e.fields = std::move(fields);
  return e;
}

TEST(TemplatesTest, RendersByEventType) {
  Templates t(std::map<std::string, std::string>{{"ORDER_CREATED", "created {orderId}"},
                                                 {"ORDER_PAID", "paid {orderId}"}});
  EXPECT_TRUE(t.has("ORDER_CREATED"));
  EXPECT_FALSE(t.has("STOCK_RESERVED"));
  EXPECT_EQ(t.render(event_of("ORDER_CREATED", {{"orderId", "9"}})), "created 9");
  EXPECT_EQ(t.render(event_of("ORDER_PAID", {{"orderId", "9"}})), "paid 9");
}

TEST(TemplatesTest, NoTemplateMeansNoNotification) {
  Templates t(std::map<std::string, std::string>{{"ORDER_CREATED", "created"}});
  EXPECT_FALSE(t.render(event_of("STOCK_RESERVED", {})).has_value());
  EXPECT_FALSE(Templates{}.render(event_of("ORDER_CREATED", {})).has_value());
  EXPECT_FALSE(Templates{}.has("ORDER_CREATED"));
}

// ---- load_templates (config/notification-templates.yaml) -----------------------------------

TEST(TemplateFileTest, KoreanOrderCreatedIsSeed001sMessage) {
  auto ko = load_templates(templates_file(), "ko");
  auto text =
      ko.render(event_of("ORDER_CREATED", {{"orderId", "12345"}, {"totalAmount", "25800"}}));
  ASSERT_TRUE(text.has_value());
  // Seed 001: String.format("주문이 생성되었습니다. 주문번호: %d, 금액: %s원", orderId,
  // totalAmount)
  EXPECT_EQ(*text, "주문이 생성되었습니다. 주문번호: 12345, 금액: 25800원");
  EXPECT_EQ(text->rfind("주문이 생성되었습니다", 0), 0u);  // seed 001's assertion
}

TEST(TemplateFileTest, EnglishOrderCreated) {
  auto en = load_templates(templates_file(), "en");
  auto text = en.render(
      event_of("ORDER_CREATED", {{"orderId", "7"}, {"totalAmount", "200"}, {"currency", "KRW"}}));
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(*text, "Your order #7 has been placed. Total: 200 KRW.");
}

TEST(TemplateFileTest, BothLocalesCoverTheOrderLifecycle) {
  for (const char* locale : {"en", "ko"}) {
    SCOPED_TRACE(locale);
    auto t = load_templates(templates_file(), locale);
    for (const char* type : {"ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_PAID", "ORDER_COMPLETED",
                             "ORDER_CANCELLED", "PAYMENT_REFUNDED"}) {
      EXPECT_TRUE(t.has(type)) << type;
    }
    // Every placeholder used is filled by an event field: nothing stays in braces.
    std::map<std::string, std::string> all = {{"orderId", "1"},     {"userId", "u"},
                                              {"totalAmount", "2"}, {"currency", "KRW"},
                                              {"reason", "R"},      {"amount", "3"}};
    for (const char* type : {"ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_PAID", "ORDER_COMPLETED",
                             "ORDER_CANCELLED", "PAYMENT_REFUNDED"}) {
      auto text = t.render(event_of(type, all));
      ASSERT_TRUE(text.has_value()) << type;
      EXPECT_EQ(text->find('{'), std::string::npos) << type << ": " << *text;
    }
  }
}

TEST(TemplateFileTest, UnknownLocaleOrFileThrowsConfigError) {
  EXPECT_THROW(load_templates(templates_file(), "fr"), config::ConfigError);
  orderflow::testing::TempDir dir;
  EXPECT_THROW(load_templates(dir.file("missing.yaml"), "en"), config::ConfigError);
}

// ---- to_incoming_event ---------------------------------------------------------------------

messaging::ConsumedRecord record_of(const std::string& value) {
  messaging::ConsumedRecord r;
  r.topic = "orders.v1";
  r.partition = 1;
  r.offset = 42;
  r.key = "123";
  r.value = value;
  return r;
}

messaging::ConsumedRecord event_record(const json& payload,
                                       const std::string& type = "ORDER_CREATED") {
  messaging::EventMeta meta{"7f0c5a2e-0000-4000-8000-000000000001", type, 1,
                            "2026-11-21T10:15:30.123Z"};
  auto r = record_of(messaging::encode_event(meta, payload));
  r.headers = messaging::standard_headers(meta, "order-service");
  return r;
}

json order_created_payload() {
  return {{"orderId", 123},
          {"userId", "42"},
          {"totalAmount", "25800"},
          {"currency", "KRW"},
          {"items", json::array({{{"sku", "ABC-001"}, {"quantity", 2}, {"unitPrice", "12900"}}})}};
}

void expect_malformed(const messaging::ConsumedRecord& record) {
  auto e = to_incoming_event(record);
  ASSERT_FALSE(e.ok()) << "accepted " << record.value;
  EXPECT_EQ(e.error().kind, ErrorKind::kInvalidInput) << e.error().message;
  EXPECT_EQ(e.error().code, "MALFORMED_EVENT") << e.error().message;
  EXPECT_FALSE(e.error().retryable());
}

TEST(IncomingEventTest, ValidOrderCreated) {
  auto e = to_incoming_event(event_record(order_created_payload()));
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->event_id, "7f0c5a2e-0000-4000-8000-000000000001");
  EXPECT_EQ(e->event_type, "ORDER_CREATED");
  EXPECT_EQ(e->order_id, 123);
  EXPECT_EQ(e->user_id, "42");
  EXPECT_EQ(e->fields.at("orderId"), "123");
  EXPECT_EQ(e->fields.at("userId"), "42");
  EXPECT_EQ(e->fields.at("totalAmount"), "25800");
  EXPECT_EQ(e->fields.at("currency"), "KRW");
  EXPECT_FALSE(e->fields.contains("items"));  // not a scalar

  auto ko = load_templates(templates_file(), "ko");
  EXPECT_EQ(ko.render(e.value()), "주문이 생성되었습니다. 주문번호: 123, 금액: 25800원");
}

TEST(IncomingEventTest, IntegerUserId) {
  auto payload = order_created_payload();
  payload["userId"] = 42;
  auto e = to_incoming_event(event_record(payload));
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->user_id, "42");
  EXPECT_EQ(e->order_id, 123);
}

TEST(IncomingEventTest, NotJsonIsMalformed) {
  expect_malformed(record_of("not json"));
  expect_malformed(record_of(""));
  expect_malformed(record_of("{\"eventId\":"));
  expect_malformed(record_of("[1,2,3]"));
  expect_malformed(record_of(std::string("\xff\xfe{}", 4)));
}

TEST(IncomingEventTest, MissingEnvelopeIsMalformed) {
  expect_malformed(record_of(R"({"orderId":1,"userId":"u"})"));
  auto no_id = order_created_payload();
  no_id["eventType"] = "ORDER_CREATED";
  no_id["eventVersion"] = 1;
  no_id["timestamp"] = "2026-11-21T10:15:30.123Z";
  expect_malformed(record_of(no_id.dump()));
}

TEST(IncomingEventTest, MissingOrderIdIsMalformed) {
  auto payload = order_created_payload();
  payload.erase("orderId");
  expect_malformed(event_record(payload));
}

TEST(IncomingEventTest, OrderIdOfTheWrongTypeIsMalformed) {
  // The shared rule (docs/events.md): a positive JSON integer; "123" is a string, not one.
  for (const json& bad : {json{{"id", 1}}, json::array({1}), json(true), json(1.5), json("12a"),
                          json(""), json(nullptr), json("123"), json(0), json(-5)}) {
    SCOPED_TRACE(bad.dump());
    auto payload = order_created_payload();
    payload["orderId"] = bad;
    expect_malformed(event_record(payload));
  }
}

TEST(IncomingEventTest, UserIdOfTheWrongTypeIsMalformed) {
  // to_incoming_event's contract: userId is a string or an integer.
  for (const json& bad : {json::array({"42"}), json{{"id", "42"}}, json(true), json(4.2)}) {
    SCOPED_TRACE(bad.dump());
    auto payload = order_created_payload();
    payload["userId"] = bad;
    expect_malformed(event_record(payload));
  }
}

TEST(IncomingEventTest, ATypeWithoutADecoderNeedsOnlyAnOrderId) {
  auto e = to_incoming_event(event_record({{"orderId", 123}, {"note", "hi"}}, "POINTS_ADDED"));
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->order_id, 123);
  EXPECT_EQ(e->user_id, "");
  EXPECT_EQ(e->fields.at("note"), "hi");
  expect_malformed(event_record({{"userId", "42"}}, "POINTS_ADDED"));
  expect_malformed(event_record({{"orderId", "123"}}, "POINTS_ADDED"));
}

TEST(IncomingEventTest, AKnownTypeIsJudgedByItsSharedDecoder) {
  auto no_items = order_created_payload();
  no_items.erase("items");
  expect_malformed(event_record(no_items));
  messaging::EventMeta v2{"7f0c5a2e-0000-4000-8000-000000000002", "ORDER_CREATED", 2,
                          "2026-11-21T10:15:30.123Z"};
  auto e = to_incoming_event(record_of(messaging::encode_event(v2, order_created_payload())));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "UNSUPPORTED_EVENT_VERSION");
  EXPECT_EQ(e.error().kind, ErrorKind::kInvalidInput);
}

TEST(IncomingEventTest, EventTypeComesFromTheValue) {
  auto e = to_incoming_event(event_record(order_created_payload(), "ORDER_PAID"));
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->event_type, "ORDER_PAID");
}

}  // namespace
}  // namespace orderflow::notification
