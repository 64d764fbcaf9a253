// Integration tests of the payment service's consuming side without a broker (fixture in
// payment_test_fixture.h): the real RecordHandler, PaymentService and SqlPaymentRepository on
// SQLite and PostgreSQL, driven with encoded events; a counting gateway through the PaymentGateway
// port. Issue 3 and ARCHITECTURE.md invariant 3 (COMPLETED ⇒ charged once; CANCELLED ⇒ net
// charge zero). Issue 11: a charge and a cancel of one order on two instances at once.
#include <barrier>
#include <map>

#include "payment_test_fixture.h"

namespace orderflow::payment::test {
namespace {

TEST_P(PaymentServiceTest, StockReservedChargesAndEmitsPaymentCompletedWithTheExactAmount) {
  auto in = stock_reserved(101, "12345.67");
  auto result = handle(in);
  expect_processed(result);
  EXPECT_EQ(result.event_type, "STOCK_RESERVED");
  EXPECT_EQ(result.event_id, messaging::find_header(in.headers, "eventId").value());

  auto payment = payment_of(101);
  ASSERT_TRUE(payment.has_value());
  EXPECT_EQ(payment->status, PaymentStatus::kCaptured);
  EXPECT_EQ(payment->amount, dec("12345.67"));
  EXPECT_EQ(payment->currency, "KRW");
  EXPECT_EQ(payment->user_id, "user-101");

  auto events = outbox();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].topic, kPaymentsTopic);
  EXPECT_EQ(events[0].key, "101");
  auto v = json::parse(events[0].value);
  EXPECT_EQ(v["eventType"], "PAYMENT_COMPLETED");
  EXPECT_EQ(v["eventVersion"], 1);
  EXPECT_EQ(v["orderId"], 101);
  EXPECT_EQ(v["userId"], "user-101");
  EXPECT_EQ(v["paymentId"], payment->id);
  EXPECT_EQ(v["amount"], "12345.67");
  EXPECT_EQ(v["currency"], "KRW");
  EXPECT_EQ(messaging::find_header(events[0].headers, "eventType"), "PAYMENT_COMPLETED");
  EXPECT_EQ(messaging::find_header(events[0].headers, "source"), "payment-service");
  auto trace = messaging::find_header(events[0].headers, "traceparent").value();
  EXPECT_EQ(trace.substr(0, 36), std::string(kTrace).substr(0, 36)) << "continues the trace";
  EXPECT_EQ(gateway_.charge_calls.load(), 1);
  EXPECT_EQ(relay_wakeups_.load(), 1);
}

TEST_P(PaymentServiceTest, AmountOverTheLimitEmitsPaymentFailed) {
  expect_processed(handle(stock_reserved(102, "1000000.01")));
  auto payment = payment_of(102);
  ASSERT_TRUE(payment.has_value());
  EXPECT_EQ(payment->status, PaymentStatus::kFailed);
  EXPECT_EQ(payment->reason, "AMOUNT_LIMIT_EXCEEDED");
  auto events = outbox();
  ASSERT_EQ(events.size(), 1u);
  auto v = json::parse(events[0].value);
  EXPECT_EQ(v["eventType"], "PAYMENT_FAILED");
  EXPECT_EQ(v["orderId"], 102);
  EXPECT_EQ(v["userId"], "user-102");
  EXPECT_EQ(v["amount"], "1000000.01");
  EXPECT_EQ(v["currency"], "KRW");
  EXPECT_EQ(v["reason"], "AMOUNT_LIMIT_EXCEEDED");

  // The limit itself is still approved.
  expect_processed(handle(stock_reserved(103, "1000000")));
  EXPECT_EQ(payment_of(103)->status, PaymentStatus::kCaptured);
}

TEST_P(PaymentServiceTest, RedeliveryOfTheSameEventDoesNothing) {
  auto in = stock_reserved(104, "25800");
  expect_processed(handle(in));
  auto again = handle(in);
  EXPECT_EQ(again.outcome, Outcome::kDuplicate);
  EXPECT_EQ(outbox().size(), 1u);
  EXPECT_EQ(count("payments"), 1);
  EXPECT_EQ(gateway_.charge_calls.load(), 1);
}

