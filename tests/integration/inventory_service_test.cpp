// Integration tests of the inventory service on SQLite and PostgreSQL, no broker: records are
// encoded as the order and payment services would and fed to the consumer's RecordHandler;
// the outbox is read back. Covers issue 3's saga steps (reserve all-or-none, reject, release,
// deduct, deduction failure), the inbox (redelivery), seed 004's expiry (conditional update,
// twice = once), seed 003's FAIL fault, bad input, the HTTP API through Router::dispatch, and
// ARCHITECTURE.md invariant 1 (stock conservation, available never < 0). With two instances on
// one database (issue 11): handlers of one order racing on both, and both expiring at once.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <barrier>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/http/inventory_routes.h"
#include "adapters/kafka/inventory_event_handler.h"
#include "adapters/scheduler/expiry_scheduler.h"
#include "adapters/storage/sql_inventory_repository.h"
#include "app/inventory_service.h"
#include "domain/inventory.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/decimal.h"
#include "orderflow/common/uuid.h"
#include "orderflow/http/router.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/outbox.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/observability/trace_context.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/auth_tokens.h"
#include "orderflow/testing/row_count.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_database.h"

namespace orderflow {
void PrintTo(const Decimal& d, std::ostream* os) { *os << d.to_string(); }
}  // namespace orderflow

namespace orderflow::inventory {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Outcome = messaging::HandlerOutcome;

constexpr const char* kInventoryTopic = "inventory.v1";
constexpr const char* kSource = "inventory-service";
constexpr const char* kGroup = "inventory-service";
constexpr auto kTtl = 15min;

Decimal dec(const char* text) { return Decimal::parse(text).value(); }

struct Line {
  std::string sku;
  std::int64_t quantity;
};

/// One outbox row, decoded.
struct Emitted {
  std::string topic;
  std::string key;
  json value;
  json headers;
  [[nodiscard]] std::string header(const std::string& name) const {
    for (const auto& h : headers) {
      if (h.at("key") == name) return h.at("value");
    }
    return {};
  }
};

class InventoryServiceTest : public ::testing::TestWithParam<orderflow::testing::DatabaseKind> {
 protected:
  InventoryServiceTest() : database_(GetParam()) {
    db_ = storage::open_database(database_.storage_config());
    storage::migrate(*db_, "inbox", messaging::Inbox::migrations());
    storage::migrate(*db_, "outbox", messaging::Outbox::migrations());
    storage::migrate(*db_, "inventory", inventory_migrations());
    repository_ = std::make_unique<SqlInventoryRepository>(*db_, kInventoryTopic, kSource,
                                                           [this] { ++commits_; });
    InventorySettings settings;
    settings.consumer_group = kGroup;
    settings.reservation_ttl = kTtl;
    settings.fail_sku_prefix = "FAIL";
    settings.expiry_batch_size = 100;
    service_ = std::make_unique<InventoryService>(*repository_, clock_, settings, &metrics_);
    auto seeded = service_->seed_catalog({{"A", "Mouse", dec("12900"), 10, 0, 0},
                                          {"B", "Keyboard", dec("89000"), 5, 0, 0},
                                          {"LIM", "Limited", dec("150000"), 3, 0, 0},
                                          {"FAIL", "Fault", dec("1000"), 100, 0, 0}});
    EXPECT_TRUE(seeded.ok());
    EXPECT_EQ(seeded.value(), 4);
    handler_ = make_event_handler(*service_);
    add_inventory_routes(router_, *service_, [this] { return intake_open_.load(); });
  }

  // --- records as the other services produce them ---

  messaging::ConsumedRecord record(const std::string& topic, const std::string& type,
                                   std::int64_t order_id, json payload,
                                   const std::string& event_id = new_uuid(), int version = 1) {
    messaging::EventMeta meta{event_id, type, version, format_iso8601(clock_.now())};
    payload["orderId"] = order_id;
    messaging::ConsumedRecord r;
    r.topic = topic;
    r.partition = 0;
    r.offset = next_offset_++;
    r.key = std::to_string(order_id);
    r.value = messaging::encode_event(meta, payload);
    r.headers = messaging::standard_headers(meta, "test", kTrace);
    return r;
  }

  messaging::ConsumedRecord order_created(std::int64_t order_id, const std::vector<Line>& lines,
                                          const std::string& event_id = new_uuid()) {
    json items = json::array();
    for (const auto& l : lines) {
      items.push_back({{"sku", l.sku}, {"quantity", l.quantity}, {"unitPrice", "100"}});
    }
    return record("orders.v1", "ORDER_CREATED", order_id,
                  {{"userId", "42"},
                   {"totalAmount", "25800"},
                   {"currency", "KRW"},
                   {"items", std::move(items)}},
                  event_id);
  }

  messaging::ConsumedRecord order_cancelled(std::int64_t order_id) {
    return record("orders.v1", "ORDER_CANCELLED", order_id,
                  {{"userId", "42"},
                   {"totalAmount", "25800"},
                   {"currency", "KRW"},
                   {"reason", "USER_REQUESTED"},
                   {"previousStatus", "CONFIRMED"}});
  }

  messaging::ConsumedRecord payment_completed(std::int64_t order_id) {
    return record("payments.v1", "PAYMENT_COMPLETED", order_id,
                  {{"userId", "42"},
                   {"paymentId", "p-" + std::to_string(order_id)},
                   {"amount", "25800"},
                   {"currency", "KRW"}});
  }

  messaging::HandlerResult handle(const messaging::ConsumedRecord& r) { return handler_(r); }

  // --- reading state back ---

