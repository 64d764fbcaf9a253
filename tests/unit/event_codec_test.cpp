#include "orderflow/messaging/event_codec.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "orderflow/messaging/event_decoders.h"
#include "orderflow/observability/trace_context.h"

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
  EXPECT_EQ(r->body.field_json("orderId"), "123");
  EXPECT_EQ(r->body.field_json("totalAmount"), "\"25800\"");
  EXPECT_EQ(r->body.field_json("items"), R"([{"sku":"ABC-001","quantity":2}])");
  EXPECT_EQ(r->body.field_json("absent"), std::nullopt);
  EXPECT_EQ(r->body.size(), 9u);
}

// What a notification template can name: the scalar fields as text, in document order.
TEST(EventCodec, ScalarFieldsAreTheTopLevelStringsNumbersAndBooleans) {
  auto r = decode_event(
      R"({"eventId":"e","eventType":"T","eventVersion":1,"timestamp":"t","orderId":7,)"
      R"("amount":"12.5","rate":0.5,"paid":true,"note":null,"items":[1],"meta":{"a":1}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<std::pair<std::string, std::string>> expected = {
      {"eventId", "e"}, {"eventType", "T"}, {"eventVersion", "1"}, {"timestamp", "t"},
      {"orderId", "7"}, {"amount", "12.5"}, {"rate", "0.5"},       {"paid", "true"}};
  EXPECT_EQ(r->body.scalar_fields(), expected);
  EXPECT_TRUE(DecodedEvent{}.body.scalar_fields().empty());
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
  EXPECT_EQ(r->body.field_json("orderId"), "7");
  EXPECT_EQ(r->body.field_json("amount"), "\"12.5\"");
}

TEST(EventCodec, EncodeWithNullPayloadHasOnlyTheEnvelope) {
  auto r = decode_event(encode_event({"id", "T", 1, "ts"}, nullptr));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body.size(), 4u);
}

const std::regex kTraceparent("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");
constexpr const char* kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(EventCodec, StandardHeaders) {
  EventMeta meta{"id-9", "STOCK_RESERVED", 1, "ts"};
  auto headers = standard_headers(meta, "inventory-service", kParent);
  EXPECT_EQ(find_header(headers, "eventId"), "id-9");
  EXPECT_EQ(find_header(headers, "eventType"), "STOCK_RESERVED");
  EXPECT_EQ(find_header(headers, "source"), "inventory-service");
  EXPECT_EQ(find_header(headers, "traceparent"), kParent) << "the producer's span, as given";
  EXPECT_FALSE(find_header(headers, "missing").has_value());

  // Without a valid traceparent a record still carries one: a new trace.
  for (const std::string& bad : {std::string(), std::string("00-aaaa-bbbb-01")}) {
    auto fresh = standard_headers(meta, "inventory-service", bad);
    auto tp = find_header(fresh, "traceparent");
    ASSERT_TRUE(tp.has_value());
    EXPECT_TRUE(std::regex_match(*tp, std::regex("00-[0-9a-f]{32}-[0-9a-f]{16}-01"))) << *tp;
  }
}

// ---- W3C trace context (observability/trace_context.h) -----------------------------------------

TEST(TraceContext, ParsesAndFormatsAVersion00Traceparent) {
  auto parsed = observability::parse_traceparent(kParent);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(parsed->span_id, "00f067aa0ba902b7");
  EXPECT_EQ(parsed->flags, "01");
  EXPECT_EQ(parsed->traceparent(), kParent) << "format(parse(x)) == x";
  auto unsampled =
      observability::parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
  ASSERT_TRUE(unsampled.has_value());
  EXPECT_EQ(unsampled->flags, "00");
}

TEST(TraceContext, NewTracesAreW3cAndRandom) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto tp = observability::new_traceparent();
    EXPECT_TRUE(std::regex_match(tp, std::regex("00-[0-9a-f]{32}-[0-9a-f]{16}-01"))) << tp;
    EXPECT_TRUE(observability::parse_traceparent(tp).has_value()) << tp;
    seen.insert(tp);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(TraceContext, ChildKeepsTheTraceAndFlagsWithANewSpan) {
  std::set<std::string> spans;
  for (const std::string& parent :
       {std::string(kParent), std::string("00-0af7651916cd43dd8448eb211c80319c-"
                                          "b7ad6b7169203331-00")}) {
    SCOPED_TRACE(parent);
    for (int i = 0; i < 20; ++i) {
      auto child = observability::child_traceparent(parent);
      ASSERT_TRUE(std::regex_match(child, kTraceparent)) << child;
      EXPECT_EQ(child.substr(0, 36), parent.substr(0, 36)) << "same version and trace-id";
      EXPECT_EQ(child.substr(52), parent.substr(52)) << "same trace-flags";
      EXPECT_NE(child.substr(36, 16), parent.substr(36, 16)) << "a span of its own";
      EXPECT_NE(child.substr(36, 16), std::string(16, '0'));
      spans.insert(child.substr(36, 16));
    }
  }
  EXPECT_EQ(spans.size(), 40u) << "every child is a new span";
  auto parent = observability::parse_traceparent(kParent).value();
  auto child = observability::child_of(parent);
  EXPECT_EQ(child.trace_id, parent.trace_id);
  EXPECT_EQ(child.flags, parent.flags);
  EXPECT_NE(child.span_id, parent.span_id);
}

