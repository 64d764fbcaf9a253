// Unit tests of the notification domain: template rendering, the bundled template file (en, ko)
// and the mapping of consumed records to IncomingEvent. No network, no sleep.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "adapters/kafka/event_handler.h"
#include "adapters/notifier/http_notifier.h"
#include "adapters/templates/template_file.h"
#include "domain/notification.h"
#include "orderflow/common/result.h"
#include "orderflow/config/config.h"
#include "orderflow/http/outbound.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/idempotency_store.h"
#include "orderflow/messaging/record.h"
#include "orderflow/testing/support.h"
#include "settings.h"

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

  // Its delivery is a span of the event's trace (docs/events.md "Trace context").
  auto record = event_record(order_created_payload());
  const auto parent = messaging::find_header(record.headers, "traceparent").value();
  auto traced = to_incoming_event(record);
  ASSERT_TRUE(traced.ok());
  EXPECT_EQ(traced->traceparent.substr(0, 36), parent.substr(0, 36)) << "the event's trace";
  EXPECT_NE(traced->traceparent, parent) << "a span of its own";

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

// ---- Issue 13: configuration of channels, sink and idempotency store; payload helpers. ----

NotificationSettings settings_with(std::vector<std::string> overrides) {
  return read_notification_settings(config::Source::load("", {}, std::move(overrides)));
}

// The message of the ConfigError read_notification_settings throws ("" when none).
std::string config_error(std::vector<std::string> overrides) {
  try {
    settings_with(std::move(overrides));
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(NotificationSettingsTest, DefaultsAreTheLogChannelTheDatabaseStoreAndNoSink) {
  auto s = settings_with({});
  EXPECT_EQ(s.channels, std::vector<std::string>{"log"});
  EXPECT_FALSE(s.sink_enabled);
  EXPECT_EQ(s.sink_group, "data-platform-sink");
  EXPECT_EQ(s.idempotency_store, "db");
  EXPECT_EQ(s.redis.ttl, std::chrono::hours{24});
}

TEST(NotificationSettingsTest, ReadsEveryChannelTheSinkAndRedis) {
  auto s =
      settings_with({"notification.channels=log, webhook,discord,slack",
                     "notification.webhook.url=https://hooks.example/a",
                     "notification.discord.url=https://discord.example/api/webhooks/1/t",
                     "notification.slack.url=http://127.0.0.1:9/slack", "sink.enabled=true",
                     "sink.url=https://platform.example/orders", "sink.group_id=platform-b",
                     "idempotency.store=redis", "redis.url=redis://127.0.0.1:6380/2",
                     "redis.key_prefix=kafka:reservation:processed:", "redis.ttl_ms=604800000"});
  EXPECT_EQ(s.channels, (std::vector<std::string>{"log", "webhook", "discord", "slack"}));
  EXPECT_EQ(s.url_of("discord"), "https://discord.example/api/webhooks/1/t");
  EXPECT_EQ(s.url_of("log"), "");
  EXPECT_TRUE(s.sink_enabled);
  EXPECT_EQ(s.sink_url, "https://platform.example/orders");
  EXPECT_EQ(s.sink_group, "platform-b");
  EXPECT_EQ(s.idempotency_store, "redis");
  EXPECT_EQ(s.redis.key_prefix, "kafka:reservation:processed:");
  EXPECT_EQ(s.redis.ttl, std::chrono::hours{24 * 7});
}

TEST(NotificationSettingsTest, AnUnknownChannelStopsStartUpNamingIt) {
  auto message = config_error({"notification.channels=log,pigeon"});
  EXPECT_NE(message.find("notification.channels: unknown channel 'pigeon'"), std::string::npos)
      << message;
  EXPECT_NE(config_error({"notification.channels=log,log"}).find("listed twice"),
            std::string::npos);
}

TEST(NotificationSettingsTest, AnInvalidOrMissingUrlStopsStartUpNamingIt) {
  auto bad = config_error(
      {"notification.channels=discord", "notification.discord.url=ftp://discord.example/x"});
  EXPECT_NE(bad.find("notification.discord.url"), std::string::npos) << bad;
  EXPECT_NE(bad.find("'ftp://discord.example/x'"), std::string::npos) << bad;
  auto not_url = config_error({"notification.channels=slack", "notification.slack.url=hooks"});
  EXPECT_NE(not_url.find("notification.slack.url: invalid URL 'hooks'"), std::string::npos)
      << not_url;
  auto missing = config_error({"notification.channels=webhook"});
  EXPECT_NE(missing.find("notification.webhook.url is required"), std::string::npos) << missing;
  auto sink = config_error({"sink.enabled=true", "sink.url=platform.example"});
  EXPECT_NE(sink.find("sink.url"), std::string::npos) << sink;
  // A URL for a channel that is not listed is not checked; a disabled sink's neither.
  EXPECT_EQ(config_error({"notification.slack.url=x", "sink.url=y"}), "");
}

TEST(NotificationSettingsTest, AnInvalidRedisUrlOrStoreStopsStartUp) {
  auto url = config_error({"idempotency.store=redis", "redis.url=http://127.0.0.1:6379"});
  EXPECT_NE(url.find("redis.url"), std::string::npos) << url;
  auto port = config_error({"idempotency.store=redis", "redis.url=redis://h:99999/0"});
  EXPECT_NE(port.find("port"), std::string::npos) << port;
  EXPECT_NE(config_error({"idempotency.store=memcached"}).find("idempotency.store"),
            std::string::npos);
}

TEST(RedisUrlTest, HostPortAndDatabase) {
  auto full = messaging::parse_redis_url("redis://cache.local:6380/3");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->host, "cache.local");
  EXPECT_EQ(full->port, 6380);
  EXPECT_EQ(full->db, 3);
  auto bare = messaging::parse_redis_url("redis://127.0.0.1");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 6379);
  EXPECT_EQ(bare->db, 0);
  for (const char* bad : {"127.0.0.1:6379", "redis://", "redis://h:x/0", "redis://h:1/db"}) {
    auto r = messaging::parse_redis_url(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "INVALID_REDIS_URL");
  }
}

TEST(OutboundTest, StatusErrorsAreRetryableOnlyFor5xxTimeoutsAndThrottling) {
  for (int status : {500, 502, 503, 408, 429}) {
    EXPECT_TRUE(http::status_error("x", {status, "b", false}).retryable()) << status;
  }
  for (int status : {400, 401, 404, 410, 422}) {
    auto e = http::status_error("sink", {status, "nope", true});
    EXPECT_FALSE(e.retryable()) << status;
    EXPECT_EQ(e.code, "HTTP_" + std::to_string(status));
    EXPECT_EQ(e.message, "sink answered HTTP " + std::to_string(status) + ": nope…");
  }
}

TEST(PayloadTest, DiscordContentIsCutToItsLimitWithoutSplittingACharacter) {
  Notification n;
  n.type = "ORDER_CREATED";
  n.message = std::string(1999, 'a') + "한";  // 1999 + 3 bytes
  auto p = discord_payload(n);
  EXPECT_EQ(p["content"].get<std::string>(), std::string(1999, 'a'));
  EXPECT_EQ(p["embeds"][0]["description"], n.message);
  EXPECT_EQ(slack_payload(n)["text"], n.message);
  EXPECT_TRUE(payload_for("webhook"));
  EXPECT_FALSE(payload_for("log"));
}

}  // namespace
}  // namespace orderflow::notification
