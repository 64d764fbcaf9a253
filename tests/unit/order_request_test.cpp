// Unit tests of POST /api/orders body normalisation (parse_order_request) with the request bodies
// of seeds 000, 001 and 003 unchanged, every malformed input, and the totals they price to with
// the bundled catalog. No network, no sleep.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "adapters/http/order_request.h"
#include "domain/order.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/decimal.h"
#include "orderflow/config/catalog.h"
#include "orderflow/config/config.h"

namespace orderflow {
void PrintTo(const Decimal& d, std::ostream* os) { *os << d.to_string(); }
}  // namespace orderflow

namespace orderflow::order {
namespace {

using nlohmann::json;

// The bodies exactly as the seeds' curl commands send them.
// Seed 003 (README "주문 API").
constexpr const char* kSeed003 = R"({"userId":42,"items":[{"sku":"ABC-001","qty":2}]})";
// Seed 003 fault injection ("장애 주입 & DLQ 확인").
constexpr const char* kSeed003Fail = R"({"userId":42,"items":[{"sku":"FAIL","qty":1}]})";
// Seed 000 §7.4.
constexpr const char* kSeed000 = R"({
    "customerId": "user-1001",
    "customerEmail": "user1001@example.com",
    "totalAmount": 12900,
    "currency": "KRW"
  })";
// Seed 000 §7.5 (DLQ test: forced notification failure).
constexpr const char* kSeed000Fail = R"({
    "customerId": "fail-user-1",
    "customerEmail": "fail@example.com",
    "totalAmount": 5000,
    "currency": "KRW"
  })";
// Seed 001 §8.1 (the user comes from the bearer token: here the X-User-Id header).
constexpr const char* kSeed001 = R"({
    "items": [
      {"productId": 1, "quantity": 2, "price": 100.00}
    ]
  })";

Decimal dec(const char* text) { return Decimal::parse(text).value(); }

Result<OrderRequest> parse(const std::string& body,
                           std::optional<std::string> header_user = std::nullopt) {
  return parse_order_request(json::parse(body), header_user);
}

void expect_invalid(const json& body, const std::string& code, const std::string& message_part = {},
                    std::optional<std::string> header_user = std::string("7")) {
  auto r = parse_order_request(body, header_user);
  ASSERT_FALSE(r.ok()) << "accepted " << body.dump();
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput) << body.dump();
  EXPECT_EQ(r.error().code, code) << body.dump() << ": " << r.error().message;
  if (!message_part.empty()) {
    EXPECT_NE(r.error().message.find(message_part), std::string::npos)
        << "message '" << r.error().message << "' does not name '" << message_part << "'";
  }
}

// A body with one item; `item` is merged into {"sku":"ABC-001","quantity":1}.
json body_with_item(const json& item_fields, bool replace = false) {
  json item = replace ? json::object() : json{{"sku", "ABC-001"}, {"quantity", 1}};
  for (const auto& [k, v] : item_fields.items()) item[k] = v;
  return {{"userId", "u-1"}, {"items", json::array({item})}};
}

// ---- the seeds' bodies ---------------------------------------------------------------------

TEST(OrderRequestSeedTest, Seed003IntegerUserAndQty) {
  auto r = parse(kSeed003);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user_id, "42");
  EXPECT_TRUE(r->customer_email.empty());
  EXPECT_TRUE(r->currency.empty());
  EXPECT_FALSE(r->total_amount.has_value());
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].sku, "ABC-001");
  EXPECT_EQ(r->items[0].quantity, 2);
  EXPECT_FALSE(r->items[0].unit_price.has_value());
}

TEST(OrderRequestSeedTest, Seed003FailSkuParses) {
  auto r = parse(kSeed003Fail);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user_id, "42");
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].sku, "FAIL");
  EXPECT_EQ(r->items[0].quantity, 1);
}

TEST(OrderRequestSeedTest, Seed000CustomerIdAndTotalWithoutItems) {
  auto r = parse(kSeed000);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user_id, "user-1001");
  EXPECT_EQ(r->customer_email, "user1001@example.com");
  EXPECT_EQ(r->currency, "KRW");
  ASSERT_TRUE(r->total_amount.has_value());
  EXPECT_EQ(*r->total_amount, dec("12900"));
  EXPECT_TRUE(r->items.empty());
}

TEST(OrderRequestSeedTest, Seed000FailUser) {
  auto r = parse(kSeed000Fail);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user_id, "fail-user-1");
  EXPECT_EQ(r->customer_email, "fail@example.com");
  EXPECT_EQ(r->currency, "KRW");
  ASSERT_TRUE(r->total_amount.has_value());
  EXPECT_EQ(*r->total_amount, dec("5000"));
}

