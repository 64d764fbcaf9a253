// Unit tests of the payment domain: decline rule, the decisions on STOCK_RESERVED and
// ORDER_CANCELLED, payment state transitions (refund from CAPTURED or REFUND_FAILED), the
// mapping of consumed records to commands and the payments.v1 records. No network, no sleep.
// The simulated gateway keeps a file: tests/integration/payment_gateway_test.cpp.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "adapters/kafka/payment_event_handler.h"
#include "adapters/kafka/payment_events.h"
#include "domain/payment.h"
#include "orderflow/common/uuid.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/record.h"

namespace orderflow {
void PrintTo(const Decimal& d, std::ostream* os) { *os << d.to_string(); }
}  // namespace orderflow

namespace orderflow::payment {
namespace {

using nlohmann::json;

Decimal dec(const char* text) { return Decimal::parse(text).value(); }

const Clock::TimePoint kT0{std::chrono::milliseconds{1'700'000'000'000}};
const Clock::TimePoint kT1 = kT0 + std::chrono::seconds{5};

ChargeCommand charge_command() { return {"evt-1", 42, "user-7", dec("25800"), "KRW", ""}; }

// ---- DeclineRule -------------------------------------------------------------------------------

TEST(DeclineRuleTest, EmptyTextNeverDeclines) {
  auto rule = DeclineRule::parse("");
  ASSERT_TRUE(rule.ok());
  EXPECT_FALSE(rule->limit().has_value());
  EXPECT_FALSE(rule->declines(dec("999999999999")));
}

TEST(DeclineRuleTest, DeclinesStrictlyAboveTheLimit) {
  auto rule = DeclineRule::parse("1000000");
  ASSERT_TRUE(rule.ok());
  EXPECT_FALSE(rule->declines(dec("999999.9999")));
  EXPECT_FALSE(rule->declines(dec("1000000")));
  EXPECT_FALSE(rule->declines(dec("1000000.0000")));
  EXPECT_TRUE(rule->declines(dec("1000000.0001")));
  EXPECT_TRUE(rule->declines(dec("2000000")));
}

TEST(DeclineRuleTest, FractionalLimit) {
  auto rule = DeclineRule::parse("99.5");
  ASSERT_TRUE(rule.ok());
  EXPECT_FALSE(rule->declines(dec("99.5")));
  EXPECT_TRUE(rule->declines(dec("99.51")));
}

TEST(DeclineRuleTest, RejectsNonDecimalLimits) {
  for (const char* bad : {"1e6", "abc", "1,000,000", "1.00001", " 5"}) {
    auto rule = DeclineRule::parse(bad);
    ASSERT_FALSE(rule.ok()) << bad;
    EXPECT_EQ(rule.error().code, "INVALID_DECLINE_LIMIT");
  }
}

// ---- status and transitions -----------------------------------------------------------------

TEST(PaymentStatusTest, RoundTripsItsNames) {
  for (auto s : {PaymentStatus::kCaptured, PaymentStatus::kFailed, PaymentStatus::kRefunded,
                 PaymentStatus::kRefundFailed}) {
    EXPECT_EQ(parse_payment_status(to_string(s)), s);
  }
  EXPECT_EQ(std::string(to_string(PaymentStatus::kCaptured)), "CAPTURED");
  EXPECT_EQ(std::string(to_string(PaymentStatus::kFailed)), "FAILED");
  EXPECT_EQ(std::string(to_string(PaymentStatus::kRefunded)), "REFUNDED");
  EXPECT_EQ(std::string(to_string(PaymentStatus::kRefundFailed)), "REFUND_FAILED");
  EXPECT_FALSE(parse_payment_status("captured").has_value());
  EXPECT_FALSE(parse_payment_status("").has_value());
}

TEST(PaymentTransitionTest, CapturedPaymentCarriesTheCommand) {
  auto p = captured_payment(charge_command(), "pay-1", kT0);
  EXPECT_EQ(p.id, "pay-1");
  EXPECT_EQ(p.order_id, 42);
  EXPECT_EQ(p.user_id, "user-7");
  EXPECT_EQ(p.amount, dec("25800"));
  EXPECT_EQ(p.currency, "KRW");
  EXPECT_EQ(p.status, PaymentStatus::kCaptured);
  EXPECT_TRUE(p.reason.empty());
  EXPECT_EQ(p.created_at, kT0);
  EXPECT_EQ(p.updated_at, kT0);
}

TEST(PaymentTransitionTest, FailedPaymentKeepsTheDeclineReason) {
  auto p = failed_payment(charge_command(), "pay-2", "AMOUNT_LIMIT_EXCEEDED", kT0);
  EXPECT_EQ(p.status, PaymentStatus::kFailed);
  EXPECT_EQ(p.reason, "AMOUNT_LIMIT_EXCEEDED");
}

TEST(PaymentTransitionTest, RefundFromCaptured) {
  auto p = captured_payment(charge_command(), "pay-1", kT0);
  auto r = refund_payment(p, "rf-1", "USER_REQUESTED", kT1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, PaymentStatus::kRefunded);
  EXPECT_EQ(r->refund_id, "rf-1");
  EXPECT_EQ(r->reason, "USER_REQUESTED");
  EXPECT_EQ(r->amount, p.amount);
  EXPECT_EQ(r->created_at, kT0);
  EXPECT_EQ(r->updated_at, kT1);
}

TEST(PaymentTransitionTest, RefundFailedFromCapturedKeepsTheMoneyAndTheRefusal) {
  auto p = captured_payment(charge_command(), "pay-1", kT0);
  auto r = refund_failed_payment(p, "UNKNOWN_PAYMENT: no charge with paymentId pay-1", kT1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, PaymentStatus::kRefundFailed);
  EXPECT_EQ(r->reason, "UNKNOWN_PAYMENT: no charge with paymentId pay-1");
  EXPECT_TRUE(r->refund_id.empty());
  EXPECT_EQ(r->amount, p.amount);
  EXPECT_EQ(r->created_at, kT0);
  EXPECT_EQ(r->updated_at, kT1);
  EXPECT_TRUE(holds_money(r->status));
}

TEST(PaymentTransitionTest, RefundFailedIsRefundedLater) {
  auto failed =
      refund_failed_payment(captured_payment(charge_command(), "pay-1", kT0), "UNKNOWN", kT0)
          .value();
  auto again = refund_failed_payment(failed, "UNKNOWN_PAYMENT: still", kT1);
  ASSERT_TRUE(again.ok()) << "a retried refund may be refused again";
  EXPECT_EQ(again->status, PaymentStatus::kRefundFailed);
  EXPECT_EQ(again->reason, "UNKNOWN_PAYMENT: still");

  auto r = refund_payment(failed, "rf-1", "USER_REQUESTED", kT1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, PaymentStatus::kRefunded);
  EXPECT_EQ(r->refund_id, "rf-1");
  EXPECT_EQ(r->reason, "USER_REQUESTED");
  EXPECT_FALSE(holds_money(r->status));
}

TEST(PaymentTransitionTest, RefundFailedOnlyFromAPaymentHoldingMoney) {
  auto declined = failed_payment(charge_command(), "pay-2", "DECLINED", kT0);
  auto r1 = refund_failed_payment(declined, "X", kT1);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(r1.error().code, "NOT_REFUNDABLE");
  auto refunded =
      refund_payment(captured_payment(charge_command(), "pay-1", kT0), "rf-1", "X", kT1).value();
  EXPECT_EQ(refund_failed_payment(refunded, "X", kT1).error().code, "NOT_REFUNDABLE");
  EXPECT_FALSE(holds_money(PaymentStatus::kFailed));
  EXPECT_TRUE(holds_money(PaymentStatus::kCaptured));
}

TEST(PaymentTransitionTest, RefundOnlyFromAPaymentHoldingMoney) {
  auto failed = failed_payment(charge_command(), "pay-2", "DECLINED", kT0);
  auto r1 = refund_payment(failed, "rf", "USER_REQUESTED", kT1);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(r1.error().code, "NOT_REFUNDABLE");

  auto refunded =
      refund_payment(captured_payment(charge_command(), "pay-1", kT0), "rf-1", "X", kT1).value();
  auto r2 = refund_payment(refunded, "rf-2", "Y", kT1);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, "NOT_REFUNDABLE");
}

// ---- decisions -----------------------------------------------------------------------------

TEST(DecisionTest, ReservedChargesOnlyAFreshOrder) {
  EXPECT_EQ(decide_on_reserved({}), ReservedAction::kCharge);
  EXPECT_EQ(decide_on_reserved({std::nullopt, true}), ReservedAction::kSkipCancelled);
  for (auto s : {PaymentStatus::kCaptured, PaymentStatus::kFailed, PaymentStatus::kRefunded,
                 PaymentStatus::kRefundFailed}) {
    auto p = captured_payment(charge_command(), "pay", kT0);
    p.status = s;
    EXPECT_EQ(decide_on_reserved({p, false}), ReservedAction::kSkipAlreadyPaid);
    EXPECT_EQ(decide_on_reserved({p, true}), ReservedAction::kSkipAlreadyPaid);
  }
}

TEST(DecisionTest, CancelRefundsOnlyAPaymentHoldingMoney) {
  auto p = captured_payment(charge_command(), "pay", kT0);
  EXPECT_EQ(decide_on_cancelled({p, false}), CancelAction::kRefund);
  p.status = PaymentStatus::kRefundFailed;
  EXPECT_EQ(decide_on_cancelled({p, true}), CancelAction::kRefund)
      << "a replayed cancel retries the refund the provider refused";
  p.status = PaymentStatus::kFailed;
  EXPECT_EQ(decide_on_cancelled({p, false}), CancelAction::kNothing);
  p.status = PaymentStatus::kRefunded;
  EXPECT_EQ(decide_on_cancelled({p, true}), CancelAction::kNothing);
  EXPECT_EQ(decide_on_cancelled({}), CancelAction::kReconcile);
  EXPECT_EQ(decide_on_cancelled({std::nullopt, true}), CancelAction::kReconcile);
}

TEST(CurrencyTest, ThreeUpperCaseLetters) {
  EXPECT_TRUE(is_currency_code("KRW"));
  EXPECT_TRUE(is_currency_code("USD"));
  EXPECT_FALSE(is_currency_code("krw"));
  EXPECT_FALSE(is_currency_code("KR"));
  EXPECT_FALSE(is_currency_code("KRWW"));
  EXPECT_FALSE(is_currency_code("K1W"));
  EXPECT_FALSE(is_currency_code(""));
}

// ---- record → command ----------------------------------------------------------------------

messaging::ConsumedRecord record_of(const std::string& type, json payload, int version = 1,
                                    std::string key = "42") {
  messaging::EventMeta meta{new_uuid(), type, version, "2026-11-21T10:15:30.123Z"};
  messaging::ConsumedRecord r;
  r.topic = "inventory.v1";
  r.key = std::move(key);
  r.value = messaging::encode_event(meta, payload);
  r.headers = messaging::standard_headers(meta, "test");
  return r;
}

json reserved_payload() {
  return {{"orderId", 42},
          {"userId", "user-7"},
          {"totalAmount", "25800.50"},
          {"currency", "KRW"},
          {"items", json::array({{{"sku", "ABC-001"}, {"quantity", 2}}})},
          {"expiresAt", "2026-11-21T10:30:30.123Z"}};
}

TEST(PaymentInputTest, StockReservedBecomesAChargeCommand) {
  auto record = record_of("STOCK_RESERVED", reserved_payload());
  auto input = to_payment_input(record);
  ASSERT_TRUE(input.ok()) << input.error().message;
  const auto* c = std::get_if<ChargeCommand>(&input.value());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->order_id, 42);
  EXPECT_EQ(c->user_id, "user-7");
  EXPECT_EQ(c->amount, dec("25800.5"));
  EXPECT_EQ(c->currency, "KRW");
  EXPECT_EQ(c->event_id, messaging::find_header(record.headers, "eventId").value());
  // Same trace, new span.
  auto parent = messaging::find_header(record.headers, "traceparent").value();
  EXPECT_EQ(c->traceparent.substr(0, 36), parent.substr(0, 36));
  EXPECT_NE(c->traceparent, parent);
}