TEST_P(PaymentServiceTest, AnotherStockReservedForAPaidOrderIsNotChargedAgain) {
  expect_processed(handle(stock_reserved(105, "25800")));
  auto first = payment_of(105);
  auto second = handle(stock_reserved(105, "25800"));  // new eventId
  expect_skip(second, "ALREADY_PAID");
  EXPECT_EQ(gateway_.charge_calls.load(), 1);
  EXPECT_EQ(gateway_.inner().charge_count(), 1);
  EXPECT_EQ(outbox().size(), 1u);
  EXPECT_EQ(payment_of(105)->id, first->id);

  // Also after a decline: one attempt per order.
  expect_processed(handle(stock_reserved(106, "2000000")));
  expect_skip(handle(stock_reserved(106, "2000000")), "ALREADY_PAID");
  EXPECT_EQ(gateway_.charge_calls.load(), 2);
}

TEST_P(PaymentServiceTest, CancelAfterCaptureRefunds) {
  expect_processed(handle(stock_reserved(107, "25800.5")));
  auto captured = payment_of(107).value();
  clock_.advance(3s);
  expect_processed(handle(order_cancelled(107, "25800.50", {}, "RESERVATION_EXPIRED")));

  auto refunded = payment_of(107).value();
  EXPECT_EQ(refunded.status, PaymentStatus::kRefunded);
  EXPECT_EQ(refunded.id, captured.id);
  EXPECT_EQ(refunded.reason, "RESERVATION_EXPIRED");
  EXPECT_FALSE(refunded.refund_id.empty());
  EXPECT_EQ(refunded.updated_at, captured.created_at + 3s);
  EXPECT_EQ(gateway_.refund_calls.load(), 1);
  EXPECT_EQ(gateway_.inner().refund_count(), 1);

  auto events = outbox();
  ASSERT_EQ(events.size(), 2u);
  auto v = json::parse(events[1].value);
  EXPECT_EQ(events[1].key, "107");
  EXPECT_EQ(v["eventType"], "PAYMENT_REFUNDED");
  EXPECT_EQ(v["orderId"], 107);
  EXPECT_EQ(v["userId"], "user-107");
  EXPECT_EQ(v["paymentId"], captured.id);
  EXPECT_EQ(v["amount"], "25800.5");
  EXPECT_EQ(v["currency"], "KRW");
  EXPECT_EQ(v["reason"], "RESERVATION_EXPIRED");
}

TEST_P(PaymentServiceTest, PaymentCountersMoveOncePerCommittedOutcome) {
  auto payments = [&](const std::string& outcome) {
    return orderflow::testing::metric_value(metrics_.serialize(), "orderflow_payments_total",
                                            "outcome=\"" + outcome + "\"");
  };
  EXPECT_EQ(payments("completed"), 0);  // registered at start
  auto charge = stock_reserved(120, "25800");
  expect_processed(handle(charge));
  EXPECT_EQ(handle(charge).outcome, Outcome::kDuplicate);
  expect_processed(handle(stock_reserved(121, "2000000")));  // declined
  auto cancel = order_cancelled(120, "25800");
  expect_processed(handle(cancel));
  EXPECT_EQ(handle(cancel).outcome, Outcome::kDuplicate);
  expect_skip(handle(order_cancelled(121, "2000000")), "NOTHING_TO_REFUND");
  EXPECT_EQ(payments("completed"), 1);
  EXPECT_EQ(payments("failed"), 1);
  EXPECT_EQ(payments("refunded"), 1);
}

TEST_P(PaymentServiceTest, CancelBeforeStockReservedMeansNeverCharged) {
  expect_processed(handle(order_cancelled(108, "25800")));
  expect_skip(handle(stock_reserved(108, "25800")), "ORDER_CANCELLED");
  expect_skip(handle(stock_reserved(108, "25800")), "ORDER_CANCELLED");
  EXPECT_EQ(gateway_.charge_calls.load(), 0);
  EXPECT_EQ(gateway_.inner().charge_count(), 0);
  EXPECT_FALSE(payment_of(108).has_value());
  EXPECT_TRUE(outbox().empty());
  EXPECT_EQ(count("cancelled_orders"), 1);
}

