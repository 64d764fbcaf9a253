// Integration tests of the payment service's consuming side without a broker: the real
// RecordHandler (make_event_handler), PaymentService and SqlPaymentRepository on a temp SQLite
// file, driven with encoded events; a counting gateway through the PaymentGateway port. Issue 3
// and ARCHITECTURE.md invariant 3 (COMPLETED ⇒ charged once; CANCELLED ⇒ net charge zero).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/gateway/simulated_gateway.h"
#include "adapters/http/payment_routes.h"
#include "adapters/kafka/payment_event_handler.h"
#include "adapters/storage/sql_payment_repository.h"
#include "app/payment_service.h"
#include "domain/payment.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/uuid.h"
#include "orderflow/http/router.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/outbox.h"
#include "orderflow/observability/logging.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/support.h"

namespace orderflow {
void PrintTo(const Decimal& d, std::ostream* os) { *os << d.to_string(); }
}  // namespace orderflow

namespace orderflow::payment {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using observability::Outcome;
using orderflow::testing::eventually;

constexpr const char* kGroup = "payment-service";
constexpr const char* kPaymentsTopic = "payments.v1";
constexpr const char* kTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

Decimal dec(const char* text) { return Decimal::parse(text).value(); }

/// The simulated gateway behind the port, counting the calls that reach it; a call can be made
/// to fail (kUnavailable) or charges can be held until released.
class CountingGateway final : public PaymentGateway {
 public:
  explicit CountingGateway(DeclineRule rule = {}) : inner_({0ms, rule}) {}

  Result<GatewayCharge> charge(const ChargeRequest& request) override {
    ++charge_calls;
    {
      std::unique_lock lock(mutex_);
      ++entered_charges_;
      entered_cv_.notify_all();
      release_cv_.wait(lock, [&] { return !hold_charges_; });
    }
    if (fail_charges > 0) {
      --fail_charges;
      return unavailable("GATEWAY_TIMEOUT", "simulated gateway timeout");
    }
    EXPECT_EQ(request.idempotency_key, std::to_string(request.order_id));
    return inner_.charge(request);
  }
  Result<std::optional<GatewayCharge>> find_charge(const std::string& key) override {
    ++lookup_calls;
    if (fail_lookups > 0) {
      --fail_lookups;
      return unavailable("GATEWAY_TIMEOUT", "simulated gateway timeout");
    }
    return inner_.find_charge(key);
  }
  Result<std::string> refund(const std::string& payment_id) override {
    ++refund_calls;
    if (fail_refunds > 0) {
      --fail_refunds;
      return unavailable("GATEWAY_TIMEOUT", "simulated gateway timeout");
    }
    return inner_.refund(payment_id);
  }

  void hold_charges() {
    std::lock_guard lock(mutex_);
    hold_charges_ = true;
  }
  void release_charges() {
    {
      std::lock_guard lock(mutex_);
      hold_charges_ = false;
    }
    release_cv_.notify_all();
  }
  int entered_charges() {
    std::lock_guard lock(mutex_);
    return entered_charges_;
  }

  SimulatedGateway& inner() { return inner_; }

  std::atomic<int> charge_calls{0};
  std::atomic<int> lookup_calls{0};
  std::atomic<int> refund_calls{0};
  std::atomic<int> fail_charges{0};
  std::atomic<int> fail_lookups{0};
  std::atomic<int> fail_refunds{0};

 private:
  SimulatedGateway inner_;
  std::mutex mutex_;
  std::condition_variable entered_cv_;
  std::condition_variable release_cv_;
  bool hold_charges_ = false;
  int entered_charges_ = 0;
};

class PaymentServiceTest : public ::testing::Test {
 protected:
  PaymentServiceTest() : gateway_(DeclineRule{dec("1000000")}) {
    storage::StorageConfig cfg;
    cfg.sqlite_path = dir_.file("payment.db");
    db_ = storage::open_database(cfg);
    storage::migrate(*db_, "inbox", messaging::Inbox::migrations());
    storage::migrate(*db_, "outbox", messaging::Outbox::migrations());
    storage::migrate(*db_, "payment", payment_migrations());
    repository_ = std::make_unique<SqlPaymentRepository>(*db_, kPaymentsTopic, "payment-service",
                                                         [this] { ++relay_wakeups_; });
    service_ = std::make_unique<PaymentService>(*repository_, gateway_, clock_, kGroup);
    handler_ = make_event_handler(*service_, observability::make_logger("payment-test", {"off"}));
    add_payment_routes(router_, *service_);
  }