TEST(TraceContext, InvalidTraceparentsAreRefusedAndStartANewTrace) {
  const std::string parent = kParent;
  auto with = [&](std::size_t at, const std::string& part) {
    auto bad = parent;
    bad.replace(at, part.size(), part);
    return bad;
  };
  for (const std::string& bad :
       {std::string(), std::string("garbage"), std::string("00-abc-01"),  // wrong lengths
        parent + "-extra", parent.substr(0, 54), parent + "0",
        "00-" + std::string(31, 'a') + "-" + std::string(17, 'b') + "-01",  // shifted dashes
        with(0, "01"), with(0, "ff"),  // another version; ff is invalid in every version
        with(3, std::string(32, '0')), with(36, std::string(16, '0')),  // all-zero ids
        with(3, "4BF92F35"), with(53, "0A"),                            // upper case
        with(10, "xyz"), with(40, "g"), with(53, "zz"),                 // not hex
        with(2, "_"), with(35, "_"), with(52, "_")}) {                  // separators
    SCOPED_TRACE(bad);
    EXPECT_FALSE(observability::parse_traceparent(bad).has_value());
    EXPECT_EQ(observability::trace_id_of(bad), "")
        << "log lines carry no trace of an invalid traceparent";
    auto child = observability::child_traceparent(bad);
    ASSERT_TRUE(std::regex_match(child, kTraceparent)) << child;
    EXPECT_TRUE(child.ends_with("-01")) << "a new trace is sampled";
    EXPECT_NE(child.substr(3, 32), parent.substr(3, 32)) << "not the broken parent's trace";
    auto own = observability::traceparent_or_new(bad);
    ASSERT_TRUE(std::regex_match(own, kTraceparent)) << own;
    EXPECT_NE(own.substr(3, 32), parent.substr(3, 32));
  }
  EXPECT_EQ(observability::traceparent_or_new(parent), parent) << "a valid one is kept";
  EXPECT_NE(observability::child_traceparent(""), observability::child_traceparent(""))
      << "each new trace is its own";
}

TEST(TraceContext, TraceIdOfIsTheTraceOfAValidTraceparent) {
  const std::string parent = kParent;
  EXPECT_EQ(observability::trace_id_of(parent), parent.substr(3, 32));
  EXPECT_EQ(observability::trace_id_of(observability::child_traceparent(parent)),
            parent.substr(3, 32));
}

TEST(ChildTraceparent, OfARecordUsesItsTraceparentHeader) {
  ConsumedRecord record;
  auto fresh = child_traceparent(record);
  EXPECT_TRUE(std::regex_match(fresh, kTraceparent)) << fresh;
  record.headers = {{"eventId", "e"}, {"traceparent", kParent}};
  auto child = child_traceparent(record);
  EXPECT_EQ(child.substr(0, 36), std::string(kParent).substr(0, 36));
  EXPECT_NE(child, kParent);
}

// ---- typed decoders ----------------------------------------------------------------------------

using nlohmann::json;

// A value as its producer writes it, decoded as a consumer of the record keyed `key` gets it.
DecodedEvent event_of(const std::string& type, const json& payload, int version = 1,
                      const std::string& key = "123") {
  auto decoded =
      decode_event(encode_event({"e-1", type, version, "2026-11-21T10:15:30.123Z"}, payload));
  if (!decoded) throw std::runtime_error(decoded.error().message);
  decoded->key = key;
  return decoded.value();
}

json items_json(bool unit_price) {
  json item = {{"sku", "ABC-001"}, {"quantity", 2}};
  if (unit_price) item["unitPrice"] = "12900";
  return json::array({item});
}