TEST(PaymentInputTest, IntegerUserIdIsAccepted) {
  auto payload = reserved_payload();
  payload["userId"] = 7;
  auto input = to_payment_input(record_of("STOCK_RESERVED", payload));
  ASSERT_TRUE(input.ok());
  EXPECT_EQ(std::get<ChargeCommand>(input.value()).user_id, "7");
}

TEST(PaymentInputTest, OrderCancelledBecomesACancelCommand) {
  auto input = to_payment_input(record_of("ORDER_CANCELLED", {{"orderId", 42},
                                                              {"userId", "user-7"},
                                                              {"totalAmount", "25800"},
                                                              {"currency", "KRW"},
                                                              {"reason", "USER_REQUESTED"},
                                                              {"previousStatus", "CONFIRMED"}}));
  ASSERT_TRUE(input.ok()) << input.error().message;
  const auto& c = std::get<CancelCommand>(input.value());
  EXPECT_EQ(c.order_id, 42);
  EXPECT_EQ(c.reason, "USER_REQUESTED");
  EXPECT_EQ(c.total_amount, dec("25800"));
  EXPECT_EQ(c.currency, "KRW");
}

TEST(PaymentInputTest, OtherEventTypesAreIgnoredWhateverTheirVersion) {
  for (const char* type : {"ORDER_CREATED", "ORDER_PAID", "STOCK_REJECTED", "STOCK_RELEASED"}) {
    auto input = to_payment_input(record_of(type, {{"orderId", 42}}, 3));
    ASSERT_TRUE(input.ok()) << type;
    EXPECT_EQ(std::get<IgnoredEvent>(input.value()).event_type, type);
  }
}