TEST_P(PaymentServiceTest, CancelTwiceRefundsOnce) {
  expect_processed(handle(stock_reserved(109, "100")));
  auto cancel = order_cancelled(109, "100");
  expect_processed(handle(cancel));
  EXPECT_EQ(handle(cancel).outcome, Outcome::kDuplicate);
  expect_skip(handle(order_cancelled(109, "100")), "NOTHING_TO_REFUND");  // new eventId
  EXPECT_EQ(gateway_.refund_calls.load(), 1);
  EXPECT_EQ(gateway_.inner().refund_count(), 1);
  auto events = outbox();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(json::parse(events[0].value)["eventType"], "PAYMENT_COMPLETED");
  EXPECT_EQ(json::parse(events[1].value)["eventType"], "PAYMENT_REFUNDED");
}

TEST_P(PaymentServiceTest, CancelAfterADeclineRefundsNothing) {
  expect_processed(handle(stock_reserved(110, "5000000")));
  expect_skip(handle(order_cancelled(110, "5000000", {}, "PAYMENT_FAILED")), "NOTHING_TO_REFUND");
  EXPECT_EQ(gateway_.refund_calls.load(), 0);
  EXPECT_EQ(payment_of(110)->status, PaymentStatus::kFailed);
  EXPECT_EQ(outbox().size(), 1u);
}

TEST_P(PaymentServiceTest, BadInputIsANonRetryableErrorAndStoresNothing) {
  std::vector<messaging::ConsumedRecord> bad = {
      stock_reserved(111, "12.34567"),
      stock_reserved(111, "1e3"),
      stock_reserved(111, "abc"),
      stock_reserved(111, "-100"),
      stock_reserved(111, "0"),
      stock_reserved(111, ""),
      stock_reserved(111, "100", {}, "krw"),
      stock_reserved(111, "100", {}, "WON!"),
      record("inventory.v1", "STOCK_RESERVED",
             {{"orderId", 111}, {"userId", "u"}, {"totalAmount", 100}, {"currency", "KRW"}}),
      record("inventory.v1", "STOCK_RESERVED",
             {{"orderId", 111}, {"userId", "u"}, {"totalAmount", 100.5}, {"currency", "KRW"}}),
      record("inventory.v1", "STOCK_RESERVED", {{"orderId", 111}, {"userId", "u"}}),
      record("inventory.v1", "STOCK_RESERVED",
             {{"orderId", 111}, {"totalAmount", "100"}, {"currency", "KRW"}}),
      record("inventory.v1", "STOCK_RESERVED",
             {{"orderId", 111}, {"userId", "u"}, {"totalAmount", "100"}, {"currency", "KRW"}}, {},
             2),
      record("orders.v1", "ORDER_CANCELLED", {{"orderId", 111}, {"userId", "u"}}, {}, 2),
      order_cancelled(111, "1.000001"),
  };
  auto wrong_key = stock_reserved(111, "100");
  wrong_key.key = "112";
  bad.push_back(wrong_key);
  auto not_json = stock_reserved(111, "100");
  not_json.value = "{\"eventId\": ";
  bad.push_back(not_json);

  for (const auto& r : bad) {
    auto result = handle(r);
    EXPECT_EQ(result.outcome, Outcome::kFailed) << r.value;
    ASSERT_TRUE(result.error.has_value()) << r.value;
    EXPECT_EQ(result.error->kind, ErrorKind::kInvalidInput) << r.value;
    EXPECT_FALSE(result.error->retryable()) << r.value;
  }
  // A bad payload in a good envelope is logged under the event's own id and type.
  auto logged = handle(bad.front());
  EXPECT_EQ(logged.event_id, messaging::find_header(bad.front().headers, "eventId").value());
  EXPECT_EQ(logged.event_type, "STOCK_RESERVED");

  EXPECT_EQ(gateway_.charge_calls.load(), 0);
  EXPECT_EQ(gateway_.lookup_calls.load(), 0);
  EXPECT_EQ(count("payments"), 0);
  EXPECT_EQ(count("cancelled_orders"), 0);
  EXPECT_EQ(count("processed_events"), 0);
  EXPECT_TRUE(outbox().empty());
}