// Every event type with the fields its producer emits (docs/events.md).
const std::map<std::string, json>& valid_payloads() {
  static const std::map<std::string, json> kPayloads = [] {
    const json order = {
        {"orderId", 123}, {"userId", "42"}, {"totalAmount", "25800"}, {"currency", "KRW"}};
    std::map<std::string, json> p;
    p["ORDER_CREATED"] = order;
    p["ORDER_CREATED"]["items"] = items_json(true);
    p["ORDER_CREATED"]["customerEmail"] = "a@example.com";
    for (const char* type : {"ORDER_CONFIRMED", "ORDER_PAID", "ORDER_COMPLETED"}) p[type] = order;
    p["ORDER_CANCELLED"] = order;
    p["ORDER_CANCELLED"]["reason"] = "USER_REQUESTED";
    p["ORDER_CANCELLED"]["previousStatus"] = "CONFIRMED";
    p["STOCK_RESERVED"] = order;
    p["STOCK_RESERVED"]["items"] = items_json(false);
    p["STOCK_RESERVED"]["expiresAt"] = "2026-11-21T10:30:30.123Z";
    p["STOCK_REJECTED"] = {
        {"orderId", 123}, {"userId", "42"}, {"reason", "OUT_OF_STOCK"}, {"sku", "ABC-001"}};
    p["STOCK_DEDUCTED"] = {{"orderId", 123}, {"userId", "42"}, {"items", items_json(false)}};
    p["STOCK_RELEASED"] = {
        {"orderId", 123}, {"userId", "42"}, {"reason", "EXPIRED"}, {"items", items_json(false)}};
    p["STOCK_DEDUCTION_FAILED"] = {
        {"orderId", 123}, {"userId", "42"}, {"reason", "RESERVATION_EXPIRED"}};
    const json payment = {
        {"orderId", 123}, {"userId", "42"}, {"amount", "25800"}, {"currency", "KRW"}};
    p["PAYMENT_COMPLETED"] = payment;
    p["PAYMENT_COMPLETED"]["paymentId"] = "pay-1";
    p["PAYMENT_FAILED"] = payment;
    p["PAYMENT_FAILED"]["reason"] = "AMOUNT_LIMIT_EXCEEDED";
    p["PAYMENT_REFUNDED"] = payment;
    p["PAYMENT_REFUNDED"]["paymentId"] = "pay-1";
    p["PAYMENT_REFUNDED"]["reason"] = "ORDER_CANCELLED";
    return p;
  }();
  return kPayloads;
}

// The fields a decoder requires (docs/events.md "Decoding rules").
const std::map<std::string, std::set<std::string>> kRequired = {
    {"ORDER_CREATED", {"orderId", "userId", "totalAmount", "currency", "items"}},
    {"ORDER_CONFIRMED", {"orderId"}},
    {"ORDER_PAID", {"orderId"}},
    {"ORDER_COMPLETED", {"orderId"}},
    {"ORDER_CANCELLED", {"orderId", "userId"}},
    {"STOCK_RESERVED", {"orderId", "userId", "totalAmount", "currency"}},
    {"STOCK_REJECTED", {"orderId"}},
    {"STOCK_DEDUCTED", {"orderId"}},
    {"STOCK_RELEASED", {"orderId"}},
    {"STOCK_DEDUCTION_FAILED", {"orderId"}},
    {"PAYMENT_COMPLETED", {"orderId"}},
    {"PAYMENT_FAILED", {"orderId"}},
    {"PAYMENT_REFUNDED", {"orderId"}},
};

// Values each field must refuse, by field name (one rule per kind of field).
std::vector<json> bad_values(const std::string& field) {
  const std::vector<json> identifier = {json(""), json(true), json(1.5), json::array({"42"}),
                                        json::object()};
  const std::vector<json> money = {json(25800),      json(258.5), json("1e3"),
                                   json("12.34567"), json("abc"), json("")};
  const std::vector<json> text = {json(1), json(true), json::array(), json::object()};
  if (field == "orderId") {
    return {json("123"), json(0),     json(-1),           json(1.5),
            json(true),  json("abc"), json::array({123}), json(9223372036854775808ULL)};
  }
  if (field == "userId" || field == "sku" || field == "paymentId") return identifier;
  if (field == "totalAmount" || field == "amount") return money;
  if (field == "currency") return {json("krw"), json("KR"), json("KRWW"), json(410), json("")};
  if (field == "items") {
    return {json("ABC-001"),
            json::object(),
            json::array({1}),
            json::array({{{"sku", "A"}}}),
            json::array({{{"quantity", 1}}}),
            json::array({{{"sku", "A"}, {"quantity", 0}}}),
            json::array({{{"sku", "A"}, {"quantity", "1"}}}),
            json::array({{{"sku", ""}, {"quantity", 1}}}),
            json::array({{{"sku", "A"}, {"quantity", 1}, {"unitPrice", 12.5}}})};
  }
  return text;  // reason, previousStatus, expiresAt, customerEmail
}