TEST(OrderRequestSeedTest, Seed001ProductIdPriceAndHeaderUser) {
  auto r = parse(kSeed001, "1001");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user_id, "1001");
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].sku, "1");
  EXPECT_EQ(r->items[0].quantity, 2);
  ASSERT_TRUE(r->items[0].unit_price.has_value());
  EXPECT_EQ(*r->items[0].unit_price, dec("100"));
  EXPECT_FALSE(r->total_amount.has_value());
}

TEST(OrderRequestSeedTest, Seed001WithoutAnyUserIsMissingUser) {
  expect_invalid(json::parse(kSeed001), "MISSING_USER", "", std::nullopt);
  expect_invalid(json::parse(kSeed001), "MISSING_USER", "", std::string());
}

TEST(OrderRequestTest, BodyUserWinsOverTheHeader) {
  auto r = parse(kSeed003, "someone-else");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user_id, "42");
}

TEST(OrderRequestTest, NullFieldsCountAsAbsent) {
  auto r = parse(R"({"userId":null,"customerId":"c-1","currency":null,"totalAmount":null,
                     "items":[{"sku":"A","productId":null,"quantity":1,"qty":null,
                               "unitPrice":null,"price":"2.5"}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user_id, "c-1");
  EXPECT_TRUE(r->currency.empty());
  EXPECT_FALSE(r->total_amount.has_value());
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].sku, "A");
  EXPECT_EQ(*r->items[0].unit_price, dec("2.5"));

  auto header = parse(R"({"userId":null,"totalAmount":1})", "h-1");
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->user_id, "h-1");
}