TEST_P(PaymentServiceTest, CancelThatContradictsThePaymentIsRefusedWithoutRefund) {
  expect_processed(handle(stock_reserved(113, "100")));
  for (const auto& r :
       {order_cancelled(113, "100", {}, "USER_REQUESTED", "USD"), order_cancelled(113, "99.99")}) {
    auto result = handle(r);
    EXPECT_EQ(result.outcome, Outcome::kFailed);
    ASSERT_TRUE(result.error.has_value());
    EXPECT_FALSE(result.error->retryable());
  }
  EXPECT_EQ(gateway_.refund_calls.load(), 0);
  EXPECT_EQ(payment_of(113)->status, PaymentStatus::kCaptured);
}

TEST_P(PaymentServiceTest, OtherEventTypesAreProcessedAndIgnored) {
  for (const char* type : {"ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_PAID"}) {
    auto result = handle(
        record("orders.v1", type,
               {{"orderId", 114}, {"userId", "u"}, {"totalAmount", "100"}, {"currency", "KRW"}}));
    expect_processed(result);
    EXPECT_EQ(result.event_type, type);
  }
  expect_processed(handle(record("inventory.v1", "STOCK_REJECTED",
                                 {{"orderId", 114}, {"userId", "u"}, {"reason", "OUT_OF_STOCK"}})));
  EXPECT_EQ(gateway_.charge_calls + gateway_.lookup_calls + gateway_.refund_calls, 0);
  EXPECT_EQ(count("payments"), 0);
  EXPECT_TRUE(outbox().empty());
}

TEST_P(PaymentServiceTest, GatewayFailureIsRetryableAndStoresNothing) {
  gateway_.fail_charges = 1;
  auto in = stock_reserved(115, "100");
  auto failed = handle(in);
  EXPECT_EQ(failed.outcome, Outcome::kFailed);
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_EQ(failed.error->kind, ErrorKind::kUnavailable);
  EXPECT_TRUE(failed.error->retryable());
  EXPECT_EQ(count("payments"), 0);
  EXPECT_EQ(count("processed_events"), 0);
  EXPECT_TRUE(outbox().empty());

  expect_processed(handle(in));  // the consumer's retry
  EXPECT_EQ(payment_of(115)->status, PaymentStatus::kCaptured);
  EXPECT_EQ(outbox().size(), 1u);
}

TEST_P(PaymentServiceTest, RefundFailureIsRetriedAndRefundsOnce) {
  expect_processed(handle(stock_reserved(116, "100")));
  gateway_.fail_refunds = 1;
  auto cancel = order_cancelled(116, "100");
  auto failed = handle(cancel);
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_TRUE(failed.error->retryable());
  EXPECT_EQ(payment_of(116)->status, PaymentStatus::kCaptured);
  expect_processed(handle(cancel));
  EXPECT_EQ(payment_of(116)->status, PaymentStatus::kRefunded);
  EXPECT_EQ(gateway_.inner().refund_count(), 1);
  EXPECT_EQ(outbox().size(), 2u);
}

TEST_P(PaymentServiceTest, CrashBetweenChargeAndCommitIsNotChargedTwice) {
  // The gateway charged, then the process died before the payment row committed.
  auto in = stock_reserved(117, "100");
  ASSERT_TRUE(gateway_.inner().charge({"117", 117, "user-117", dec("100"), "KRW"}).ok());
  expect_processed(handle(in));  // redelivery
  EXPECT_EQ(gateway_.inner().charge_count(), 1);
  auto payment = payment_of(117).value();
  EXPECT_EQ(payment.id, gateway_.inner().find_charge("117").value()->payment_id);
}