void expect_invalid(const messaging::ConsumedRecord& record, const std::string& code) {
  auto input = to_payment_input(record);
  ASSERT_FALSE(input.ok()) << record.value;
  EXPECT_EQ(input.error().kind, ErrorKind::kInvalidInput) << record.value;
  EXPECT_EQ(input.error().code, code) << record.value;
}

TEST(PaymentInputTest, RejectsAmountsThatAreNotExactPositiveDecimalStrings) {
  // Not an exact decimal string: the shared decoding rule (docs/events.md).
  for (json bad : {json("12.34567"), json("1e3"), json("abc"), json(""), json(25800), json(258.5),
                   json(nullptr)}) {
    auto payload = reserved_payload();
    payload["totalAmount"] = bad;
    expect_invalid(record_of("STOCK_RESERVED", payload), "MALFORMED_EVENT");
  }
  // A decimal, but nothing to charge: the payment service's own rule.
  for (json bad : {json("-5"), json("0")}) {
    auto payload = reserved_payload();
    payload["totalAmount"] = bad;
    expect_invalid(record_of("STOCK_RESERVED", payload), "INVALID_AMOUNT");
  }
}

TEST(PaymentInputTest, RejectsBadCurrencies) {
  for (json bad : {json("krw"), json("KR"), json(""), json(410)}) {
    auto payload = reserved_payload();
    payload["currency"] = bad;
    expect_invalid(record_of("STOCK_RESERVED", payload), "MALFORMED_EVENT");
  }
  expect_invalid(
      record_of("ORDER_CANCELLED", {{"orderId", 42}, {"userId", "u"}, {"currency", "x"}}),
      "MALFORMED_EVENT");
}