  messaging::ConsumedRecord record(const std::string& topic, const std::string& type,
                                   const json& payload, std::string event_id = {},
                                   int version = 1) {
    messaging::EventMeta meta{event_id.empty() ? new_uuid() : std::move(event_id), type, version,
                              "2026-11-21T10:15:30.123Z"};
    messaging::ConsumedRecord r;
    r.topic = topic;
    r.partition = 1;
    r.offset = next_offset_++;
    r.key = payload.contains("orderId") ? payload["orderId"].dump() : "";
    r.value = messaging::encode_event(meta, payload);
    r.headers = messaging::standard_headers(meta, "test", kTrace);
    return r;
  }

  messaging::ConsumedRecord stock_reserved(std::int64_t order_id, const std::string& amount,
                                           std::string event_id = {},
                                           const std::string& currency = "KRW") {
    return record("inventory.v1", "STOCK_RESERVED",
                  {{"orderId", order_id},
                   {"userId", "user-" + std::to_string(order_id)},
                   {"totalAmount", amount},
                   {"currency", currency},
                   {"items", json::array({{{"sku", "ABC-001"}, {"quantity", 2}}})},
                   {"expiresAt", "2026-11-21T10:30:30.123Z"}},
                  std::move(event_id));
  }

  messaging::ConsumedRecord order_cancelled(std::int64_t order_id, const std::string& amount,
                                            std::string event_id = {},
                                            const std::string& reason = "USER_REQUESTED",
                                            const std::string& currency = "KRW") {
    return record("orders.v1", "ORDER_CANCELLED",
                  {{"orderId", order_id},
                   {"userId", "user-" + std::to_string(order_id)},
                   {"totalAmount", amount},
                   {"currency", currency},
                   {"reason", reason},
                   {"previousStatus", "CONFIRMED"}},
                  std::move(event_id));
  }

  messaging::HandlerResult handle(const messaging::ConsumedRecord& r) { return handler_(r); }

  std::vector<messaging::OutgoingRecord> outbox() {
    auto rows = messaging::make_outbox_store(*db_)->fetch_unsent(1000);
    EXPECT_TRUE(rows.ok());
    std::vector<messaging::OutgoingRecord> out;
    if (rows.ok()) {
      for (auto& row : rows.value()) out.push_back(std::move(row.record));
    }
    return out;
  }

  std::int64_t count(const std::string& table) {
    std::int64_t n = -1;
    auto r = db_->read([&](storage::Tx& tx) -> Result<void> {
      auto rows = tx.query("SELECT COUNT(*) FROM " + table);
      if (!rows) return rows.error();
      n = rows.value().at(0).integer(0);
      return {};
    });
    EXPECT_TRUE(r.ok());
    return n;
  }

  std::optional<Payment> payment_of(std::int64_t order_id) {
    auto list = service_->list_by_order(order_id);
    EXPECT_TRUE(list.ok());
    if (!list.ok() || list->empty()) return std::nullopt;
    EXPECT_EQ(list->size(), 1u);
    return list->front();
  }

  http::Response get(const std::string& path, std::map<std::string, std::string> query = {}) {
    http::Request req;
    req.method = "GET";
    req.path = path;
    req.query = std::move(query);
    std::string route;
    return router_.dispatch(req, route);
  }

  static void expect_processed(const messaging::HandlerResult& r) {
    EXPECT_EQ(r.outcome, Outcome::kProcessed)
        << (r.error ? r.error->code + ": " + r.error->message : std::string("no error"));
    EXPECT_FALSE(r.error.has_value());
  }
  static void expect_skip(const messaging::HandlerResult& r, const std::string& code) {
    EXPECT_EQ(r.outcome, Outcome::kSkip);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->code, code);
  }

  orderflow::testing::TempDir dir_;
  ManualClock clock_;
  CountingGateway gateway_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<SqlPaymentRepository> repository_;
  std::unique_ptr<PaymentService> service_;
  messaging::RecordHandler handler_;
  http::Router router_;
  std::atomic<int> relay_wakeups_{0};
  std::int64_t next_offset_ = 0;
};