void expect_error(const Result<std::optional<TypedEvent>>& r, const std::string& code,
                  const std::string& message_start) {
  ASSERT_FALSE(r.ok()) << "accepted";
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput) << r.error().message;
  EXPECT_EQ(r.error().code, code) << r.error().message;
  EXPECT_TRUE(r.error().message.starts_with(message_start)) << r.error().message;
}

TEST(EventDecoders, EveryTypeDecodesWhatItsProducerEmits) {
  ASSERT_EQ(valid_payloads().size(), 13u);
  for (const auto& [type, payload] : valid_payloads()) {
    SCOPED_TRACE(type);
    auto r = decode_typed(event_of(type, payload));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r->has_value());
    auto ref = order_ref_of(**r);
    EXPECT_EQ(ref.order_id, 123);
    EXPECT_EQ(ref.user_id, "42");
    EXPECT_EQ(ref.meta.event_type, type);
    EXPECT_EQ(ref.meta.event_id, "e-1");
  }
}

TEST(EventDecoders, TypedFieldsAreRead) {
  auto created =
      decode_order_created(event_of("ORDER_CREATED", valid_payloads().at("ORDER_CREATED")));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->total_amount, Decimal::from_integer(25800));
  EXPECT_EQ(created->currency, "KRW");
  ASSERT_EQ(created->items.size(), 1u);
  EXPECT_EQ(created->items[0].sku, "ABC-001");
  EXPECT_EQ(created->items[0].quantity, 2);
  EXPECT_EQ(created->items[0].unit_price, Decimal::from_integer(12900));
  EXPECT_EQ(created->customer_email, "a@example.com");

  auto reserved =
      decode_stock_reserved(event_of("STOCK_RESERVED", valid_payloads().at("STOCK_RESERVED")));
  ASSERT_TRUE(reserved.ok()) << reserved.error().message;
  EXPECT_EQ(reserved->expires_at, "2026-11-21T10:30:30.123Z");
  EXPECT_FALSE(reserved->items.at(0).unit_price.has_value());

  auto paid = decode_payment_completed(
      event_of("PAYMENT_COMPLETED", valid_payloads().at("PAYMENT_COMPLETED")));
  ASSERT_TRUE(paid.ok()) << paid.error().message;
  EXPECT_EQ(paid->amount, Decimal::parse("25800"));
  EXPECT_EQ(paid->payment_id, "pay-1");

  auto cancelled =
      decode_order_cancelled(event_of("ORDER_CANCELLED", valid_payloads().at("ORDER_CANCELLED")));
  ASSERT_TRUE(cancelled.ok()) << cancelled.error().message;
  EXPECT_EQ(cancelled->reason, "USER_REQUESTED");
  EXPECT_EQ(cancelled->previous_status, "CONFIRMED");
  EXPECT_EQ(cancelled->total_amount, Decimal::from_integer(25800));

  auto released =
      decode_stock_released(event_of("STOCK_RELEASED", valid_payloads().at("STOCK_RELEASED")));
  ASSERT_TRUE(released.ok()) << released.error().message;
  EXPECT_EQ(released->reason, "EXPIRED");
}