  std::vector<Emitted> outbox() {
    std::vector<Emitted> out;
    auto r = db_->read([&](storage::Tx& tx) -> Result<void> {
      auto rows = tx.query("SELECT topic, record_key, value, headers FROM outbox ORDER BY id");
      if (!rows) return rows.error();
      for (const auto& row : rows.value()) {
        out.push_back(
            {row.text(0), row.text(1), json::parse(row.text(2)), json::parse(row.text(3))});
      }
      return {};
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return out;
  }

  std::vector<Emitted> events_of(const std::string& type) {
    std::vector<Emitted> out;
    for (auto& e : outbox()) {
      if (e.value.at("eventType") == type) out.push_back(std::move(e));
    }
    return out;
  }

  std::int64_t count(const std::string& table) {
    return orderflow::testing::row_count(*db_, table);
  }

  Product product(const std::string& sku) { return service_->get_product(sku).value(); }

  std::optional<ReservationStatus> status_of(std::int64_t order_id) {
    auto r = service_->get_reservation(order_id);
    if (!r) return std::nullopt;
    return r->status;
  }

  void expect_levels(const std::string& sku, std::int64_t available, std::int64_t reserved,
                     std::int64_t sold) {
    auto p = product(sku);
    EXPECT_EQ(p.available, available) << sku << " available";
    EXPECT_EQ(p.reserved, reserved) << sku << " reserved";
    EXPECT_EQ(p.sold, sold) << sku << " sold";
  }

  /// Dispatches a request, with `token` as its bearer token when given; authenticated by auth_
  /// when a test set it (auth.mode none otherwise).
  http::Response call(const std::string& method, const std::string& target,
                      const std::string& body = {},
                      const std::optional<std::string>& token = std::nullopt) {
    http::Request req;
    req.method = method;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) {
      auto query = target.substr(q + 1);
      auto eq = query.find('=');
      req.query[query.substr(0, eq)] = eq == std::string::npos ? "" : query.substr(eq + 1);
    }
    req.body = body;
    if (token) req.headers.push_back(orderflow::testing::bearer(*token));
    return router_.dispatch(req, auth_.get()).response;
  }

  static constexpr const char* kTrace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

  orderflow::testing::TestDatabase database_;
  observability::Metrics metrics_{kSource};
  ManualClock clock_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<SqlInventoryRepository> repository_;
  std::unique_ptr<InventoryService> service_;
  messaging::RecordHandler handler_;
  http::Router router_;
  std::unique_ptr<http::Authenticator> auth_;
  std::atomic<bool> intake_open_{true};
  std::atomic<int> commits_{0};
  std::int64_t next_offset_ = 0;
};

TEST_P(InventoryServiceTest, OrderCreatedReservesAndEmitsStockReservedWithTheOrdersFields) {
  auto result = handle(order_created(101, {{"A", 2}, {"B", 1}, {"A", 1}}));
  EXPECT_EQ(result.outcome, Outcome::kProcessed);
  EXPECT_EQ(result.event_type, "ORDER_CREATED");

  expect_levels("A", 7, 3, 0);
  expect_levels("B", 4, 1, 0);
  auto events = outbox();
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e.topic, kInventoryTopic);
  EXPECT_EQ(e.key, "101");
  EXPECT_EQ(e.value.at("eventType"), "STOCK_RESERVED");
  EXPECT_EQ(e.value.at("eventVersion"), 1);
  EXPECT_EQ(e.value.at("orderId"), 101);
  EXPECT_EQ(e.value.at("userId"), "42");
  EXPECT_EQ(e.value.at("totalAmount"), "25800");
  EXPECT_EQ(e.value.at("currency"), "KRW");
  EXPECT_EQ(e.value.at("items"),
            json::parse(R"([{"sku":"A","quantity":3},{"sku":"B","quantity":1}])"));
  EXPECT_EQ(e.value.at("expiresAt"), format_iso8601(clock_.now() + kTtl));
  EXPECT_EQ(e.value.at("timestamp"), format_iso8601(clock_.now()));
  EXPECT_EQ(e.header("eventId"), e.value.at("eventId"));
  EXPECT_EQ(e.header("eventType"), "STOCK_RESERVED");
  EXPECT_EQ(e.header("source"), kSource);
  // Same trace as the order's record, new span.
  auto trace = e.header("traceparent");
  EXPECT_EQ(trace.substr(0, 36), std::string(kTrace).substr(0, 36));
  EXPECT_NE(trace, kTrace);
  EXPECT_GE(commits_.load(), 1);

  auto reservation = service_->get_reservation(101);
  ASSERT_TRUE(reservation.ok());
  EXPECT_EQ(reservation->status, ReservationStatus::kReserved);
  EXPECT_EQ(reservation->expires_at, clock_.now() + kTtl);
}

TEST_P(InventoryServiceTest, OrderBeyondAvailableIsRejectedOutOfStockAndReservesNothing) {
  ASSERT_EQ(handle(order_created(1, {{"LIM", 2}})).outcome, Outcome::kProcessed);
  auto result = handle(order_created(2, {{"A", 1}, {"LIM", 2}}));
  EXPECT_EQ(result.outcome, Outcome::kProcessed);

  auto rejected = events_of("STOCK_REJECTED");
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].key, "2");
  EXPECT_EQ(rejected[0].value.at("orderId"), 2);
  EXPECT_EQ(rejected[0].value.at("userId"), "42");
  EXPECT_EQ(rejected[0].value.at("reason"), "OUT_OF_STOCK");
  EXPECT_EQ(rejected[0].value.at("sku"), "LIM");
  // All or none: A of order 2 was not reserved either.
  expect_levels("A", 10, 0, 0);
  expect_levels("LIM", 1, 2, 0);
  EXPECT_FALSE(status_of(2));
}

TEST_P(InventoryServiceTest, UnknownSkuIsRejectedNamingTheSku) {
  ASSERT_EQ(handle(order_created(3, {{"A", 1}, {"NO-SUCH", 1}})).outcome, Outcome::kProcessed);
  auto rejected = events_of("STOCK_REJECTED");
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].value.at("reason"), "UNKNOWN_SKU");
  EXPECT_EQ(rejected[0].value.at("sku"), "NO-SUCH");
  expect_levels("A", 10, 0, 0);
}

