// Integration tests of the simulated payment provider on its own temp SQLite file (issue 9: "a
// payment provider that remembers"): idempotent charges and refunds, across restarts (a new
// SimulatedGateway instance on the same file), latency and shutdown, a busy file; and the
// payment service over a restarted provider, including a refund the provider refuses for good
// (REFUND_FAILED, alert, DLT) and its replay after a repair.
#include <future>

#include "payment_test_fixture.h"

namespace orderflow::payment::test {
namespace {

SimulatedGatewayOptions on_file(const std::string& path, DeclineRule rule = {},
                                std::chrono::milliseconds latency = 0ms) {
  SimulatedGatewayOptions o;
  o.latency = latency;
  o.decline = rule;
  o.path = path;
  return o;
}

ChargeRequest request(const std::string& key, const char* amount) {
  return {key, 42, "user-7", dec(amount), "KRW"};
}

class SimulatedGatewayTest : public ::testing::Test {
 protected:
  [[nodiscard]] std::string path() const { return dir_.file("payment-gateway.db"); }

  orderflow::testing::TempDir dir_;
};

// ---- one instance ------------------------------------------------------------------------------

TEST_F(SimulatedGatewayTest, ChargeIsIdempotentByKey) {
  SimulatedGateway gateway(on_file(path()));
  auto first = gateway.charge(request("42", "100"));
  auto again = gateway.charge(request("42", "100"));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(first->approved);
  EXPECT_EQ(first->payment_id, again->payment_id);
  EXPECT_EQ(gateway.charge_count(), 1);
  auto other = gateway.charge(request("43", "100"));
  EXPECT_NE(other->payment_id, first->payment_id);
  EXPECT_EQ(gateway.charge_count(), 2);
}

TEST_F(SimulatedGatewayTest, ReusedKeyWithAnotherAmountOrCurrencyIsAConflict) {
  SimulatedGateway gateway(on_file(path()));
  ASSERT_TRUE(gateway.charge(request("42", "100")).ok());
  auto reused = gateway.charge(request("42", "101"));
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(reused.error().code, "IDEMPOTENCY_KEY_REUSED");
  auto other_currency = gateway.charge({"42", 42, "user-7", dec("100"), "USD"});
  ASSERT_FALSE(other_currency.ok());
  EXPECT_EQ(other_currency.error().code, "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(gateway.charge_count(), 1);
}

TEST_F(SimulatedGatewayTest, DeclinesAboveTheLimit) {
  SimulatedGateway gateway(on_file(path(), DeclineRule{dec("1000000")}));
  auto ok = gateway.charge(request("1", "1000000"));
  auto declined = gateway.charge(request("2", "1000000.01"));
  EXPECT_TRUE(ok->approved);
  EXPECT_FALSE(declined->approved);
  EXPECT_EQ(declined->decline_reason, "AMOUNT_LIMIT_EXCEEDED");
  EXPECT_FALSE(declined->payment_id.empty());
}

TEST_F(SimulatedGatewayTest, RefundIsIdempotentByPaymentId) {
  SimulatedGateway gateway(on_file(path(), DeclineRule{dec("10")}));
  auto charge = gateway.charge(request("42", "5")).value();
  EXPECT_FALSE(charge.refunded);
  auto r1 = gateway.refund(charge.payment_id);
  auto r2 = gateway.refund(charge.payment_id);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1.value(), r2.value());
  EXPECT_EQ(gateway.refund_count(), 1);
  EXPECT_TRUE(gateway.find_charge("42").value()->refunded);

  auto unknown = gateway.refund("nope");
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(unknown.error().code, "UNKNOWN_PAYMENT");
  auto declined = gateway.charge(request("43", "11")).value();
  EXPECT_EQ(gateway.refund(declined.payment_id).error().kind, ErrorKind::kConflict);
  EXPECT_EQ(gateway.refund_count(), 1);
}

TEST_F(SimulatedGatewayTest, FindChargeByKey) {
  SimulatedGateway gateway(on_file(path()));
  EXPECT_FALSE(gateway.find_charge("42").value().has_value());
  auto charge = gateway.charge(request("42", "5")).value();
  auto found = gateway.find_charge("42").value();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->payment_id, charge.payment_id);
  EXPECT_EQ(found->amount, dec("5"));
  EXPECT_EQ(found->currency, "KRW");
  EXPECT_EQ(gateway.charge_count(), 1);
}

TEST_F(SimulatedGatewayTest, AfterShutdownCallsFailFastAndChargeNothing) {
  SimulatedGateway gateway(on_file(path()));
  gateway.shutdown();
  auto r = gateway.charge(request("42", "5"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().retryable());
  EXPECT_EQ(r.error().code, "GATEWAY_SHUTDOWN");
  EXPECT_EQ(gateway.charge_count(), 0);
  EXPECT_TRUE(gateway.find_charge("42").error().retryable());
  EXPECT_TRUE(gateway.refund("x").error().retryable());
}

TEST_F(SimulatedGatewayTest, ConcurrentChargesUnderOneKeyChargeOnce) {
  SimulatedGateway gateway(on_file(path()));
  std::vector<std::future<Result<GatewayCharge>>> calls;
  for (int i = 0; i < 8; ++i) {
    calls.push_back(
        std::async(std::launch::async, [&gateway] { return gateway.charge(request("42", "5")); }));
  }
  std::set<std::string> ids;
  for (auto& c : calls) {
    auto r = c.get();
    ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
    ids.insert(r->payment_id);
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(gateway.charge_count(), 1);
}

TEST_F(SimulatedGatewayTest, ABusyFileIsRetryable) {
  auto options = on_file(path());
  options.busy_timeout_ms = 50;
  SimulatedGateway gateway(options);
  storage::StorageConfig other;
  other.sqlite_path = path();
  auto intruder = storage::open_database(other);
  // Another writer holds the file's write lock until released.
  std::promise<void> locked;
  std::promise<void> release;
  auto holder = std::async(std::launch::async, [&] {
    return intruder->write([&](storage::Tx& tx) -> Result<void> {
      auto r = tx.exec("CREATE TABLE held (x INTEGER)");
      locked.set_value();
      if (!r) return r.error();
      release.get_future().wait();
      return internal_error("ROLLBACK", "leave nothing behind");
    });
  });
  ASSERT_EQ(locked.get_future().wait_for(10s), std::future_status::ready);
  auto r = gateway.charge(request("42", "5"));
  release.set_value();
  EXPECT_EQ(holder.get().error().code, "ROLLBACK");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable) << r.error().code << ": " << r.error().message;
  EXPECT_EQ(gateway.charge_count(), 0);
  EXPECT_TRUE(gateway.charge(request("42", "5")).ok())
      << "the retry succeeds once the file is free";
}

// ---- restarts: a new instance on the same file --------------------------------------------------

TEST_F(SimulatedGatewayTest, ChargesSurviveARestart) {
  GatewayCharge first;
  {
    SimulatedGateway gateway(on_file(path(), DeclineRule{dec("10")}));
    first = gateway.charge(request("42", "5")).value();
    ASSERT_TRUE(gateway.charge(request("43", "11")).ok());
  }
  SimulatedGateway restarted(on_file(path(), DeclineRule{dec("10")}));
  EXPECT_EQ(restarted.charge_count(), 2);
  auto again = restarted.charge(request("42", "5"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->payment_id, first.payment_id);
  EXPECT_TRUE(again->approved);
  auto found = restarted.find_charge("43").value();
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->approved);
  EXPECT_EQ(found->decline_reason, "AMOUNT_LIMIT_EXCEEDED");
  EXPECT_EQ(restarted.charge_count(), 2);
}

TEST_F(SimulatedGatewayTest, RefundAfterARestartSucceedsExactlyOnce) {
  std::string payment_id;
  {
    SimulatedGateway gateway(on_file(path()));
    payment_id = gateway.charge(request("42", "5")).value().payment_id;
  }
  std::string refund_id;
  {
    SimulatedGateway restarted(on_file(path()));
    auto refund = restarted.refund(payment_id);
    ASSERT_TRUE(refund.ok()) << refund.error().code << ": " << refund.error().message;
    refund_id = refund.value();
    EXPECT_EQ(restarted.refund(payment_id).value(), refund_id);
  }
  SimulatedGateway again(on_file(path()));
  EXPECT_EQ(again.refund(payment_id).value(), refund_id);
  EXPECT_EQ(again.refund_count(), 1);
  EXPECT_TRUE(again.find_charge("42").value()->refunded);
}

TEST_F(SimulatedGatewayTest, KeyReuseWithAnotherAmountAfterARestartIsAConflict) {
  {
    SimulatedGateway gateway(on_file(path()));
    ASSERT_TRUE(gateway.charge(request("42", "100")).ok());
  }
  SimulatedGateway restarted(on_file(path()));
  auto reused = restarted.charge(request("42", "100.01"));
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(reused.error().code, "IDEMPOTENCY_KEY_REUSED");
  EXPECT_EQ(restarted.charge_count(), 1);
}

// ---- latency ------------------------------------------------------------------------------------

TEST_F(SimulatedGatewayTest, ShutdownInterruptsACallWaitingOutItsLatency) {
  SimulatedGateway gateway(on_file(path(), {}, 30s));
  auto call = std::async(std::launch::async, [&] {
    return gateway.charge({"1", 1, "u", dec("5"), "KRW"});
  });
  // The call is waiting (not done) until shutdown; then it ends at once without charging.
  EXPECT_NE(call.wait_for(0ms), std::future_status::ready);
  gateway.shutdown();
  ASSERT_TRUE(eventually([&] { return call.wait_for(0ms) == std::future_status::ready; }, 2s));
  auto result = call.get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "GATEWAY_SHUTDOWN");
  EXPECT_EQ(gateway.charge_count(), 0);
}

TEST_F(SimulatedGatewayTest, LatencyIsAppliedAndCallsOverlap) {
  SimulatedGateway gateway(on_file(path(), {}, 300ms));
  auto started = std::chrono::steady_clock::now();
  std::vector<std::future<Result<GatewayCharge>>> calls;
  for (int i = 1; i <= 6; ++i) {
    calls.push_back(std::async(std::launch::async, [&gateway, i] {
      return gateway.charge({std::to_string(i), i, "u", dec("5"), "KRW"});
    }));
  }
  for (auto& c : calls) EXPECT_TRUE(c.get().ok());
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 1500ms) << "calls overlap rather than queue behind one lock (6 × 300 ms)";
  EXPECT_EQ(gateway.charge_count(), 6);
}