TEST_P(PaymentServiceTest, CancelOvertakingACrashedChargeRefundsIt) {
  // The charge happened, its commit did not, and the cancel is handled before the redelivery.
  auto charged = gateway_.inner().charge({"118", 118, "user-118", dec("700"), "KRW"}).value();
  expect_processed(handle(order_cancelled(118, "700")));
  auto payment = payment_of(118).value();
  EXPECT_EQ(payment.status, PaymentStatus::kRefunded);
  EXPECT_EQ(payment.id, charged.payment_id);
  EXPECT_EQ(payment.amount, dec("700"));
  EXPECT_EQ(gateway_.inner().refund_count(), 1);
  auto events = outbox();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(json::parse(events[0].value)["eventType"], "PAYMENT_REFUNDED");

  expect_skip(handle(stock_reserved(118, "700")), "ALREADY_PAID");  // the redelivery
  EXPECT_EQ(gateway_.charge_calls.load(), 0);
}

TEST_P(PaymentServiceTest, CancelWhoseLookupFailsStillStopsALaterCharge) {
  gateway_.fail_lookups = 1;
  auto failed = handle(order_cancelled(119, "100"));
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_TRUE(failed.error->retryable());
  EXPECT_EQ(count("processed_events"), 0);  // the cancel itself is retried
  expect_skip(handle(stock_reserved(119, "100")), "ORDER_CANCELLED");
  EXPECT_EQ(gateway_.charge_calls.load(), 0);
}

TEST_P(PaymentServiceTest, TheGatewayCallHoldsNoDatabaseWriteLock) {
  gateway_.hold_charges();
  auto pending = std::async(std::launch::async, [&] { return handle(stock_reserved(120, "5")); });
  ASSERT_TRUE(eventually([&] { return gateway_.entered_charges() == 1; }));
  // Another order's cancel commits while the charge is in flight.
  expect_processed(handle(order_cancelled(121, "5")));
  EXPECT_EQ(count("cancelled_orders"), 1);
  gateway_.release_charges();
  ASSERT_TRUE(eventually([&] { return pending.wait_for(0ms) == std::future_status::ready; }));
  expect_processed(pending.get());
  EXPECT_EQ(payment_of(120)->status, PaymentStatus::kCaptured);
}

// Issue 12: with auth.mode required a caller sees only its own payments; another user's is
// absent from the list and 404 by id, an admin sees all, and no or a bad token is 401.
TEST_P(PaymentServiceTest, HttpShowsATokenOnlyItsOwnPayments) {
  using orderflow::testing::test_token;
  expect_processed(handle(stock_reserved(123, "100")));
  auto payment = payment_of(123).value();
  ASSERT_EQ(payment.user_id, "user-123");
  auth_ = std::make_unique<http::Authenticator>(orderflow::testing::test_auth_config(), clock_);
  const std::map<std::string, std::string> by_order{{"orderId", "123"}};
  auto items = [&](const std::optional<std::string>& token) {
    auto r = get("/api/payments", by_order, token);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["items"].size();
  };

  for (const auto& token :
       {std::optional<std::string>{},
        std::optional(orderflow::testing::badly_signed_token("user-123", clock_.now()))}) {
    auto list = get("/api/payments", by_order, token);
    EXPECT_EQ(list.status, 401) << list.body;
    EXPECT_EQ(get("/api/payments/" + payment.id, {}, token).status, 401);
  }
  EXPECT_EQ(items(test_token("user-123", {}, clock_.now())), 1u);
  EXPECT_EQ(get("/api/payments/" + payment.id, {}, test_token("user-123", {}, clock_.now())).status,
            200);
  EXPECT_EQ(items(test_token("user-7", {}, clock_.now())), 0u);
  auto other = get("/api/payments/" + payment.id, {}, test_token("user-7", {}, clock_.now()));
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(json::parse(other.body)["error"]["code"], "PAYMENT_NOT_FOUND");
  EXPECT_EQ(items(test_token("ops", {"admin"}, clock_.now())), 1u);
  EXPECT_EQ(
      get("/api/payments/" + payment.id, {}, test_token("ops", {"admin"}, clock_.now())).status,
      200);
}