TEST_P(InventoryServiceTest, RedeliveryOfTheSameEventIdChangesNothing) {
  auto created = order_created(4, {{"A", 2}});
  ASSERT_EQ(handle(created).outcome, Outcome::kProcessed);
  auto again = handle(created);
  EXPECT_EQ(again.outcome, Outcome::kDuplicate);
  expect_levels("A", 8, 2, 0);
  EXPECT_EQ(outbox().size(), 1u);

  // A new eventId for an order already reserved (e.g. a replay) is skipped, not re-reserved.
  auto replay = handle(order_created(4, {{"A", 2}}));
  EXPECT_EQ(replay.outcome, Outcome::kSkip);
  ASSERT_TRUE(replay.error);
  EXPECT_EQ(replay.error->code, "ALREADY_RESERVED");
  expect_levels("A", 8, 2, 0);
  EXPECT_EQ(outbox().size(), 1u);
}

TEST_P(InventoryServiceTest, ReservationCountersMoveOncePerCommittedDecision) {
  auto reservations = [&](const std::string& outcome) {
    return orderflow::testing::metric_value(
        metrics_.serialize(), "orderflow_stock_reservations_total", "outcome=\"" + outcome + "\"");
  };
  EXPECT_EQ(reservations("rejected"), 0);  // registered at start
  auto created = order_created(30, {{"A", 1}});
  ASSERT_EQ(handle(created).outcome, Outcome::kProcessed);
  EXPECT_EQ(handle(created).outcome, Outcome::kDuplicate);
  EXPECT_EQ(handle(order_created(30, {{"A", 1}})).outcome, Outcome::kSkip);  // ALREADY_RESERVED
  ASSERT_EQ(handle(order_created(31, {{"LIM", 9}})).outcome, Outcome::kProcessed);
  ASSERT_EQ(handle(order_created(32, {{"NO-SUCH", 1}})).outcome, Outcome::kProcessed);
  EXPECT_NE(handle(order_created(33, {{"FAIL", 1}})).outcome, Outcome::kProcessed);  // fault
  EXPECT_EQ(reservations("accepted"), 1);
  EXPECT_EQ(reservations("rejected"), 2);
}

TEST_P(InventoryServiceTest, OrderCancelledReleasesTheReservationOnce) {
  ASSERT_EQ(handle(order_created(5, {{"A", 3}})).outcome, Outcome::kProcessed);
  auto result = handle(order_cancelled(5));
  EXPECT_EQ(result.outcome, Outcome::kProcessed);
  expect_levels("A", 10, 0, 0);
  EXPECT_EQ(status_of(5), ReservationStatus::kReleased);
  auto released = events_of("STOCK_RELEASED");
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].value.at("reason"), "ORDER_CANCELLED");
  EXPECT_EQ(released[0].value.at("userId"), "42");
  EXPECT_EQ(released[0].value.at("items"), json::parse(R"([{"sku":"A","quantity":3}])"));

  // A second cancel (another eventId) has nothing left to release.
  EXPECT_EQ(handle(order_cancelled(5)).outcome, Outcome::kProcessed);
  expect_levels("A", 10, 0, 0);
  EXPECT_EQ(events_of("STOCK_RELEASED").size(), 1u);
}

TEST_P(InventoryServiceTest, PaymentCompletedDeductsTheReservation) {
  ASSERT_EQ(handle(order_created(6, {{"A", 2}, {"B", 1}})).outcome, Outcome::kProcessed);
  auto result = handle(payment_completed(6));
  EXPECT_EQ(result.outcome, Outcome::kProcessed);
  expect_levels("A", 8, 0, 2);
  expect_levels("B", 4, 0, 1);
  EXPECT_EQ(status_of(6), ReservationStatus::kDeducted);
  auto deducted = events_of("STOCK_DEDUCTED");
  ASSERT_EQ(deducted.size(), 1u);
  EXPECT_EQ(deducted[0].key, "6");
  EXPECT_EQ(deducted[0].value.at("userId"), "42");
  EXPECT_EQ(deducted[0].value.at("items"),
            json::parse(R"([{"sku":"A","quantity":2},{"sku":"B","quantity":1}])"));

  // A second payment event does not deduct twice; a late expiry run does not touch it
  // (a cancel after the deduction is CancelAfterDeductionReturnsTheSoldStock).
  EXPECT_EQ(handle(payment_completed(6)).outcome, Outcome::kSkip);
  clock_.advance(kTtl + 1s);
  EXPECT_EQ(service_->expire_due().value(), 0);
  expect_levels("A", 8, 0, 2);
  EXPECT_EQ(events_of("STOCK_DEDUCTED").size(), 1u);
  EXPECT_EQ(events_of("STOCK_RELEASED").size(), 0u);
}

TEST_P(InventoryServiceTest, PaymentAfterExpiryFailsTheDeductionSoTheSagaRefunds) {
  ASSERT_EQ(handle(order_created(7, {{"A", 2}})).outcome, Outcome::kProcessed);
  clock_.advance(kTtl);
  ASSERT_EQ(service_->expire_due().value(), 1);
  auto result = handle(payment_completed(7));
  EXPECT_EQ(result.outcome, Outcome::kProcessed);
  auto failed = events_of("STOCK_DEDUCTION_FAILED");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].key, "7");
  EXPECT_EQ(failed[0].value.at("reason"), "RESERVATION_EXPIRED");
  EXPECT_EQ(failed[0].value.at("userId"), "42");
  expect_levels("A", 10, 0, 0);
  EXPECT_EQ(status_of(7), ReservationStatus::kExpired);
}

TEST_P(InventoryServiceTest, PaymentAfterCancelFailsWithReservationReleased) {
  ASSERT_EQ(handle(order_created(8, {{"B", 1}})).outcome, Outcome::kProcessed);
  ASSERT_EQ(handle(order_cancelled(8)).outcome, Outcome::kProcessed);
  ASSERT_EQ(handle(payment_completed(8)).outcome, Outcome::kProcessed);
  auto failed = events_of("STOCK_DEDUCTION_FAILED");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].value.at("reason"), "RESERVATION_RELEASED");
  expect_levels("B", 5, 0, 0);
}