// ---- the payment service over a provider that restarts ------------------------------------------

class PaymentOverRestartedGatewayTest : public PaymentServiceTest {
 protected:
  double refund_failures() {
    auto text = metrics_.serialize();
    auto series = std::string(kRefundFailuresMetric) + "{service=\"payment-test\"} ";
    auto at = text.find(series);
    return at == std::string::npos ? 0.0 : std::stod(text.substr(at + series.size()));
  }
};

TEST_P(PaymentOverRestartedGatewayTest, CancelAfterAGatewayRestartRefunds) {
  expect_processed(handle(stock_reserved(201, "25800")));
  auto captured = payment_of(201).value();
  gateway_.restart(dir_.file("payment-gateway.db"));

  expect_processed(handle(order_cancelled(201, "25800")));
  auto refunded = payment_of(201).value();
  EXPECT_EQ(refunded.status, PaymentStatus::kRefunded);
  EXPECT_EQ(refunded.id, captured.id);
  EXPECT_EQ(gateway_.inner().refund_count(), 1);
  auto events = outbox();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(json::parse(events[1].value)["eventType"], "PAYMENT_REFUNDED");
  EXPECT_EQ(refund_failures(), 0);
}

TEST_P(PaymentOverRestartedGatewayTest,
       UnknownPaymentIsRefundFailedAndItsReplayRefundsAfterRepair) {
  expect_processed(handle(stock_reserved(202, "700")));
  auto captured = payment_of(202).value();
  // The provider comes back without its records (another file): it does not know the charge.
  gateway_.restart(dir_.file("empty-gateway.db"));
  clock_.advance(2s);
  auto cancel = order_cancelled(202, "700");

  auto refused = handle(cancel);
  EXPECT_EQ(refused.outcome, Outcome::kFailed);
  ASSERT_TRUE(refused.error.has_value());
  EXPECT_FALSE(refused.error->retryable()) << "dead-lettered at once, not retried";
  EXPECT_EQ(refused.error->kind, ErrorKind::kInternal);
  EXPECT_EQ(refused.error->code, "UNKNOWN_PAYMENT");
  auto failed = payment_of(202).value();
  EXPECT_EQ(failed.status, PaymentStatus::kRefundFailed);
  EXPECT_EQ(failed.id, captured.id);
  EXPECT_EQ(failed.reason.rfind("UNKNOWN_PAYMENT: ", 0), 0u) << failed.reason;
  EXPECT_TRUE(failed.refund_id.empty());
  EXPECT_EQ(failed.updated_at, captured.created_at + 2s);
  EXPECT_EQ(refund_failures(), 1);
  EXPECT_EQ(outbox().size(), 1u) << "no PAYMENT_REFUNDED for money not given back";
  EXPECT_EQ(count("processed_events WHERE event_id = '" +
                  messaging::find_header(cancel.headers, "eventId").value() + "'"),
            0)
      << "the cancel stays unprocessed for its replay";
  auto shown = json::parse(get("/api/payments", {{"orderId", "202"}}).body)["items"][0];
  EXPECT_EQ(shown["status"], "REFUND_FAILED");
  EXPECT_EQ(shown["reason"].get<std::string>().rfind("UNKNOWN_PAYMENT: ", 0), 0u);
  // Still refused: the payment stays REFUND_FAILED and the alert counts again.
  EXPECT_EQ(handle(cancel).outcome, Outcome::kFailed);
  EXPECT_EQ(payment_of(202)->status, PaymentStatus::kRefundFailed);
  EXPECT_EQ(refund_failures(), 2);
  // A STOCK_RESERVED again never charges the order.
  expect_skip(handle(stock_reserved(202, "700")), "ALREADY_PAID");

  // Repaired: the provider has its records again; ops replays the same ORDER_CANCELLED.
  gateway_.restart(dir_.file("payment-gateway.db"));
  clock_.advance(1s);
  expect_processed(handle(cancel));
  auto refunded = payment_of(202).value();
  EXPECT_EQ(refunded.status, PaymentStatus::kRefunded);
  EXPECT_EQ(refunded.reason, "USER_REQUESTED");
  EXPECT_FALSE(refunded.refund_id.empty());
  EXPECT_EQ(gateway_.inner().refund_count(), 1);
  auto events = outbox();
  ASSERT_EQ(events.size(), 2u);
  auto v = json::parse(events[1].value);
  EXPECT_EQ(v["eventType"], "PAYMENT_REFUNDED");
  EXPECT_EQ(v["paymentId"], captured.id);
  EXPECT_EQ(v["amount"], "700");
  // And a redelivery of that cancel is now a duplicate.
  EXPECT_EQ(handle(cancel).outcome, Outcome::kDuplicate);
  EXPECT_EQ(gateway_.inner().refund_count(), 1);
  EXPECT_EQ(refund_failures(), 2);
}

ORDERFLOW_ON_BOTH_DATABASES(PaymentOverRestartedGatewayTest);

}  // namespace
}  // namespace orderflow::payment::test