TEST(PaymentInputTest, RejectsMissingFields) {
  for (const char* field : {"orderId", "userId", "totalAmount", "currency"}) {
    auto payload = reserved_payload();
    payload.erase(field);
    expect_invalid(record_of("STOCK_RESERVED", payload), "MALFORMED_EVENT");
  }
  expect_invalid(record_of("ORDER_CANCELLED", {{"orderId", 42}}), "MALFORMED_EVENT");
}

TEST(PaymentInputTest, RejectsBadOrderIdsAndUserIds) {
  for (json bad : {json("42"), json(0), json(-1), json(4.2)}) {
    auto payload = reserved_payload();
    payload["orderId"] = bad;
    expect_invalid(record_of("STOCK_RESERVED", payload, 1, ""), "MALFORMED_EVENT");
  }
  for (json bad : {json(""), json(true), json(1.5)}) {
    auto payload = reserved_payload();
    payload["userId"] = bad;
    expect_invalid(record_of("STOCK_RESERVED", payload), "MALFORMED_EVENT");
  }
}

TEST(PaymentInputTest, RejectsOtherVersionsOfItsEvents) {
  expect_invalid(record_of("STOCK_RESERVED", reserved_payload(), 2), "UNSUPPORTED_EVENT_VERSION");
  expect_invalid(record_of("ORDER_CANCELLED", {{"orderId", 42}, {"userId", "u"}}, 2),
                 "UNSUPPORTED_EVENT_VERSION");
}