TEST_P(PaymentServiceTest, HttpListsAndGetsPayments) {
  expect_processed(handle(stock_reserved(122, "25800")));
  auto payment = payment_of(122).value();

  auto list = get("/api/payments", {{"orderId", "122"}});
  ASSERT_EQ(list.status, 200) << list.body;
  auto body = json::parse(list.body);
  ASSERT_EQ(body["items"].size(), 1u);
  auto item = body["items"][0];
  EXPECT_EQ(item["paymentId"], payment.id);
  EXPECT_EQ(item["orderId"], 122);
  EXPECT_EQ(item["userId"], "user-122");
  EXPECT_EQ(item["amount"], "25800");
  EXPECT_EQ(item["currency"], "KRW");
  EXPECT_EQ(item["status"], "CAPTURED");
  EXPECT_TRUE(item["reason"].is_null());
  EXPECT_EQ(item["createdAt"], format_iso8601(clock_.now()));
  EXPECT_EQ(item["updatedAt"], format_iso8601(clock_.now()));

  auto one = get("/api/payments/" + payment.id);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body), item);

  auto none = get("/api/payments", {{"orderId", "999"}});
  ASSERT_EQ(none.status, 200);
  EXPECT_EQ(json::parse(none.body), json({{"items", json::array()}}));

  EXPECT_EQ(get("/api/payments").status, 400);
  EXPECT_EQ(get("/api/payments", {{"orderId", "abc"}}).status, 400);
  EXPECT_EQ(get("/api/payments", {{"orderId", "12x"}}).status, 400);
  EXPECT_EQ(get("/api/payments", {{"orderId", ""}}).status, 400);
  auto missing = get("/api/payments/no-such-payment");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "PAYMENT_NOT_FOUND");

  expect_processed(handle(order_cancelled(122, "25800")));
  auto after = json::parse(get("/api/payments/" + payment.id).body);
  EXPECT_EQ(after["status"], "REFUNDED");
  EXPECT_EQ(after["reason"], "USER_REQUESTED");
}

ORDERFLOW_ON_BOTH_DATABASES(PaymentServiceTest);

// Issue 11 item 3: a charge and a cancel of one order handled at the same moment by two
// payment-service instances (two PaymentService objects on two Database instances of one
// database, sharing the provider) are serialised by the database, not by the partition
// assignment. Invariants after each race: no refund without a charge, a cancelled order's
// charge is refunded (net charge zero), the payment row says so, and the order's events are
// in a possible order (PAYMENT_REFUNDED after any PAYMENT_COMPLETED).

// One instance of the service: its own connection pool on the shared database.
struct Instance {
  Instance(const storage::StorageConfig& config, PaymentGateway& gateway, const Clock& clock)
      : db(storage::open_database(config)),
        repository(*db, "payments.v1", "payment-service", nullptr),
        service(repository, gateway, alerts, clock, kGroup) {}

  std::unique_ptr<storage::Database> db;
  observability::Metrics metrics{"payment-race-test"};
  MetricsPaymentAlerts alerts{metrics, nullptr};
  SqlPaymentRepository repository;
  PaymentService service;
};

class PaymentRaceTest : public ::testing::TestWithParam<orderflow::testing::DatabaseKind> {
 protected:
  PaymentRaceTest() : database_(GetParam()) {
    SimulatedGatewayOptions options;
    options.path = dir_.file("payment-gateway.db");
    // A remote provider's latency widens the window between a decision and its commit.
    options.latency = std::chrono::milliseconds{2};
    options.decline = DeclineRule{dec("1000000")};
    gateway_ = std::make_unique<SimulatedGateway>(options);
    auto config = database_.storage_config();
    first_ = std::make_unique<Instance>(config, *gateway_, clock_);
    // Both instances start together and migrate once (the schema_migrations lock).
    storage::migrate(*first_->db, "inbox", messaging::Inbox::migrations());
    storage::migrate(*first_->db, "outbox", messaging::Outbox::migrations());
    storage::migrate(*first_->db, "payment", payment_migrations());
    second_ = std::make_unique<Instance>(config, *gateway_, clock_);
  }

  // The order's events in outbox (commit) order.
  std::map<std::int64_t, std::vector<std::string>> events_by_order() {
    std::map<std::int64_t, std::vector<std::string>> out;
    auto rows = messaging::make_outbox_store(*first_->db)->fetch_unsent(100000);
    EXPECT_TRUE(rows.ok());
    if (!rows.ok()) return out;
    for (const auto& row : rows.value()) {
      auto value = json::parse(row.record.value);
      out[value["orderId"].get<std::int64_t>()].push_back(value["eventType"]);
    }
    return out;
  }

