// Unit tests of the order domain: price_order's rules (services/order/domain/order.h) and the
// exact Decimal money type and clock helpers (libs/common). No network, no sleep.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/order.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/decimal.h"
#include "orderflow/common/result.h"

namespace orderflow {
// Readable failure messages for money.
void PrintTo(const Decimal& d, std::ostream* os) { *os << d.to_string(); }
}  // namespace orderflow

namespace orderflow::order {
namespace {

using namespace std::chrono_literals;

Decimal dec(const char* text) {
  auto d = Decimal::parse(text);
  if (!d) throw std::invalid_argument(std::string("bad decimal in test: ") + text);
  return *d;
}

RequestedItem item(std::string sku, std::int64_t quantity,
                   std::optional<Decimal> price = std::nullopt) {
  return {std::move(sku), quantity, price};
}

class PriceOrderTest : public ::testing::Test {
 protected:
  PriceOrderTest()
      : catalog_("KRW", {{"ABC-001", "Wireless Mouse", dec("12900"), 1000},
                         {"ABC-002", "Mechanical Keyboard", dec("89000"), 500},
                         {"P-100", "Sample", dec("100.00"), 10},
                         {"DIME", "A tenth", dec("0.1"), 10}}) {}

  OrderRequest request_with(std::vector<RequestedItem> items) {
    OrderRequest r;
    r.user_id = "42";
    r.items = std::move(items);
    return r;
  }

  Result<Order> price(const OrderRequest& request) {
    return price_order(request, catalog_, clock_.now());
  }

  void expect_error(const OrderRequest& request, ErrorKind kind, const std::string& code) {
    auto r = price(request);
    ASSERT_FALSE(r.ok()) << "expected " << code << ", got an order of "
                         << r.value().total_amount.to_string();
    EXPECT_EQ(r.error().kind, kind) << r.error().code << ": " << r.error().message;
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_FALSE(r.error().message.empty());
  }

  void expect_unprocessable(const OrderRequest& request, const std::string& code) {
    expect_error(request, ErrorKind::kUnprocessable, code);
  }