TEST(OrderRequestTest, UnknownFieldsAreIgnored) {
  auto r = parse(R"({"userId":"u","shipping":{"city":"Seoul"},"note":[1,2],
                     "items":[{"sku":"A","qty":1,"color":"red"}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->items.size(), 1u);
}

TEST(OrderRequestTest, CanonicalNamesAndDecimalStrings) {
  auto r = parse(R"({"userId":"user-9","customerEmail":"u9@example.com","currency":"USD",
                     "totalAmount":"25.5",
                     "items":[{"sku":"ABC-001","quantity":3,"unitPrice":"8.5"}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user_id, "user-9");
  EXPECT_EQ(r->currency, "USD");
  EXPECT_EQ(*r->total_amount, dec("25.5"));
  EXPECT_EQ(r->items[0].quantity, 3);
  EXPECT_EQ(*r->items[0].unit_price, dec("8.5"));
}

TEST(OrderRequestTest, JsonNumbersBecomeExactDecimals) {
  struct Case {
    const char* number;
    const char* expected;
  };
  for (const auto& c : std::vector<Case>{{"100.00", "100"},
                                         {"0.1", "0.1"},
                                         {"19.99", "19.99"},
                                         {"12900", "12900"},
                                         {"0.0001", "0.0001"},
                                         {"123456.789", "123456.789"},
                                         {"-5", "-5"}}) {
    SCOPED_TRACE(c.number);
    auto r = parse(std::string(R"({"userId":1,"items":[{"sku":"X","qty":1,"price":)") + c.number +
                   "}]}");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->items[0].unit_price->to_string(), c.expected);
  }
}

TEST(OrderRequestTest, SameValueUnderBothAliasesIsFine) {
  auto r = parse(R"({"userId":"u-1","customerId":"u-1",
                     "items":[{"sku":"ABC-001","productId":"ABC-001","quantity":2,"qty":2,
                               "unitPrice":12900,"price":12900}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->user_id, "u-1");
  EXPECT_EQ(r->items[0].sku, "ABC-001");
  EXPECT_EQ(r->items[0].quantity, 2);
  EXPECT_EQ(*r->items[0].unit_price, dec("12900"));
}

TEST(OrderRequestTest, IdentifiersAreStringsOrIntegers) {
  auto r = parse(R"({"userId":"user-1","items":[{"productId":"SKU-9","qty":1},
                                                 {"productId":12,"qty":1}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->items[0].sku, "SKU-9");
  EXPECT_EQ(r->items[1].sku, "12");
}

// ---- bad input -----------------------------------------------------------------------------

TEST(OrderRequestInvalidTest, BodyMustBeAnObject) {
  for (const char* body : {"[]", "[1,2]", "\"order\"", "42", "null", "true"}) {
    SCOPED_TRACE(body);
    expect_invalid(json::parse(body), "INVALID_BODY");
  }
}

TEST(OrderRequestInvalidTest, UserIdOfTheWrongType) {
  expect_invalid(json::parse(R"({"userId":true,"totalAmount":1})"), "INVALID_FIELD", "userId");
  expect_invalid(json::parse(R"({"userId":4.2,"totalAmount":1})"), "INVALID_FIELD", "userId");
  expect_invalid(json::parse(R"({"userId":{"id":1},"totalAmount":1})"), "INVALID_FIELD", "userId");
  expect_invalid(json::parse(R"({"userId":[42],"totalAmount":1})"), "INVALID_FIELD", "userId");
  expect_invalid(json::parse(R"({"customerId":false,"totalAmount":1})"), "INVALID_FIELD", "userId");
  expect_invalid(json::parse(R"({"userId":"","totalAmount":1})"), "INVALID_FIELD", "userId");
  expect_invalid(json{{"userId", std::string(129, 'u')}, {"totalAmount", 1}}, "INVALID_FIELD",
                 "userId");
}

// The X-User-Id header (no token) is checked as a body userId is: a non-UTF-8 header made an
// order whose stored userId differed from the one in its events and notifications.
TEST(OrderRequestInvalidTest, HeaderUserIdIsCheckedAsABodyUserId) {
  const json body = json::parse(kSeed001);
  for (const std::string& header :
       {std::string("u\xFF"), std::string("\xC3("), std::string(129, 'u'),
        std::string("a\x01"
                    "b")}) {
    SCOPED_TRACE(header);
    expect_invalid(body, "INVALID_FIELD", "X-User-Id", header);
  }
  auto korean = parse(kSeed001, "사용자-1");
  ASSERT_TRUE(korean.ok()) << korean.error().message;
  EXPECT_EQ(korean->user_id, "사용자-1");
  EXPECT_TRUE(parse(kSeed001, std::string(128, 'u')).ok());
  // A body user, like the header, is text a database column keeps as it is.
  expect_invalid(json{{"userId", std::string("a\0b", 3)}, {"totalAmount", 1}}, "INVALID_FIELD",
                 "userId");
}

TEST(OrderRequestInvalidTest, ItemsMustBeAnArrayOfObjects) {
  expect_invalid(json::parse(R"({"userId":1,"items":"ABC-001"})"), "INVALID_FIELD", "items");
  expect_invalid(json::parse(R"({"userId":1,"items":{"sku":"ABC-001","qty":1}})"), "INVALID_FIELD",
                 "items");
  expect_invalid(json::parse(R"({"userId":1,"items":5})"), "INVALID_FIELD", "items");
  expect_invalid(json::parse(R"({"userId":1,"items":[{"sku":"A","qty":1},"B"]})"), "INVALID_FIELD",
                 "items[1]");
  expect_invalid(json::parse(R"({"userId":1,"items":[["A",1]]})"), "INVALID_FIELD", "items[0]");
}

TEST(OrderRequestInvalidTest, QuantityMustBeAnInteger) {
  expect_invalid(body_with_item({{"quantity", "2"}}), "INVALID_FIELD", "items[0].quantity");
  expect_invalid(body_with_item({{"qty", "2"}, {"sku", "A"}}, true), "INVALID_FIELD",
                 "items[0].quantity");
  expect_invalid(body_with_item({{"quantity", 2.5}}), "INVALID_FIELD", "quantity");
  expect_invalid(body_with_item({{"quantity", true}}), "INVALID_FIELD", "quantity");
  expect_invalid(body_with_item({{"quantity", json::array({2})}}), "INVALID_FIELD", "quantity");
}

TEST(OrderRequestInvalidTest, SkuMustBeAStringOrAnInteger) {
  expect_invalid(body_with_item({{"sku", {{"code", "A"}}}}), "INVALID_FIELD", "items[0].sku");
  expect_invalid(body_with_item({{"sku", true}}), "INVALID_FIELD", "sku");
  expect_invalid(body_with_item({{"sku", 1.5}}), "INVALID_FIELD", "sku");
  expect_invalid(body_with_item({{"sku", ""}}), "INVALID_FIELD", "sku");
  expect_invalid(body_with_item({{"productId", json::array()}, {"qty", 1}}, true), "INVALID_FIELD",
                 "sku");
}

TEST(OrderRequestInvalidTest, PriceMustBeANumberOrADecimalString) {
  expect_invalid(body_with_item({{"price", true}}), "INVALID_FIELD", "items[0].unitPrice");
  expect_invalid(body_with_item({{"unitPrice", "abc"}}), "INVALID_FIELD", "unitPrice");
  expect_invalid(body_with_item({{"unitPrice", json::object()}}), "INVALID_FIELD", "unitPrice");
  expect_invalid(body_with_item({{"price", "1e3"}}), "INVALID_FIELD", "unitPrice");
  expect_invalid(body_with_item({{"price", ""}}), "INVALID_FIELD", "unitPrice");
}

TEST(OrderRequestInvalidTest, TotalAmountMustBeANumberOrADecimalString) {
  expect_invalid(json::parse(R"({"userId":1,"totalAmount":"abc"})"), "INVALID_FIELD",
                 "totalAmount");
  expect_invalid(json::parse(R"({"userId":1,"totalAmount":true})"), "INVALID_FIELD", "totalAmount");
  expect_invalid(json::parse(R"({"userId":1,"totalAmount":[12900]})"), "INVALID_FIELD",
                 "totalAmount");
  expect_invalid(json::parse(R"({"userId":1,"totalAmount":"12 900"})"), "INVALID_FIELD",
                 "totalAmount");
}

TEST(OrderRequestInvalidTest, MoreThanFourFractionalDigitsIsRefused) {
  expect_invalid(json::parse(R"({"userId":1,"totalAmount":1.23456})"), "INVALID_FIELD",
                 "totalAmount");
  expect_invalid(json::parse(R"({"userId":1,"totalAmount":"1.23456"})"), "INVALID_FIELD",
                 "totalAmount");
  expect_invalid(body_with_item({{"price", 0.12345}}), "INVALID_FIELD", "unitPrice");
  expect_invalid(body_with_item({{"unitPrice", "0.00001"}}), "INVALID_FIELD", "unitPrice");
  // Numbers that JSON prints with an exponent are not exact decimals here either.
  expect_invalid(json::parse(R"({"userId":1,"totalAmount":1e300})"), "INVALID_FIELD",
                 "totalAmount");
}

TEST(OrderRequestInvalidTest, EmailAndCurrencyMustBeStrings) {
  expect_invalid(json::parse(R"({"userId":1,"totalAmount":1,"customerEmail":5})"), "INVALID_FIELD",
                 "customerEmail");
  expect_invalid(json::parse(R"({"userId":1,"totalAmount":1,"currency":410})"), "INVALID_FIELD",
                 "currency");
}

TEST(OrderRequestInvalidTest, MissingUser) {
  expect_invalid(json::parse(R"({"items":[{"sku":"A","qty":1}]})"), "MISSING_USER", "",
                 std::nullopt);
  expect_invalid(json::parse(R"({"totalAmount":1})"), "MISSING_USER", "", std::string());
}

TEST(OrderRequestInvalidTest, MissingSku) {
  expect_invalid(body_with_item({{"qty", 1}}, true), "MISSING_SKU", "items[0]");
  expect_invalid(body_with_item({{"qty", 1}, {"sku", nullptr}}, true), "MISSING_SKU");
}

TEST(OrderRequestInvalidTest, MissingQuantity) {
  expect_invalid(body_with_item({{"sku", "A"}}, true), "MISSING_QUANTITY", "items[0]");
  expect_invalid(body_with_item({{"sku", "A"}, {"price", 1}}, true), "MISSING_QUANTITY");
}

TEST(OrderRequestInvalidTest, AliasesWithDifferentValuesAreAmbiguous) {
  expect_invalid(json::parse(R"({"userId":"a","customerId":"b","totalAmount":1})"),
                 "AMBIGUOUS_FIELD", "customerId");
  expect_invalid(json::parse(R"({"userId":1,"customerId":2,"totalAmount":1})"), "AMBIGUOUS_FIELD",
                 "userId");
  expect_invalid(body_with_item({{"productId", "ABC-002"}}), "AMBIGUOUS_FIELD", "productId");
  expect_invalid(body_with_item({{"qty", 2}}), "AMBIGUOUS_FIELD", "qty");
  expect_invalid(body_with_item({{"unitPrice", "1"}, {"price", "2"}}), "AMBIGUOUS_FIELD", "price");
}

TEST(OrderRequestInvalidTest, TheFirstBadItemIsNamed) {
  expect_invalid(json::parse(R"({"userId":1,"items":[{"sku":"A","qty":1},
                                                     {"sku":"B","qty":1},
                                                     {"sku":"C","qty":"x"}]})"),
                 "INVALID_FIELD", "items[2].quantity");
}