  orderflow::testing::TempDir dir_;
  orderflow::testing::TestDatabase database_;
  ManualClock clock_;
  std::unique_ptr<SimulatedGateway> gateway_;
  std::unique_ptr<Instance> first_;
  std::unique_ptr<Instance> second_;
};

TEST_P(PaymentRaceTest, ChargeAndCancelOfOneOrderOnTwoInstancesLeaveNoMoneyTaken) {
  constexpr int kOrders = 40;
  std::vector<Result<HandleOutcome>> charged(kOrders, HandleOutcome::kDuplicate);
  std::vector<Result<HandleOutcome>> cancelled(kOrders, HandleOutcome::kDuplicate);
  std::barrier start(2);
  auto order_id = [](int i) { return std::int64_t{1000 + i}; };
  // Which instance charges alternates, so that both run both handlers.
  std::thread charger([&] {
    for (int i = 0; i < kOrders; ++i) {
      start.arrive_and_wait();
      auto& instance = i % 2 == 0 ? *first_ : *second_;
      charged[i] = instance.service.charge(
          {"reserved-" + std::to_string(i), order_id(i), "user-1", dec("100"), "KRW", ""});
    }
  });
  std::thread canceller([&] {
    for (int i = 0; i < kOrders; ++i) {
      start.arrive_and_wait();
      auto& instance = i % 2 == 0 ? *second_ : *first_;
      cancelled[i] = instance.service.cancel({"cancelled-" + std::to_string(i), order_id(i),
                                              "user-1", "USER_REQUESTED", dec("100"), "KRW", ""});
    }
  });
  charger.join();
  canceller.join();

  auto events = events_by_order();
  std::map<HandleOutcome, int> outcomes;
  for (int i = 0; i < kOrders; ++i) {
    SCOPED_TRACE("order " + std::to_string(order_id(i)));
    ASSERT_TRUE(charged[i].ok()) << charged[i].error().code << ": " << charged[i].error().message;
    ASSERT_TRUE(cancelled[i].ok())
        << cancelled[i].error().code << ": " << cancelled[i].error().message;
    ++outcomes[charged[i].value()];
    ++outcomes[cancelled[i].value()];

    auto charge = gateway_->find_charge(std::to_string(order_id(i)));
    ASSERT_TRUE(charge.ok());
    auto payments = first_->service.list_by_order(order_id(i));
    ASSERT_TRUE(payments.ok());
    const auto& order_events = events[order_id(i)];
    if (!charge.value()) {
      // Cancelled before the charge: never charged, nothing recorded, nothing emitted.
      EXPECT_TRUE(payments->empty());
      EXPECT_TRUE(order_events.empty());
      continue;
    }
    // Charged, so refunded: the net charge of a cancelled order is zero.
    EXPECT_TRUE(charge.value()->approved);
    EXPECT_TRUE(charge.value()->refunded);
    ASSERT_EQ(payments->size(), 1u);
    EXPECT_EQ(payments->front().status, PaymentStatus::kRefunded);
    EXPECT_EQ(payments->front().id, charge.value()->payment_id);
    ASSERT_FALSE(order_events.empty());
    EXPECT_EQ(order_events.back(), "PAYMENT_REFUNDED");
    if (order_events.size() == 2) {
      EXPECT_EQ(order_events.front(), "PAYMENT_COMPLETED");
    }
    EXPECT_LE(order_events.size(), 2u);
  }
  // A refund only ever follows a charge (the provider's refunds reference its charges).
  EXPECT_LE(gateway_->refund_count(), gateway_->charge_count());
  EXPECT_EQ(gateway_->refund_count(), gateway_->charge_count());
  for (const auto& [outcome, n] : outcomes) {
    std::cout << "[ outcomes ] " << to_string(outcome) << ": " << n << "\n";
  }
}

ORDERFLOW_ON_BOTH_DATABASES(PaymentRaceTest);

}  // namespace
}  // namespace orderflow::payment::test