  Catalog catalog_;
  ManualClock clock_;
};

TEST_F(PriceOrderTest, CatalogPriceIsFilledInAndTheOrderIsPending) {
  auto request = request_with({item("ABC-001", 2)});
  request.customer_email = "user42@example.com";
  clock_.advance(1500ms);
  auto r = price(request);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Order& o = r.value();
  EXPECT_EQ(o.id, 0);
  EXPECT_EQ(o.user_id, "42");
  EXPECT_EQ(o.customer_email, "user42@example.com");
  EXPECT_EQ(o.status, OrderStatus::kPending);
  EXPECT_TRUE(o.cancel_reason.empty());
  EXPECT_EQ(o.currency, "KRW");  // the catalog's
  ASSERT_EQ(o.items.size(), 1u);
  EXPECT_EQ(o.items[0].sku, "ABC-001");
  EXPECT_EQ(o.items[0].quantity, 2);
  EXPECT_EQ(o.items[0].unit_price, dec("12900"));
  EXPECT_EQ(o.total_amount, dec("25800"));
  EXPECT_EQ(o.total_amount.to_string(), "25800");
  EXPECT_EQ(o.created_at, clock_.now());
  EXPECT_EQ(o.updated_at, clock_.now());
}

TEST_F(PriceOrderTest, SeveralLinesAreSummedInOrder) {
  auto r =
      price(request_with({item("ABC-001", 1), item("ABC-002", 2), item("NEW-1", 3, dec("5.5"))}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->items.size(), 3u);
  EXPECT_EQ(r->items[0].sku, "ABC-001");
  EXPECT_EQ(r->items[1].sku, "ABC-002");
  EXPECT_EQ(r->items[2].sku, "NEW-1");
  EXPECT_EQ(r->total_amount, dec("190916.5"));  // 12900 + 178000 + 16.5
}

TEST_F(PriceOrderTest, RequestPriceEqualToTheCatalogPriceIsAccepted) {
  auto r = price(request_with({item("ABC-001", 1, dec("12900.00"))}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->items[0].unit_price, dec("12900"));
  EXPECT_EQ(r->total_amount, dec("12900"));
}

TEST_F(PriceOrderTest, RequestPriceDifferentFromTheCatalogIsPriceMismatch) {
  expect_unprocessable(request_with({item("ABC-001", 1, dec("12899.99"))}), "PRICE_MISMATCH");
  expect_unprocessable(request_with({item("ABC-001", 1, dec("0"))}), "PRICE_MISMATCH");
  expect_unprocessable(request_with({item("ABC-001", 1, dec("-12900"))}), "PRICE_MISMATCH");
  // The first line is fine, the second is not: the whole order is refused.
  expect_unprocessable(request_with({item("ABC-001", 1), item("P-100", 1, dec("100.01"))}),
                       "PRICE_MISMATCH");
}

TEST_F(PriceOrderTest, QuantityMustBeBetweenOneAndTheMaximum) {
  for (std::int64_t q :
       {std::int64_t{0}, std::int64_t{-1}, std::int64_t{-1000}, kMaxQuantity + 1,
        std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    SCOPED_TRACE(q);
    expect_unprocessable(request_with({item("ABC-001", q)}), "INVALID_QUANTITY");
    expect_unprocessable(request_with({item("UNKNOWN", q, dec("1"))}), "INVALID_QUANTITY");
  }
  auto one = price(request_with({item("ABC-001", 1)}));
  ASSERT_TRUE(one.ok()) << one.error().message;
  auto max = price(request_with({item("ABC-001", kMaxQuantity)}));
  ASSERT_TRUE(max.ok()) << max.error().message;
  EXPECT_EQ(max->total_amount, dec("12900000000"));
}

TEST_F(PriceOrderTest, UnknownSkuWithoutPriceIsUnknownSku) {
  expect_unprocessable(request_with({item("NOPE-404", 1)}), "UNKNOWN_SKU");
  auto r = price(request_with({item("NOPE-404", 1)}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("NOPE-404"), std::string::npos) << r.error().message;
}

TEST_F(PriceOrderTest, UnknownSkuWithPriceIsAcceptedAtThatPrice) {
  auto r = price(request_with({item("NEW-7", 3, dec("19.99"))}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].unit_price, dec("19.99"));
  EXPECT_EQ(r->total_amount, dec("59.97"));
  EXPECT_EQ(r->total_amount.to_string(), "59.97");
}

TEST_F(PriceOrderTest, UnknownSkuWithZeroPriceIsAccepted) {
  auto r = price(request_with({item("FREEBIE", 2, dec("0"))}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->total_amount, Decimal{});
}

TEST_F(PriceOrderTest, NegativePriceIsInvalidPrice) {
  expect_unprocessable(request_with({item("NEW-7", 1, dec("-0.0001"))}), "INVALID_PRICE");
  expect_unprocessable(request_with({item("NEW-7", 1, dec("-5"))}), "INVALID_PRICE");
}

TEST_F(PriceOrderTest, NoItemsAndNoTotalIsEmptyOrder) {
  expect_unprocessable(request_with({}), "EMPTY_ORDER");
}

TEST_F(PriceOrderTest, TotalWithoutItemsIsTheOrderTotal) {
  // Seed 000: {"customerId":"user-1001", ..., "totalAmount":12900, "currency":"KRW"}.
  OrderRequest r;
  r.user_id = "user-1001";
  r.customer_email = "user1001@example.com";
  r.currency = "KRW";
  r.total_amount = dec("12900");
  auto priced = price(r);
  ASSERT_TRUE(priced.ok()) << priced.error().message;
  EXPECT_TRUE(priced->items.empty());
  EXPECT_EQ(priced->total_amount, dec("12900"));
  EXPECT_EQ(priced->currency, "KRW");
  EXPECT_EQ(priced->status, OrderStatus::kPending);
}

TEST_F(PriceOrderTest, TotalWithoutItemsMustBePositive) {
  for (const char* total : {"0", "-1", "-0.0001"}) {
    SCOPED_TRACE(total);
    OrderRequest r = request_with({});
    r.total_amount = dec(total);
    expect_unprocessable(r, "INVALID_TOTAL");
  }
  OrderRequest smallest = request_with({});
  smallest.total_amount = dec("0.0001");
  EXPECT_TRUE(price(smallest).ok());
}

TEST_F(PriceOrderTest, TotalAndItemsMustAgree) {
  OrderRequest r = request_with({item("ABC-001", 2)});
  r.total_amount = dec("25801");
  expect_unprocessable(r, "TOTAL_MISMATCH");
  r.total_amount = dec("25799.9999");
  expect_unprocessable(r, "TOTAL_MISMATCH");
  r.total_amount = dec("25800.00");
  auto ok = price(r);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->total_amount, dec("25800"));
}

TEST_F(PriceOrderTest, CurrencyMustBeThreeUpperCaseLetters) {
  for (const char* bad : {"krw", "Krw", "KR", "KRWW", "K1W", "K W", "₩", "USD "}) {
    SCOPED_TRACE(bad);
    OrderRequest r = request_with({item("ABC-001", 1)});
    r.currency = bad;
    expect_unprocessable(r, "INVALID_CURRENCY");
  }
  OrderRequest usd = request_with({item("ABC-001", 1)});
  usd.currency = "USD";
  auto ok = price(usd);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->currency, "USD");
}

TEST_F(PriceOrderTest, EmptyCurrencyDefaultsToTheCatalogs) {
  Catalog eur("EUR", {{"E-1", "Euro thing", dec("1.5"), 1}});
  OrderRequest r = request_with({item("E-1", 2)});
  auto priced = price_order(r, eur, clock_.now());
  ASSERT_TRUE(priced.ok()) << priced.error().message;
  EXPECT_EQ(priced->currency, "EUR");
  EXPECT_EQ(priced->total_amount, dec("3"));
}

TEST_F(PriceOrderTest, AtMostMaxItemsLines) {
  std::vector<RequestedItem> items(kMaxItems, item("ABC-001", 1));
  auto ok = price(request_with(items));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->items.size(), kMaxItems);
  EXPECT_EQ(ok->total_amount, dec("12900") * static_cast<std::int64_t>(kMaxItems));

  items.push_back(item("ABC-001", 1));
  expect_unprocessable(request_with(items), "TOO_MANY_ITEMS");
}

TEST_F(PriceOrderTest, LineAmountOverflowIsAmountTooLarge) {
  // 9e14 × 1000 does not fit Decimal's range (about ±9.2e14).
  expect_unprocessable(request_with({item("BIG", 1000, dec("900000000000000"))}),
                       "AMOUNT_TOO_LARGE");
}

TEST_F(PriceOrderTest, TotalOverflowIsAmountTooLarge) {
  // Each line fits; their sum does not.
  expect_unprocessable(request_with({item("BIG-1", 1, dec("900000000000000")),
                                     item("BIG-2", 1, dec("900000000000000"))}),
                       "AMOUNT_TOO_LARGE");
}

TEST_F(PriceOrderTest, MissingUserIsInvalidInput) {
  OrderRequest r = request_with({item("ABC-001", 1)});
  r.user_id.clear();
  expect_error(r, ErrorKind::kInvalidInput, "MISSING_USER");
}

TEST_F(PriceOrderTest, MissingSkuIsInvalidInput) {
  expect_error(request_with({item("", 1)}), ErrorKind::kInvalidInput, "MISSING_SKU");
}

TEST_F(PriceOrderTest, DecimalTotalsAreExact) {
  // Seed 001: {"productId": 1, "quantity": 2, "price": 100.00} → 200, not 199.99999….
  auto seed001 = price(request_with({item("P-100", 2, dec("100.00"))}));
  ASSERT_TRUE(seed001.ok()) << seed001.error().message;
  EXPECT_EQ(seed001->total_amount, Decimal::from_integer(200));
  EXPECT_EQ(seed001->total_amount.to_string(), "200");

  // 0.1 × 3 is 0.3 exactly (binary floating point would give 0.30000000000000004).
  auto tenths = price(request_with({item("DIME", 3)}));
  ASSERT_TRUE(tenths.ok()) << tenths.error().message;
  EXPECT_EQ(tenths->total_amount, dec("0.3"));
  EXPECT_EQ(tenths->total_amount.to_string(), "0.3");

  // 0.1 + 0.2 as separate lines.
  auto sum = price(request_with({item("X-1", 1, dec("0.1")), item("X-2", 1, dec("0.2"))}));
  ASSERT_TRUE(sum.ok()) << sum.error().message;
  EXPECT_EQ(sum->total_amount, dec("0.3"));

  // Ten lines of 0.1 make exactly 1.
  std::vector<RequestedItem> ten(10, item("DIME", 1));
  auto one = price(request_with(ten));
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->total_amount, Decimal::from_integer(1));
}

TEST_F(PriceOrderTest, BusinessRuleErrorsAreUnprocessable) {
  // Every 422 code of order.h is kUnprocessable (HTTP 422; a consumer would skip, not retry).
  auto r = price(request_with({item("NOPE", 1)}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnprocessable);
  EXPECT_FALSE(r.error().retryable());
}

TEST_F(PriceOrderTest, PricingIsPureAndUsesTheGivenTime) {
  auto request = request_with({item("ABC-001", 2)});
  auto first = price(request);
  clock_.advance(std::chrono::hours{24});
  auto second = price(request);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->total_amount, second->total_amount);
  EXPECT_EQ(second->created_at - first->created_at, std::chrono::hours{24});
}

TEST(OrderStatusTest, NamesRoundTrip) {
  for (auto s : {OrderStatus::kPending, OrderStatus::kConfirmed, OrderStatus::kPaid,
                 OrderStatus::kCompleted, OrderStatus::kCancelled}) {
    auto parsed = parse_order_status(to_string(s));
    ASSERT_TRUE(parsed.has_value()) << to_string(s);
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_STREQ(to_string(OrderStatus::kPending), "PENDING");
  EXPECT_STREQ(to_string(OrderStatus::kCancelled), "CANCELLED");
  EXPECT_FALSE(parse_order_status("pending").has_value());
  EXPECT_FALSE(parse_order_status("").has_value());
  EXPECT_FALSE(parse_order_status("SHIPPED").has_value());
}

TEST(CatalogTest, FindsBySku) {
  Catalog c("KRW", {{"A", "a", dec("1"), 1}, {"B", "b", dec("2"), 2}});
  ASSERT_NE(c.find("B"), nullptr);
  EXPECT_EQ(c.find("B")->unit_price, dec("2"));
  EXPECT_EQ(c.find("b"), nullptr);  // SKUs are case-sensitive
  EXPECT_EQ(c.find(""), nullptr);
  EXPECT_EQ(c.currency(), "KRW");
  EXPECT_EQ(c.products().size(), 2u);
}

// ---- Decimal (libs/common) ---------------------------------------------------------------

TEST(DecimalTest, ParsesIntegersAndFractions) {
  EXPECT_EQ(dec("12900").scaled(), 129'000'000);
  EXPECT_EQ(dec("0").scaled(), 0);
  EXPECT_EQ(dec("-3").scaled(), -30'000);
  EXPECT_EQ(dec("+7").scaled(), 70'000);
  EXPECT_EQ(dec("100.00"), Decimal::from_integer(100));
  EXPECT_EQ(dec("0.5").scaled(), 5'000);
  EXPECT_EQ(dec("0.0001").scaled(), 1);
  EXPECT_EQ(dec("-0.25").scaled(), -2'500);
  EXPECT_EQ(dec("1.2345").scaled(), 12'345);
  EXPECT_EQ(dec("007").scaled(), 70'000);
  EXPECT_EQ(dec("1.50"), dec("1.5"));
}

TEST(DecimalTest, RejectsAnythingElse) {
  for (const char* bad : {"",    "-",    "+",   ".",   "1.",    "1.23456", "0.00001", "1e5",
                          "1E5", "1e-2", " 1",  "1 ",  "1,000", "abc",     "1.2.3",   "--1",
                          "+-1", "0x10", "NaN", "inf", "1-",    "12a",     "１２"}) {
    EXPECT_FALSE(Decimal::parse(bad).has_value()) << "'" << bad << "'";
  }
}

TEST(DecimalTest, RejectsOutOfRange) {
  EXPECT_TRUE(Decimal::parse("922337203685476").has_value());
  EXPECT_TRUE(Decimal::parse("-922337203685476.9999").has_value());
  EXPECT_FALSE(Decimal::parse("99999999999999999999").has_value());
  EXPECT_FALSE(Decimal::parse("-99999999999999999999").has_value());
  EXPECT_FALSE(Decimal::parse("9223372036854775807").has_value());
  EXPECT_FALSE(Decimal::parse("1000000000000000").has_value());
}

TEST(DecimalTest, FormatsCanonically) {
  EXPECT_EQ(dec("25800").to_string(), "25800");
  EXPECT_EQ(dec("100.50").to_string(), "100.5");
  EXPECT_EQ(dec("-0.25").to_string(), "-0.25");
  EXPECT_EQ(dec("100.00").to_string(), "100");
  EXPECT_EQ(Decimal{}.to_string(), "0");
  EXPECT_EQ(dec("-0").to_string(), "0");
  EXPECT_EQ(dec("-0.0000").to_string(), "0");
  EXPECT_EQ(Decimal::from_scaled(1).to_string(), "0.0001");
  EXPECT_EQ(Decimal::from_scaled(-1).to_string(), "-0.0001");
  EXPECT_EQ(Decimal::from_scaled(10'010).to_string(), "1.001");
  EXPECT_EQ(Decimal::from_scaled(std::numeric_limits<std::int64_t>::max()).to_string(),
            "922337203685477.5807");
  EXPECT_EQ(Decimal::from_scaled(std::numeric_limits<std::int64_t>::min()).to_string(),
            "-922337203685477.5808");
}

TEST(DecimalTest, TextRoundTrips) {
  for (const char* text : {"0", "1", "-1", "0.1", "0.0001", "12900", "123456.789", "-42.5",
                           "922337203685476.9999", "-922337203685476.9999"}) {
    auto d = Decimal::parse(text);
    ASSERT_TRUE(d.has_value()) << text;
    EXPECT_EQ(d->to_string(), text);
    EXPECT_EQ(Decimal::parse(d->to_string()), d);
  }
}

TEST(DecimalTest, ArithmeticIsExact) {
  EXPECT_EQ(dec("0.1") + dec("0.2"), dec("0.3"));
  EXPECT_EQ(dec("0.1") * 3, dec("0.3"));
  EXPECT_EQ(dec("100.00") * 2, dec("200"));
  EXPECT_EQ(dec("1") - dec("0.0001"), dec("0.9999"));
  EXPECT_EQ(dec("5") - dec("7.5"), dec("-2.5"));
  EXPECT_EQ(dec("12900") * 0, Decimal{});
  EXPECT_EQ(dec("-1.5") * -2, dec("3"));
  Decimal acc;
  for (int i = 0; i < 10; ++i) acc += dec("0.1");
  EXPECT_EQ(acc, Decimal::from_integer(1));
  EXPECT_EQ(Decimal::from_integer(12900), dec("12900"));
}

TEST(DecimalTest, ComparesByValue) {
  EXPECT_LT(dec("0.0001"), dec("0.001"));
  EXPECT_LT(dec("-1"), Decimal{});
  EXPECT_GT(dec("100"), dec("99.9999"));
  EXPECT_TRUE(dec("-0.0001").is_negative());
  EXPECT_FALSE(Decimal{}.is_negative());
  EXPECT_FALSE(dec("-0").is_negative());
}

TEST(DecimalTest, OverflowThrows) {
  auto max = Decimal::from_scaled(std::numeric_limits<std::int64_t>::max());
  auto min = Decimal::from_scaled(std::numeric_limits<std::int64_t>::min());
  EXPECT_THROW((void)(max + Decimal::from_scaled(1)), std::overflow_error);
  EXPECT_THROW((void)(min - Decimal::from_scaled(1)), std::overflow_error);
  EXPECT_THROW((void)(max * 2), std::overflow_error);
  EXPECT_THROW((void)(min * -1), std::overflow_error);
  Decimal acc = max;
  EXPECT_THROW(acc += Decimal::from_scaled(1), std::overflow_error);
  EXPECT_NO_THROW((void)(max + Decimal{}));
}

// ---- Clock helpers (libs/common) -----------------------------------------------------------

TEST(ClockTest, ManualClockMovesOnlyByHand) {
  ManualClock clock;
  auto start = clock.now();
  EXPECT_EQ(clock.now(), start);
  clock.advance(250ms);
  EXPECT_EQ(clock.now() - start, 250ms);
  EXPECT_EQ(to_epoch_ms(start), 1'700'000'000'000);
  EXPECT_EQ(format_iso8601(start), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(format_iso8601(clock.now()), "2023-11-14T22:13:20.250Z");
}

TEST(ClockTest, Iso8601HandlesEpochAndMilliseconds) {
  EXPECT_EQ(format_iso8601(Clock::TimePoint{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(Clock::TimePoint{std::chrono::milliseconds{1}}),
            "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(format_iso8601(Clock::TimePoint{std::chrono::milliseconds{-1}}),
            "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace orderflow::order