TEST(EventDecoders, OtherAcceptedForms) {
  auto payload = valid_payloads().at("ORDER_CREATED");
  payload["userId"] = 42;                      // an integer identifier, kept as text
  payload["items"][0]["sku"] = 1001;           // likewise
  payload["orderId"] = 9223372036854775807LL;  // the largest orderId
  payload["customerEmail"] = nullptr;          // null = absent
  payload["totalAmount"] = "25800.5";          // up to 4 fractional digits
  auto created = decode_order_created(event_of("ORDER_CREATED", payload, 1, "9223372036854775807"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->user_id, "42");
  EXPECT_EQ(created->items[0].sku, "1001");
  EXPECT_EQ(created->order_id, 9223372036854775807LL);
  EXPECT_EQ(created->customer_email, "");
  EXPECT_EQ(created->total_amount, Decimal::parse("25800.5"));

  payload["items"] = json::array();  // an order may have no lines
  EXPECT_TRUE(decode_order_created(event_of("ORDER_CREATED", payload, 1, "")).ok());
}

TEST(EventDecoders, AMissingRequiredFieldIsMalformedAndNamesIt) {
  for (const auto& [type, payload] : valid_payloads()) {
    for (const auto& field : kRequired.at(type)) {
      SCOPED_TRACE(type + " without " + field);
      auto without = payload;
      without.erase(field);
      expect_error(decode_typed(event_of(type, without)), "MALFORMED_EVENT", field + ": ");
      without[field] = nullptr;
      expect_error(decode_typed(event_of(type, without)), "MALFORMED_EVENT", field + ": ");
    }
  }
}

TEST(EventDecoders, AnOptionalFieldMayBeAbsent) {
  for (const auto& [type, payload] : valid_payloads()) {
    for (const auto& [field, value] : payload.items()) {
      if (kRequired.at(type).contains(field)) continue;
      SCOPED_TRACE(type + " without " + field);
      auto without = payload;
      without.erase(field);
      auto r = decode_typed(event_of(type, without));
      EXPECT_TRUE(r.ok()) << r.error().message;
    }
  }
}

TEST(EventDecoders, AFieldOfTheWrongTypeOrFormIsMalformedAndNamesIt) {
  for (const auto& [type, payload] : valid_payloads()) {
    for (const auto& [field, value] : payload.items()) {
      for (const auto& bad : bad_values(field)) {
        SCOPED_TRACE(type + " " + field + " = " + bad.dump());
        auto changed = payload;
        changed[field] = bad;
        expect_error(decode_typed(event_of(type, changed, 1, "")), "MALFORMED_EVENT", field);
      }
    }
  }
}

TEST(EventDecoders, OrderIdMustBeTheRecordKey) {
  const auto& payload = valid_payloads().at("STOCK_RESERVED");
  EXPECT_TRUE(decode_typed(event_of("STOCK_RESERVED", payload, 1, "123")).ok());
  EXPECT_TRUE(decode_typed(event_of("STOCK_RESERVED", payload, 1, "")).ok()) << "no key";
  for (const char* key : {"124", "0123", "order-123", " 123"}) {
    SCOPED_TRACE(key);
    expect_error(decode_typed(event_of("STOCK_RESERVED", payload, 1, key)), "MALFORMED_EVENT",
                 "orderId: ");
  }
}

TEST(EventDecoders, AVersionAboveTheSupportedOneIsRefusedFirst) {
  for (const auto& [type, payload] : valid_payloads()) {
    SCOPED_TRACE(type);
    expect_error(decode_typed(event_of(type, payload, kSupportedEventVersion + 1)),
                 "UNSUPPORTED_EVENT_VERSION", type + " eventVersion 2");
    // Before any field: a newer version may have changed them.
    expect_error(decode_typed(event_of(type, {{"orderId", "x"}}, 7, "")),
                 "UNSUPPORTED_EVENT_VERSION", type);
  }
}

TEST(EventDecoders, ATypeWithoutADecoderIsNotDecoded) {
  auto r = decode_typed(event_of("LOYALTY_POINTS_ADDED", {{"orderId", "x"}}, 9));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->has_value());
}

TEST(EventDecoders, ADecoderOfAnotherTypeIsABug) {
  auto r = decode_order_created(event_of("STOCK_RESERVED", valid_payloads().at("STOCK_RESERVED")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInternal);
  EXPECT_EQ(r.error().code, "WRONG_DECODER");
  auto progressed = decode_order_progressed(event_of("ORDER_CANCELLED", {{"orderId", 123}}));
  EXPECT_EQ(progressed.error().code, "WRONG_DECODER");
}

TEST(EventDecoders, OrderRefOfAnyTypeUsesTheSameRules) {
  auto ref = decode_order_ref(event_of("LOYALTY_POINTS_ADDED", {{"orderId", 123}}, 9));
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  EXPECT_EQ(ref->order_id, 123);
  EXPECT_EQ(ref->user_id, "");
  EXPECT_EQ(decode_order_ref(event_of("X", {{"orderId", 123}, {"userId", 7}}))->user_id, "7");
  for (const auto& bad : bad_values("orderId")) {
    SCOPED_TRACE(bad.dump());
    auto r = decode_order_ref(event_of("X", {{"orderId", bad}}, 1, ""));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "MALFORMED_EVENT");
  }
  EXPECT_FALSE(decode_order_ref(event_of("X", {{"userId", "u"}})).ok());
  EXPECT_FALSE(decode_order_ref(event_of("X", {{"orderId", 123}, {"userId", ""}})).ok());
  EXPECT_FALSE(decode_order_ref(event_of("X", {{"orderId", 123}}, 1, "124")).ok());
}

TEST(EventDecoders, DecodeEventOfARecordKeepsItsKey) {
  ConsumedRecord record;
  record.key = "123";
  record.value = encode_event({"e", "STOCK_DEDUCTED", 1, "t"}, {{"orderId", 123}});
  auto decoded = decode_event(record);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->key, "123");
  EXPECT_EQ(decode_event(record.value)->key, "");
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