// A cancel that arrives after the payment was deducted (the charge raced the cancel, or a saga
// timeout in PAID) must give the sold stock back: CANCELLED ⇒ no stock held (invariant 3).
TEST_P(InventoryServiceTest, CancelAfterDeductionReturnsTheSoldStock) {
  ASSERT_EQ(handle(order_created(11, {{"A", 2}})).outcome, Outcome::kProcessed);
  ASSERT_EQ(handle(payment_completed(11)).outcome, Outcome::kProcessed);
  expect_levels("A", 8, 0, 2);
  ASSERT_EQ(handle(order_cancelled(11)).outcome, Outcome::kProcessed);
  expect_levels("A", 10, 0, 0);
  EXPECT_EQ(status_of(11), ReservationStatus::kReleased);
  auto released = events_of("STOCK_RELEASED");
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].value.at("reason"), "ORDER_CANCELLED");
  ASSERT_EQ(handle(order_cancelled(11)).outcome, Outcome::kProcessed);
  expect_levels("A", 10, 0, 0);
}

TEST_P(InventoryServiceTest, ExpireDueReleasesOnceAndASecondRunChangesNothing) {
  ASSERT_EQ(handle(order_created(9, {{"A", 4}})).outcome, Outcome::kProcessed);
  clock_.advance(5min);
  ASSERT_EQ(handle(order_created(10, {{"A", 1}})).outcome, Outcome::kProcessed);

  clock_.advance(kTtl - 5min - 1ms);
  EXPECT_EQ(service_->expire_due().value(), 0) << "nothing is due before its deadline";
  expect_levels("A", 5, 5, 0);

  clock_.advance(1ms);
  EXPECT_EQ(service_->expire_due().value(), 1);
  EXPECT_EQ(status_of(9), ReservationStatus::kExpired);
  EXPECT_EQ(status_of(10), ReservationStatus::kReserved);
  expect_levels("A", 9, 1, 0);
  auto released = events_of("STOCK_RELEASED");
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].value.at("reason"), "EXPIRED");
  EXPECT_EQ(released[0].value.at("orderId"), 9);
  EXPECT_EQ(released[0].value.at("items"), json::parse(R"([{"sku":"A","quantity":4}])"));

  EXPECT_EQ(service_->expire_due().value(), 0);
  expect_levels("A", 9, 1, 0);
  EXPECT_EQ(events_of("STOCK_RELEASED").size(), 1u);

  // A cancel after the expiry has nothing to release.
  EXPECT_EQ(handle(order_cancelled(9)).outcome, Outcome::kProcessed);
  expect_levels("A", 9, 1, 0);
  EXPECT_EQ(events_of("STOCK_RELEASED").size(), 1u);
}

// Issue 14 item 6: the expiry works for the order, so its STOCK_RELEASED continues the trace
// of the reservation's cause (the ORDER_CREATED record; the same trace-id, a span of its own)
// instead of starting one; a reservation stored before the trace context was kept ('' in its
// row) expires in a new trace.
TEST_P(InventoryServiceTest, ExpiryContinuesTheTraceOfTheReservation) {
  ASSERT_EQ(handle(order_created(11, {{"A", 1}})).outcome, Outcome::kProcessed);
  ASSERT_EQ(handle(order_created(12, {{"A", 1}})).outcome, Outcome::kProcessed);
  ASSERT_TRUE(db_->write([&](storage::Tx& tx) -> Result<void> {
                   auto r = tx.exec("UPDATE reservations SET traceparent = '' WHERE order_id = 12");
                   if (!r) return r.error();
                   return {};
                 })
                  .ok());
  clock_.advance(kTtl);
  ASSERT_EQ(service_->expire_due().value(), 2);
  auto reserved = events_of("STOCK_RESERVED");
  auto released = events_of("STOCK_RELEASED");
  ASSERT_EQ(reserved.size(), 2u);
  ASSERT_EQ(released.size(), 2u);
  ASSERT_EQ(released[0].key, "11");
  auto expiry = observability::parse_traceparent(released[0].header("traceparent"));
  auto reservation = observability::parse_traceparent(reserved[0].header("traceparent"));
  ASSERT_TRUE(expiry && reservation) << released[0].header("traceparent");
  EXPECT_EQ(expiry->trace_id, observability::trace_id_of(kTrace)) << "the order's trace";
  EXPECT_NE(expiry->span_id, reservation->span_id);
  EXPECT_NE(expiry->span_id, observability::parse_traceparent(kTrace)->span_id);
  auto legacy = released[1].header("traceparent");
  EXPECT_TRUE(observability::parse_traceparent(legacy).has_value()) << legacy;
  EXPECT_NE(observability::trace_id_of(legacy), observability::trace_id_of(kTrace));
}

TEST_P(InventoryServiceTest, ExpiryWorksInBatches) {
  InventorySettings settings = service_->settings();
  settings.expiry_batch_size = 2;
  InventoryService small_batches(*repository_, clock_, settings);
  for (std::int64_t id = 20; id < 25; ++id) {
    ASSERT_EQ(handle(order_created(id, {{"A", 1}})).outcome, Outcome::kProcessed);
  }
  clock_.advance(kTtl);
  EXPECT_EQ(small_batches.expire_due().value(), 2);
  EXPECT_EQ(small_batches.expire_due().value(), 2);
  EXPECT_EQ(small_batches.expire_due().value(), 1);
  EXPECT_EQ(small_batches.expire_due().value(), 0);
  expect_levels("A", 10, 0, 0);
}