// ---- through price_order with the bundled catalog ------------------------------------------

class SeedPricingTest : public ::testing::Test {
 protected:
  static Catalog bundled_catalog() {
    auto file = config::load_catalog(config::default_catalog_file());
    std::vector<Product> products;
    for (const auto& p : file.products) products.push_back({p.sku, p.name, p.unit_price, p.stock});
    return Catalog(file.currency, std::move(products));
  }

  Result<Order> create(const std::string& body,
                       std::optional<std::string> header_user = std::nullopt) {
    auto request = parse(body, std::move(header_user));
    if (!request) return request.error();
    return price_order(request.value(), catalog_, clock_.now());
  }

  Catalog catalog_ = bundled_catalog();
  ManualClock clock_;
};

TEST_F(SeedPricingTest, BundledCatalogHasTheSeedProducts) {
  EXPECT_EQ(catalog_.currency(), "KRW");
  ASSERT_NE(catalog_.find("ABC-001"), nullptr);
  EXPECT_EQ(catalog_.find("ABC-001")->unit_price, dec("12900"));
  ASSERT_NE(catalog_.find("1"), nullptr);
  EXPECT_EQ(catalog_.find("1")->unit_price, dec("100"));
}

TEST_F(SeedPricingTest, Seed003Totals25800Krw) {
  auto o = create(kSeed003);
  ASSERT_TRUE(o.ok()) << o.error().code << ": " << o.error().message;
  EXPECT_EQ(o->user_id, "42");
  EXPECT_EQ(o->status, OrderStatus::kPending);
  EXPECT_EQ(o->total_amount, dec("25800"));
  EXPECT_EQ(o->total_amount.to_string(), "25800");
  EXPECT_EQ(o->currency, "KRW");
  ASSERT_EQ(o->items.size(), 1u);
  EXPECT_EQ(o->items[0].unit_price, dec("12900"));
}