TEST(PaymentInputTest, RejectsAKeyThatIsNotTheOrderId) {
  expect_invalid(record_of("STOCK_RESERVED", reserved_payload(), 1, "43"), "MALFORMED_EVENT");
  EXPECT_TRUE(to_payment_input(record_of("STOCK_RESERVED", reserved_payload(), 1, "")).ok());
}

TEST(PaymentInputTest, RejectsValuesThatAreNotEvents) {
  messaging::ConsumedRecord r;
  r.key = "42";
  for (const char* bad : {"", "not json", "[1,2]", "{\"orderId\":42}"}) {
    r.value = bad;
    expect_invalid(r, "MALFORMED_EVENT");
  }
}

// ---- payments.v1 records ---------------------------------------------------------------------

TEST(PaymentEventTest, RecordsFollowTheEventTable) {
  auto p = captured_payment(charge_command(), "pay-1", kT0);
  p.amount = dec("12345.67");
  auto completed =
      payment_event_record(PaymentEventType::kCompleted, p, "payments.v1", "payment-service", "");
  EXPECT_EQ(completed.topic, "payments.v1");
  EXPECT_EQ(completed.key, "42");
  auto v = json::parse(completed.value);
  EXPECT_EQ(v["eventType"], "PAYMENT_COMPLETED");
  EXPECT_EQ(v["eventVersion"], 1);
  EXPECT_EQ(v["orderId"], 42);
  EXPECT_EQ(v["userId"], "user-7");
  EXPECT_EQ(v["paymentId"], "pay-1");
  EXPECT_EQ(v["amount"], "12345.67");
  EXPECT_EQ(v["currency"], "KRW");
  EXPECT_FALSE(v.contains("reason"));
  EXPECT_EQ(messaging::find_header(completed.headers, "eventType"), "PAYMENT_COMPLETED");
  EXPECT_EQ(messaging::find_header(completed.headers, "source"), "payment-service");
  EXPECT_EQ(messaging::find_header(completed.headers, "eventId"), v["eventId"].get<std::string>());

  auto failed = failed_payment(charge_command(), "pay-2", "AMOUNT_LIMIT_EXCEEDED", kT0);
  auto fv = json::parse(
      payment_event_record(PaymentEventType::kFailed, failed, "payments.v1", "s", "").value);
  EXPECT_EQ(fv["eventType"], "PAYMENT_FAILED");
  EXPECT_EQ(fv["reason"], "AMOUNT_LIMIT_EXCEEDED");
  EXPECT_EQ(fv["amount"], "25800");
  EXPECT_FALSE(fv.contains("paymentId"));

  auto refunded = refund_payment(p, "rf-1", "USER_REQUESTED", kT1).value();
  std::string trace = "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01";
  auto refund_record =
      payment_event_record(PaymentEventType::kRefunded, refunded, "payments.v1", "s", trace);
  auto rv = json::parse(refund_record.value);
  EXPECT_EQ(rv["eventType"], "PAYMENT_REFUNDED");
  EXPECT_EQ(rv["paymentId"], "pay-1");
  EXPECT_EQ(rv["amount"], "12345.67");
  EXPECT_EQ(rv["reason"], "USER_REQUESTED");
  EXPECT_EQ(rv["timestamp"], format_iso8601(kT1));
  EXPECT_EQ(messaging::find_header(refund_record.headers, "traceparent"), trace);
}

}  // namespace
}  // namespace orderflow::payment