TEST_P(InventoryServiceTest, SchedulerThreadExpiresDueReservations) {
  observability::Metrics metrics(kSource);
  ExpiryScheduler scheduler(*service_, 5ms, metrics, observability::make_logger(kSource, {}));
  ASSERT_EQ(handle(order_created(30, {{"B", 2}})).outcome, Outcome::kProcessed);
  scheduler.start();
  clock_.advance(kTtl);
  EXPECT_TRUE(
      orderflow::testing::eventually([&] { return status_of(30) == ReservationStatus::kExpired; }));
  scheduler.stop();
  expect_levels("B", 5, 0, 0);
  EXPECT_EQ(events_of("STOCK_RELEASED").size(), 1u);
  EXPECT_NE(metrics.serialize().find("orderflow_reservations_expired_total"), std::string::npos);
}

TEST_P(InventoryServiceTest, CancelBeforeCreateNeverReserves) {
  ASSERT_EQ(handle(order_cancelled(11)).outcome, Outcome::kProcessed);
  auto created = handle(order_created(11, {{"A", 2}}));
  EXPECT_EQ(created.outcome, Outcome::kSkip);
  ASSERT_TRUE(created.error);
  EXPECT_EQ(created.error->code, "ORDER_ALREADY_CANCELLED");
  expect_levels("A", 10, 0, 0);
  EXPECT_FALSE(status_of(11));
  EXPECT_TRUE(events_of("STOCK_RESERVED").empty());
  EXPECT_TRUE(outbox().empty());
}

TEST_P(InventoryServiceTest, FailSkuIsARetryableErrorAndStoresNothing) {
  auto result = handle(order_created(12, {{"A", 1}, {"FAIL", 1}}));
  EXPECT_EQ(result.outcome, Outcome::kFailed);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->kind, ErrorKind::kUnavailable);
  EXPECT_TRUE(result.error->retryable());
  EXPECT_EQ(result.error->code, "INJECTED_FAULT");
  EXPECT_EQ(count("processed_events"), 0);
  EXPECT_EQ(count("outbox"), 0);
  EXPECT_EQ(count("reservations"), 0);
  expect_levels("A", 10, 0, 0);
  expect_levels("FAIL", 100, 0, 0);
  // The retry fails the same way (the runner then dead-letters it).
  EXPECT_EQ(handle(order_created(12, {{"FAIL", 1}})).error->code, "INJECTED_FAULT");
}

TEST_P(InventoryServiceTest, OrderWithoutItemsStillGetsStockReserved) {
  auto created = record(
      "orders.v1", "ORDER_CREATED", 13,
      {{"userId", "7"}, {"totalAmount", "5000"}, {"currency", "KRW"}, {"items", json::array()}});
  ASSERT_EQ(handle(created).outcome, Outcome::kProcessed);
  auto reserved = events_of("STOCK_RESERVED");
  ASSERT_EQ(reserved.size(), 1u);
  EXPECT_EQ(reserved[0].value.at("items"), json::array());
  EXPECT_EQ(reserved[0].value.at("totalAmount"), "5000");
  EXPECT_EQ(reserved[0].value.at("userId"), "7");
  ASSERT_EQ(handle(payment_completed(13)).outcome, Outcome::kProcessed);
  EXPECT_EQ(events_of("STOCK_DEDUCTED").size(), 1u);
  EXPECT_EQ(status_of(13), ReservationStatus::kDeducted);
}

TEST_P(InventoryServiceTest, BadInputIsANonRetryableErrorAndStoresNothing) {
  // Unknown version of a handled type.
  auto v2 = record("orders.v1", "ORDER_CREATED", 14,
                   {{"userId", "42"},
                    {"totalAmount", "1"},
                    {"currency", "KRW"},
                    {"items", json::array({{{"sku", "A"}, {"quantity", 1}}})}},
                   new_uuid(), 2);
  auto r = handle(v2);
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.error->code, "UNSUPPORTED_EVENT_VERSION");
  EXPECT_FALSE(r.error->retryable());

  // Missing fields.
  auto no_items = record("orders.v1", "ORDER_CREATED", 14,
                         {{"userId", "42"}, {"totalAmount", "1"}, {"currency", "KRW"}});
  EXPECT_EQ(handle(no_items).error->code, "MALFORMED_EVENT");
  auto bad_quantity = record("orders.v1", "ORDER_CREATED", 14,
                             {{"userId", "42"},
                              {"totalAmount", "1"},
                              {"currency", "KRW"},
                              {"items", json::array({{{"sku", "A"}, {"quantity", "1"}}})}});
  EXPECT_EQ(handle(bad_quantity).error->code, "MALFORMED_EVENT");
  auto zero_quantity = record("orders.v1", "ORDER_CREATED", 14,
                              {{"userId", "42"},
                               {"totalAmount", "1"},
                               {"currency", "KRW"},
                               {"items", json::array({{{"sku", "A"}, {"quantity", 0}}})}});
  EXPECT_EQ(handle(zero_quantity).error->kind, ErrorKind::kInvalidInput);
  messaging::ConsumedRecord no_order = payment_completed(14);
  no_order.value = R"({"eventId":"e-1","eventType":"PAYMENT_COMPLETED","eventVersion":1,)"
                   R"("timestamp":"2026-01-01T00:00:00.000Z","userId":"42"})";
  EXPECT_EQ(handle(no_order).error->code, "MALFORMED_EVENT");

  // Not JSON at all.
  messaging::ConsumedRecord garbage = order_cancelled(14);
  garbage.value = "not json {";
  auto g = handle(garbage);
  EXPECT_EQ(g.outcome, Outcome::kFailed);
  EXPECT_EQ(g.error->code, "MALFORMED_EVENT");

  // A payment for an order this service never saw.
  auto unknown = handle(payment_completed(999));
  EXPECT_EQ(unknown.outcome, Outcome::kFailed);
  EXPECT_EQ(unknown.error->code, "UNKNOWN_ORDER");
  EXPECT_FALSE(unknown.error->retryable());

  EXPECT_EQ(count("processed_events"), 0);
  EXPECT_EQ(count("outbox"), 0);
  EXPECT_EQ(count("reservations"), 0);
  expect_levels("A", 10, 0, 0);
}