TEST_F(PaymentServiceTest, StockReservedChargesAndEmitsPaymentCompletedWithTheExactAmount) {
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

TEST_F(PaymentServiceTest, AmountOverTheLimitEmitsPaymentFailed) {
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

TEST_F(PaymentServiceTest, RedeliveryOfTheSameEventDoesNothing) {
  auto in = stock_reserved(104, "25800");
  expect_processed(handle(in));
  auto again = handle(in);
  EXPECT_EQ(again.outcome, Outcome::kDuplicate);
  EXPECT_EQ(outbox().size(), 1u);
  EXPECT_EQ(count("payments"), 1);
  EXPECT_EQ(gateway_.charge_calls.load(), 1);
}

TEST_F(PaymentServiceTest, AnotherStockReservedForAPaidOrderIsNotChargedAgain) {
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

TEST_F(PaymentServiceTest, CancelAfterCaptureRefunds) {
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

TEST_F(PaymentServiceTest, CancelBeforeStockReservedMeansNeverCharged) {
  expect_processed(handle(order_cancelled(108, "25800")));
  expect_skip(handle(stock_reserved(108, "25800")), "ORDER_CANCELLED");
  expect_skip(handle(stock_reserved(108, "25800")), "ORDER_CANCELLED");
  EXPECT_EQ(gateway_.charge_calls.load(), 0);
  EXPECT_EQ(gateway_.inner().charge_count(), 0);
  EXPECT_FALSE(payment_of(108).has_value());
  EXPECT_TRUE(outbox().empty());
  EXPECT_EQ(count("cancelled_orders"), 1);
}

TEST_F(PaymentServiceTest, CancelTwiceRefundsOnce) {
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

TEST_F(PaymentServiceTest, CancelAfterADeclineRefundsNothing) {
  expect_processed(handle(stock_reserved(110, "5000000")));
  expect_skip(handle(order_cancelled(110, "5000000", {}, "PAYMENT_FAILED")), "NOTHING_TO_REFUND");
  EXPECT_EQ(gateway_.refund_calls.load(), 0);
  EXPECT_EQ(payment_of(110)->status, PaymentStatus::kFailed);
  EXPECT_EQ(outbox().size(), 1u);
}

TEST_F(PaymentServiceTest, BadInputIsANonRetryableErrorAndStoresNothing) {
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
    EXPECT_EQ(result.outcome, Outcome::kError) << r.value;
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

TEST_F(PaymentServiceTest, CancelThatContradictsThePaymentIsRefusedWithoutRefund) {
  expect_processed(handle(stock_reserved(113, "100")));
  for (const auto& r :
       {order_cancelled(113, "100", {}, "USER_REQUESTED", "USD"), order_cancelled(113, "99.99")}) {
    auto result = handle(r);
    EXPECT_EQ(result.outcome, Outcome::kError);
    ASSERT_TRUE(result.error.has_value());
    EXPECT_FALSE(result.error->retryable());
  }
  EXPECT_EQ(gateway_.refund_calls.load(), 0);
  EXPECT_EQ(payment_of(113)->status, PaymentStatus::kCaptured);
}

TEST_F(PaymentServiceTest, OtherEventTypesAreProcessedAndIgnored) {
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

TEST_F(PaymentServiceTest, GatewayFailureIsRetryableAndStoresNothing) {
  gateway_.fail_charges = 1;
  auto in = stock_reserved(115, "100");
  auto failed = handle(in);
  EXPECT_EQ(failed.outcome, Outcome::kError);
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

TEST_F(PaymentServiceTest, RefundFailureIsRetriedAndRefundsOnce) {
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

TEST_F(PaymentServiceTest, CrashBetweenChargeAndCommitIsNotChargedTwice) {
  // The gateway charged, then the process died before the payment row committed.
  auto in = stock_reserved(117, "100");
  ASSERT_TRUE(gateway_.inner().charge({"117", 117, "user-117", dec("100"), "KRW"}).ok());
  expect_processed(handle(in));  // redelivery
  EXPECT_EQ(gateway_.inner().charge_count(), 1);
  auto payment = payment_of(117).value();
  EXPECT_EQ(payment.id, gateway_.inner().find_charge("117").value()->payment_id);
}

TEST_F(PaymentServiceTest, CancelOvertakingACrashedChargeRefundsIt) {
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

TEST_F(PaymentServiceTest, CancelWhoseLookupFailsStillStopsALaterCharge) {
  gateway_.fail_lookups = 1;
  auto failed = handle(order_cancelled(119, "100"));
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_TRUE(failed.error->retryable());
  EXPECT_EQ(count("processed_events"), 0);  // the cancel itself is retried
  expect_skip(handle(stock_reserved(119, "100")), "ORDER_CANCELLED");
  EXPECT_EQ(gateway_.charge_calls.load(), 0);
}

TEST_F(PaymentServiceTest, TheGatewayCallHoldsNoDatabaseWriteLock) {
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

TEST_F(PaymentServiceTest, HttpListsAndGetsPayments) {
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

TEST(SimulatedGatewayLatencyTest, ShutdownInterruptsACallWaitingOutItsLatency) {
  SimulatedGateway gateway({30s, {}});
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

TEST(SimulatedGatewayLatencyTest, LatencyIsAppliedAndCallsOverlap) {
  SimulatedGateway gateway({300ms, {}});
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

}  // namespace
}  // namespace orderflow::payment