TEST_F(SeedPricingTest, Seed001Totals200) {
  auto o = create(kSeed001, "1001");
  ASSERT_TRUE(o.ok()) << o.error().code << ": " << o.error().message;
  EXPECT_EQ(o->user_id, "1001");
  EXPECT_EQ(o->total_amount, dec("200"));
  EXPECT_EQ(o->total_amount.to_string(), "200");
  EXPECT_EQ(o->currency, "KRW");
  ASSERT_EQ(o->items.size(), 1u);
  EXPECT_EQ(o->items[0].sku, "1");
  EXPECT_EQ(o->items[0].quantity, 2);
  EXPECT_EQ(o->items[0].unit_price, dec("100"));
}

TEST_F(SeedPricingTest, Seed000TotalsAsGiven) {
  auto o = create(kSeed000);
  ASSERT_TRUE(o.ok()) << o.error().code << ": " << o.error().message;
  EXPECT_EQ(o->user_id, "user-1001");
  EXPECT_EQ(o->customer_email, "user1001@example.com");
  EXPECT_EQ(o->total_amount, dec("12900"));
  EXPECT_EQ(o->currency, "KRW");
  EXPECT_TRUE(o->items.empty());

  auto fail = create(kSeed000Fail);
  ASSERT_TRUE(fail.ok()) << fail.error().code << ": " << fail.error().message;
  EXPECT_EQ(fail->user_id, "fail-user-1");
  EXPECT_EQ(fail->total_amount, dec("5000"));
}

TEST_F(SeedPricingTest, ApiShapeOfAPricedSeedOrder) {
  auto o = create(kSeed003);
  ASSERT_TRUE(o.ok());
  Order stored = o.value();
  stored.id = 12345;
  auto j = order_to_json(stored);
  EXPECT_EQ(j.at("orderId"), 12345);
  EXPECT_EQ(j.at("status"), "PENDING");
  EXPECT_EQ(j.at("userId"), "42");
  EXPECT_EQ(j.at("totalAmount"), "25800");
  EXPECT_EQ(j.at("currency"), "KRW");
  ASSERT_EQ(j.at("items").size(), 1u);
  EXPECT_EQ(j.at("items")[0].at("sku"), "ABC-001");
  EXPECT_EQ(j.at("items")[0].at("quantity"), 2);
  EXPECT_EQ(j.at("items")[0].at("unitPrice"), "12900");
  EXPECT_EQ(j.at("createdAt"), "2023-11-14T22:13:20.000Z");
  EXPECT_FALSE(j.contains("cancelReason"));
  EXPECT_FALSE(j.contains("customerEmail"));
}

}  // namespace
}  // namespace orderflow::order