TEST_P(InventoryServiceTest, OtherEventTypesAreProcessedAndIgnored) {
  ASSERT_EQ(handle(order_created(15, {{"A", 1}})).outcome, Outcome::kProcessed);
  for (const char* type : {"ORDER_CONFIRMED", "ORDER_PAID", "ORDER_COMPLETED"}) {
    EXPECT_EQ(handle(record("orders.v1", type, 15, {{"userId", "42"}})).outcome,
              Outcome::kProcessed);
  }
  EXPECT_EQ(handle(record("payments.v1", "PAYMENT_FAILED", 15,
                          {{"userId", "42"}, {"reason", "DECLINED"}}))
                .outcome,
            Outcome::kProcessed);
  EXPECT_EQ(handle(record("payments.v1", "PAYMENT_REFUNDED", 15, {{"userId", "42"}}, new_uuid(), 7))
                .outcome,
            Outcome::kProcessed);
  EXPECT_EQ(handle(record("orders.v1", "SOMETHING_NEW", 15, {})).outcome, Outcome::kProcessed);
  EXPECT_EQ(outbox().size(), 1u);
  expect_levels("A", 9, 1, 0);
  EXPECT_EQ(status_of(15), ReservationStatus::kReserved);
}

TEST_P(InventoryServiceTest, SeedingAgainNeverOverwritesStock) {
  ASSERT_EQ(handle(order_created(16, {{"A", 2}})).outcome, Outcome::kProcessed);
  auto seeded = service_->seed_catalog(
      {{"A", "Mouse", dec("12900"), 1000, 0, 0}, {"NEW", "New", dec("1"), 4, 0, 0}});
  ASSERT_TRUE(seeded.ok());
  EXPECT_EQ(seeded.value(), 1);
  expect_levels("A", 8, 2, 0);
  expect_levels("NEW", 4, 0, 0);
}

TEST_P(InventoryServiceTest, ConcurrentOrdersNeverOversell) {
  constexpr int kOrders = 12;
  std::vector<std::thread> threads;
  std::atomic<int> processed{0};
  for (int i = 0; i < kOrders; ++i) {
    threads.emplace_back([&, i] {
      if (handle(order_created(100 + i, {{"LIM", 1}})).outcome == Outcome::kProcessed) {
        ++processed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(processed.load(), kOrders);
  EXPECT_EQ(events_of("STOCK_RESERVED").size(), 3u);
  EXPECT_EQ(events_of("STOCK_REJECTED").size(), static_cast<std::size_t>(kOrders - 3));
  expect_levels("LIM", 0, 3, 0);
}

TEST_P(InventoryServiceTest, StockIsConservedAcrossTheWholeSaga) {
  auto totals = [&] {
    std::map<std::string, std::int64_t> t;
    auto products = service_->list_products();
    for (const auto& p : products.value()) t[p.sku] = p.total();
    return t;
  };
  const auto before = totals();
  ASSERT_EQ(handle(order_created(40, {{"A", 2}, {"B", 2}})).outcome, Outcome::kProcessed);
  ASSERT_EQ(handle(order_created(41, {{"A", 3}})).outcome, Outcome::kProcessed);
  ASSERT_EQ(handle(order_created(42, {{"B", 3}, {"LIM", 3}})).outcome, Outcome::kProcessed);
  ASSERT_EQ(handle(order_created(43, {{"LIM", 1}})).outcome, Outcome::kProcessed);  // rejected
  ASSERT_EQ(handle(payment_completed(40)).outcome, Outcome::kProcessed);
  ASSERT_EQ(handle(order_cancelled(41)).outcome, Outcome::kProcessed);
  clock_.advance(kTtl);
  ASSERT_EQ(service_->expire_due().value(), 1);  // order 42
  ASSERT_EQ(handle(payment_completed(42)).outcome, Outcome::kProcessed);
  EXPECT_EQ(totals(), before);
  auto products = service_->list_products();
  for (const auto& p : products.value()) {
    EXPECT_GE(p.available, 0) << p.sku;
    EXPECT_EQ(p.reserved, 0) << p.sku << ": no hold left";
  }
  expect_levels("A", 8, 0, 2);
  expect_levels("B", 3, 0, 2);
  expect_levels("LIM", 3, 0, 0);
}

// --- HTTP API (Router::dispatch, no server) ---

TEST_P(InventoryServiceTest, HttpListsAndGetsProducts) {
  ASSERT_EQ(handle(order_created(50, {{"A", 2}})).outcome, Outcome::kProcessed);
  auto list = call("GET", "/api/products");
  ASSERT_EQ(list.status, 200);
  auto items = json::parse(list.body);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].at("sku"), "A");

  auto one = call("GET", "/api/products/A");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body), json::parse(R"({"sku":"A","name":"Mouse","unitPrice":"12900",
                                                 "available":8,"reserved":2,"sold":0})"));
  auto missing = call("GET", "/api/products/NOPE");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body).at("error").at("code"), "PRODUCT_NOT_FOUND");
}

TEST_P(InventoryServiceTest, HttpPutCreatesThenUpdates) {
  auto created =
      call("PUT", "/api/products/NEW-1", R"({"name":"New","unitPrice":"19.99","stock":7})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(json::parse(created.body),
            json::parse(R"({"sku":"NEW-1","name":"New","unitPrice":"19.99","available":7,
                            "reserved":0,"sold":0})"));
  auto updated = call("PUT", "/api/products/NEW-1", R"({"stock":3})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(json::parse(updated.body).at("available"), 3);
  EXPECT_EQ(json::parse(updated.body).at("unitPrice"), "19.99");
  auto priced = call("PUT", "/api/products/NEW-1", R"({"unitPrice":25})");
  ASSERT_EQ(priced.status, 200);
  EXPECT_EQ(product("NEW-1").unit_price, dec("25"));

  // Stock set while an order holds some: available changes, the hold stays.
  ASSERT_EQ(handle(order_created(51, {{"A", 4}})).outcome, Outcome::kProcessed);
  ASSERT_EQ(call("PUT", "/api/products/A", R"({"stock":20})").status, 200);
  expect_levels("A", 20, 4, 0);
}

TEST_P(InventoryServiceTest, HttpPutValidation) {
  auto expect_error = [&](const std::string& target, const std::string& body, int status,
                          const std::string& code) {
    auto r = call("PUT", target, body);
    EXPECT_EQ(r.status, status) << body << " → " << r.body;
    auto parsed = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << r.body;
    EXPECT_EQ(parsed["error"]["code"], code) << body;
    EXPECT_TRUE(parsed["error"]["message"].is_string());
  };
  expect_error("/api/products/A", R"({"stock":-1})", 422, "NEGATIVE_STOCK");
  expect_error("/api/products/A", R"({"unitPrice":"-5"})", 422, "NEGATIVE_PRICE");
  expect_error("/api/products/A", R"({"unitPrice":-0.5})", 422, "NEGATIVE_PRICE");
  expect_error("/api/products/NEW-2", R"({"name":"No price","stock":5})", 422,
               "MISSING_UNIT_PRICE");
  expect_error("/api/products/A", R"({"stock":)", 400, "MALFORMED_JSON");
  expect_error("/api/products/A", R"([1,2])", 400, "INVALID_BODY");
  expect_error("/api/products/A", R"({"stock":"5"})", 400, "INVALID_FIELD");
  expect_error("/api/products/A", R"({"stock":2.5})", 400, "INVALID_FIELD");
  expect_error("/api/products/A", R"({"unitPrice":true})", 400, "INVALID_FIELD");
  expect_error("/api/products/A", R"({"unitPrice":"1.23456"})", 400, "INVALID_FIELD");
  expect_error("/api/products/A", R"({"name":5})", 400, "INVALID_FIELD");
  expect_error("/api/products/A", R"({"stock":18446744073709551615})", 422, "INVALID_STOCK");
  // Nothing changed by the refused requests.
  expect_levels("A", 10, 0, 0);
  EXPECT_EQ(product("A").unit_price, dec("12900"));
  EXPECT_EQ(call("GET", "/api/products/NEW-2").status, 404);

  intake_open_ = false;
  expect_error("/api/products/A", R"({"stock":1})", 503, "DRAINING");
}

// Issue 12: with auth.mode required, reservations show only the caller's (an admin sees all),
// PUT /api/products and /admin/faults need the admin role, and a refused PUT changes nothing.
TEST_P(InventoryServiceTest, HttpTokensOwnershipAndAdminRoutes) {
  using orderflow::testing::test_token;
  ASSERT_EQ(handle(order_created(61, {{"A", 1}})).outcome, Outcome::kProcessed);  // user 42
  auth_ = std::make_unique<http::Authenticator>(orderflow::testing::test_auth_config(), clock_);
  const auto owner = test_token("42", {}, clock_.now());
  const auto other = test_token("7", {}, clock_.now());
  const auto admin = test_token("ops", {"admin"}, clock_.now());
  const auto bad = orderflow::testing::badly_signed_token("42", clock_.now());
  auto reservations = [&](const std::optional<std::string>& token) {
    auto r = call("GET", "/api/reservations?orderId=61", {}, token);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["items"].size();
  };
  EXPECT_EQ(call("GET", "/api/reservations?orderId=61").status, 401);
  EXPECT_EQ(call("GET", "/api/reservations?orderId=61", {}, bad).status, 401);
  EXPECT_EQ(reservations(owner), 1u);
  EXPECT_EQ(reservations(other), 0u);
  EXPECT_EQ(reservations(admin), 1u);
  EXPECT_EQ(call("GET", "/api/products/A", {}, other).status, 200);

  const std::string put = R"({"stock":999})";
  auto before = json::parse(call("GET", "/api/products/A", {}, admin).body);
  EXPECT_EQ(call("PUT", "/api/products/A", put).status, 401);
  EXPECT_EQ(call("PUT", "/api/products/A", put, bad).status, 401);
  auto forbidden = call("PUT", "/api/products/A", put, owner);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(json::parse(forbidden.body)["error"]["code"], "ADMIN_REQUIRED");
  EXPECT_EQ(json::parse(call("GET", "/api/products/A", {}, admin).body), before)
      << "nothing stored for a refused request";
  EXPECT_EQ(call("PUT", "/api/products/A", put, admin).status, 200);

  const auto prefix = service_->fail_sku_prefix();
  EXPECT_EQ(call("POST", "/admin/faults", R"({"failSkuPrefix":"X"})", owner).status, 403);
  EXPECT_EQ(service_->fail_sku_prefix(), prefix);
  auto changed = call("POST", "/admin/faults", R"({"failSkuPrefix":"X"})", admin);
  EXPECT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(service_->fail_sku_prefix(), "X");
}

TEST_P(InventoryServiceTest, HttpReservationByOrderId) {
  ASSERT_EQ(handle(order_created(60, {{"B", 2}})).outcome, Outcome::kProcessed);
  auto r = call("GET", "/api/reservations?orderId=60");
  ASSERT_EQ(r.status, 200) << r.body;
  auto list = json::parse(r.body).at("items");
  ASSERT_EQ(list.size(), 1u);
  const auto& body = list[0];
  EXPECT_EQ(body.at("orderId"), 60);
  EXPECT_EQ(body.at("status"), "RESERVED");
  EXPECT_EQ(body.at("userId"), "42");
  EXPECT_EQ(body.at("totalAmount"), "25800");
  EXPECT_EQ(body.at("items"), json::parse(R"([{"sku":"B","quantity":2}])"));
  EXPECT_EQ(body.at("expiresAt"), format_iso8601(clock_.now() + kTtl));

  ASSERT_EQ(handle(payment_completed(60)).outcome, Outcome::kProcessed);
  EXPECT_EQ(json::parse(call("GET", "/api/reservations?orderId=60").body)["items"][0]["status"],
            "DEDUCTED");
  auto none = call("GET", "/api/reservations?orderId=61");
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(json::parse(none.body), json::parse(R"({"items":[]})"));
  EXPECT_EQ(call("GET", "/api/reservations").status, 400);
  EXPECT_EQ(call("GET", "/api/reservations?orderId=abc").status, 400);
}

// A second instance of the service: its own connection pool on the same database, the same
// clock and settings (issue 11: several instances of every service).
struct SecondInstance {
  SecondInstance(const storage::StorageConfig& config, const Clock& clock,
                 const InventorySettings& settings)
      : db(storage::open_database(config)),
        repository(*db, kInventoryTopic, kSource, nullptr),
        service(repository, clock, settings),
        handler(make_event_handler(service)) {}
  std::unique_ptr<storage::Database> db;
  SqlInventoryRepository repository;
  InventoryService service;
  messaging::RecordHandler handler;
};

// Issue 11 item 6 (c), seed 004: both instances run their expiry at the same moment (same
// injected clock) over the same due reservations; the conditional update under the order's
// lock releases each one exactly once.
TEST_P(InventoryServiceTest, TwoInstancesExpiringAtOnceReleaseEachReservationOnce) {
  constexpr int kOrders = 24;
  ASSERT_TRUE(service_->put_product("BULK", {"Bulk", dec("100"), 1000}).ok());
  for (int i = 0; i < kOrders; ++i) {
    std::vector<Line> lines{{"BULK", 2}};
    if (i % 3 == 0) lines.push_back({"A", 1});
    ASSERT_EQ(handle(order_created(500 + i, lines)).outcome, Outcome::kProcessed);
  }
  expect_levels("BULK", 1000 - 2 * kOrders, 2 * kOrders, 0);
  SecondInstance second(database_.storage_config(), clock_, service_->settings());
  clock_.advance(kTtl);

  std::barrier start(2);
  std::atomic<int> expired{0};
  std::atomic<int> errors{0};
  auto run = [&](InventoryService& service) {
    start.arrive_and_wait();
    // Until nothing is due: a run that found a row the other had just taken changes nothing.
    for (;;) {
      auto n = service.expire_due();
      if (!n) {
        if (++errors > 100) break;
        continue;
      }
      if (n.value() == 0) break;
      expired += n.value();
    }
  };
  std::thread first_instance([&] { run(*service_); });
  std::thread second_instance([&] { run(second.service); });
  first_instance.join();
  second_instance.join();

  EXPECT_EQ(expired.load(), kOrders);
  EXPECT_EQ(errors.load(), 0);
  expect_levels("BULK", 1000, 0, 0);
  expect_levels("A", 10, 0, 0);
  auto released = events_of("STOCK_RELEASED");
  ASSERT_EQ(released.size(), static_cast<std::size_t>(kOrders));
  std::set<std::int64_t> orders;
  for (const auto& e : released) {
    EXPECT_EQ(e.value.at("reason"), "EXPIRED");
    orders.insert(e.value.at("orderId").get<std::int64_t>());
  }
  EXPECT_EQ(orders.size(), static_cast<std::size_t>(kOrders));  // each order once
  for (int i = 0; i < kOrders; ++i) EXPECT_EQ(status_of(500 + i), ReservationStatus::kExpired);
}

// Issue 11 item 3: an ORDER_CREATED and an ORDER_CANCELLED of one order handled at once by
// two instances (no partition assignment to serialise them) end as if one came first: a
// cancelled order holds no stock and its stock is released at most once.
TEST_P(InventoryServiceTest, ReserveAndCancelOfOneOrderOnTwoInstancesHoldNoStock) {
  constexpr int kOrders = 30;
  ASSERT_TRUE(service_->put_product("BULK", {"Bulk", dec("100"), 1000}).ok());
  SecondInstance second(database_.storage_config(), clock_, service_->settings());
  std::vector<messaging::ConsumedRecord> created;
  std::vector<messaging::ConsumedRecord> cancelled;
  for (int i = 0; i < kOrders; ++i) {
    created.push_back(order_created(600 + i, {{"BULK", 3}}));
    cancelled.push_back(order_cancelled(600 + i));
  }
  std::barrier start(2);
  std::vector<messaging::HandlerResult> results(2 * kOrders);
  std::thread reserver([&] {
    for (int i = 0; i < kOrders; ++i) {
      start.arrive_and_wait();
      results[2 * i] = i % 2 == 0 ? handle(created[i]) : second.handler(created[i]);
    }
  });
  std::thread canceller([&] {
    for (int i = 0; i < kOrders; ++i) {
      start.arrive_and_wait();
      results[2 * i + 1] = i % 2 == 0 ? second.handler(cancelled[i]) : handle(cancelled[i]);
    }
  });
  reserver.join();
  canceller.join();

  for (const auto& r : results) {
    // Processed, or a create skipped because the cancel came first: never a retry or an error.
    if (r.outcome == Outcome::kSkip) {
      ASSERT_TRUE(r.error.has_value());
      EXPECT_EQ(r.error->code, "ORDER_ALREADY_CANCELLED");
    } else {
      EXPECT_EQ(r.outcome, Outcome::kProcessed) << (r.error ? r.error->message : "");
    }
  }
  expect_levels("BULK", 1000, 0, 0);
  std::map<std::int64_t, std::vector<std::string>> events;
  for (const auto& e : outbox()) {
    events[e.value.at("orderId").get<std::int64_t>()].push_back(e.value.at("eventType"));
  }
  for (int i = 0; i < kOrders; ++i) {
    const auto& order_events = events[600 + i];
    auto status = status_of(600 + i);
    if (!status) {  // the cancel came first: never reserved
      EXPECT_TRUE(order_events.empty());
      continue;
    }
    EXPECT_EQ(status, ReservationStatus::kReleased);
    EXPECT_EQ(order_events, (std::vector<std::string>{"STOCK_RESERVED", "STOCK_RELEASED"}));
  }
}

ORDERFLOW_ON_BOTH_DATABASES(InventoryServiceTest);

}  // namespace
}  // namespace orderflow::inventory
