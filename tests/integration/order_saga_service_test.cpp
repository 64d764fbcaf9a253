// Integration tests of the order saga on SQLite and PostgreSQL (no broker): saga events through
// OrderService::handle, the user cancel, the timeline, the emitted outbox events, redelivery and
// the saga timeout with an injected clock.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <barrier>
#include <map>
#include <thread>

#include "adapters/kafka/saga_handler.h"
#include "adapters/storage/sql_order_repository.h"
#include "app/order_service.h"
#include "orderflow/common/uuid.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/outbox.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/observability/trace_context.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_database.h"

namespace orderflow::order {
namespace {

using namespace std::chrono_literals;

class OrderSagaServiceTest : public ::testing::TestWithParam<orderflow::testing::DatabaseKind> {
 protected:
  OrderSagaServiceTest() : database_(GetParam()) {
    db_ = storage::open_database(database_.storage_config());
    storage::migrate(*db_, "outbox", messaging::Outbox::migrations());
    storage::migrate(*db_, "inbox", messaging::Inbox::migrations());
    storage::migrate(*db_, "order", order_migrations());
    repository_ = std::make_unique<SqlOrderRepository>(*db_, "orders.v1", "order-service", [] {});
    service_ = std::make_unique<OrderService>(*repository_, catalog_, clock_, "order-service",
                                              OrderAdmission{}, &metrics_);
  }

  std::int64_t place() {
    OrderRequest r;
    r.user_id = "u1";
    r.items.push_back({"A", 2, std::nullopt});
    auto o = service_->create(r);
    EXPECT_TRUE(o.ok());
    return o->id;
  }

  SagaEvent event(std::int64_t id, const std::string& type, const std::string& reason = "") {
    return {new_uuid(), type, id, reason, std::nullopt, ""};
  }

  // PAYMENT_COMPLETED for the whole amount of an order place() made.
  SagaEvent payment(std::int64_t id) {
    auto paid = event(id, "PAYMENT_COMPLETED");
    paid.amount = Decimal::from_integer(2000);
    paid.currency = "KRW";
    return paid;
  }

  // Event types in the outbox, oldest first.
  std::vector<std::string> outbox_types() {
    std::vector<std::string> types;
    auto r = db_->read([&](storage::Tx& tx) -> Result<void> {
      auto rows = tx.query("SELECT value FROM outbox ORDER BY id");
      if (!rows) return rows.error();
      for (const auto& row : rows.value()) {
        types.push_back(nlohmann::json::parse(row.text(0))["eventType"].get<std::string>());
      }
      return {};
    });
    EXPECT_TRUE(r.ok());
    return types;
  }

  // Business counter `name` (with `label`, when given) of metrics_; -1 when absent.
  double counter(const std::string& name, const std::string& label = {}) {
    return orderflow::testing::metric_value(metrics_.serialize(), name, label);
  }

  orderflow::testing::TestDatabase database_;
  observability::Metrics metrics_{"order-service"};
  ManualClock clock_;
  Catalog catalog_{"KRW", {{"A", "Item", Decimal::from_integer(1000), 10}}};
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<SqlOrderRepository> repository_;
  std::unique_ptr<OrderService> service_;
};

TEST_P(OrderSagaServiceTest, HappyPathKeepsTheTimelineAndEmitsEachEvent) {
  auto id = place();
  auto reserved = event(id, "STOCK_RESERVED");
  ASSERT_EQ(service_->handle(reserved)->outcome, SagaOutcome::kApplied);
  ASSERT_EQ(service_->handle(payment(id))->outcome, SagaOutcome::kApplied);
  ASSERT_EQ(service_->handle(event(id, "STOCK_DEDUCTED"))->outcome, SagaOutcome::kApplied);
  auto order = service_->get(id).value();
  EXPECT_EQ(order.status, OrderStatus::kCompleted);
  ASSERT_EQ(order.timeline.size(), 3u);
  EXPECT_EQ(order.timeline[0].event_type, "STOCK_RESERVED");
  EXPECT_EQ(order.timeline[0].event_id, reserved.event_id);
  EXPECT_EQ(order.timeline[1].from, OrderStatus::kConfirmed);
  EXPECT_EQ(order.timeline[2].to, OrderStatus::kCompleted);
  EXPECT_EQ(outbox_types(), (std::vector<std::string>{"ORDER_CREATED", "ORDER_CONFIRMED",
                                                      "ORDER_PAID", "ORDER_COMPLETED"}));
  // Redelivery of the same eventId changes nothing.
  EXPECT_EQ(service_->handle(reserved)->outcome, SagaOutcome::kDuplicate);
  EXPECT_EQ(service_->get(id)->timeline.size(), 3u);
  EXPECT_EQ(outbox_types().size(), 4u);
}

TEST_P(OrderSagaServiceTest, BusinessCountersMoveOncePerCommittedChange) {
  EXPECT_EQ(counter("orderflow_orders_created_total"), 0);  // registered at start
  EXPECT_EQ(counter("orderflow_orders_completed_total"), 0);
  auto done = place();
  auto rejected = place();
  auto cancelled = place();
  EXPECT_EQ(counter("orderflow_orders_created_total"), 3);

  ASSERT_EQ(service_->handle(event(done, "STOCK_RESERVED"))->outcome, SagaOutcome::kApplied);
  ASSERT_EQ(service_->handle(payment(done))->outcome, SagaOutcome::kApplied);
  auto deducted = event(done, "STOCK_DEDUCTED");
  ASSERT_EQ(service_->handle(deducted)->outcome, SagaOutcome::kApplied);
  EXPECT_EQ(service_->handle(deducted)->outcome, SagaOutcome::kDuplicate);
  EXPECT_EQ(counter("orderflow_orders_completed_total"), 1);

  auto out_of_stock = event(rejected, "STOCK_REJECTED", "OUT_OF_STOCK");
  ASSERT_EQ(service_->handle(out_of_stock)->outcome, SagaOutcome::kApplied);
  EXPECT_EQ(service_->handle(out_of_stock)->outcome, SagaOutcome::kDuplicate);
  ASSERT_TRUE(service_->cancel(cancelled).ok());
  EXPECT_FALSE(service_->cancel(cancelled).ok());  // refused: nothing more is counted
  EXPECT_EQ(counter("orderflow_orders_cancelled_total", R"(reason="OUT_OF_STOCK")"), 1);
  EXPECT_EQ(counter("orderflow_orders_cancelled_total", R"(reason="USER_REQUESTED")"), 1);
  EXPECT_EQ(counter("orderflow_orders_completed_total"), 1);
  EXPECT_EQ(counter("orderflow_orders_created_total"), 3);
}

TEST_P(OrderSagaServiceTest, LateAndMismatchedEventsAreSkippedWithoutChange) {
  auto id = place();
  ASSERT_EQ(service_->handle(event(id, "STOCK_RESERVED"))->outcome, SagaOutcome::kApplied);
  auto wrong = event(id, "PAYMENT_COMPLETED");
  wrong.amount = Decimal::from_integer(1);
  wrong.currency = "KRW";
  auto r = service_->handle(wrong);
  EXPECT_EQ(r->outcome, SagaOutcome::kSkipped);
  EXPECT_NE(r->skip_reason.find("AMOUNT_MISMATCH"), std::string::npos);
  EXPECT_EQ(service_->handle(event(id, "STOCK_REJECTED", "OUT_OF_STOCK"))->outcome,
            SagaOutcome::kSkipped);
  EXPECT_EQ(service_->get(id)->status, OrderStatus::kConfirmed);
  auto unknown = service_->handle(event(424242, "STOCK_RESERVED"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);
}

TEST_P(OrderSagaServiceTest, UserCancelOnlyFromPendingOrConfirmed) {
  auto id = place();
  auto cancelled = service_->cancel(id);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->status, OrderStatus::kCancelled);
  EXPECT_EQ(cancelled->cancel_reason, "USER_REQUESTED");
  auto again = service_->cancel(id);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
  EXPECT_NE(again.error().message.find("CANCELLED"), std::string::npos);
  EXPECT_EQ(service_->cancel(999).error().kind, ErrorKind::kNotFound);
  // A payment that completes after the cancel does not move the order.
  EXPECT_EQ(service_->handle(event(id, "PAYMENT_COMPLETED"))->outcome, SagaOutcome::kSkipped);
  EXPECT_EQ(outbox_types().back(), "ORDER_CANCELLED");
}

TEST_P(OrderSagaServiceTest, SagaTimeoutCancelsOnlyStalledOrders) {
  auto stuck = place();
  ASSERT_EQ(service_->handle(event(stuck, "STOCK_RESERVED"))->outcome, SagaOutcome::kApplied);
  clock_.advance(4min);
  auto fresh = place();
  auto done = place();
  ASSERT_EQ(service_->cancel(done).ok(), true);
  clock_.advance(1min + 1ms);
  auto cancelled = service_->cancel_stalled(5min, 100);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled.value(), 1);
  auto order = service_->get(stuck).value();
  EXPECT_EQ(order.status, OrderStatus::kCancelled);
  EXPECT_EQ(order.cancel_reason, "TIMEOUT");
  EXPECT_EQ(order.timeline.back().event_type, "SAGA_TIMEOUT");
  EXPECT_EQ(service_->get(fresh)->status, OrderStatus::kPending);
  EXPECT_EQ(service_->cancel_stalled(5min, 100).value(), 0) << "running it twice changes nothing";
}

// Issue 14 item 6: the saga timeout works for the order, so its ORDER_CANCELLED continues the
// trace ORDER_CREATED carried (the same trace-id, a span of its own) instead of starting one; an
// order stored before the trace context was kept ('' in its row) times out in a new trace.
TEST_P(OrderSagaServiceTest, SagaTimeoutContinuesTheTraceOfTheOrder) {
  const std::string parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  OrderRequest request;
  request.user_id = "u1";
  request.items.push_back({"A", 1, std::nullopt});
  auto traced = service_->create(request, parent);
  ASSERT_TRUE(traced.ok()) << traced.error().message;
  auto untraced = place();  // no traceparent: the order begins a trace of its own
  auto legacy = place();
  ASSERT_TRUE(db_->write([&](storage::Tx& tx) -> Result<void> {
                   auto r = tx.exec("UPDATE orders SET traceparent = '' WHERE id = ?", {legacy});
                   if (!r) return r.error();
                   return {};
                 })
                  .ok());
  clock_.advance(5min + 1ms);
  ASSERT_EQ(service_->cancel_stalled(5min, 100).value(), 3);

  auto rows = messaging::make_outbox_store(*db_)->fetch_unsent(10);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  std::map<std::string, std::vector<std::string>> traces;  // order id → created, cancelled
  for (const auto& row : rows.value()) {
    traces[row.record.key].push_back(
        messaging::find_header(row.record.headers, "traceparent").value_or(""));
  }
  auto cancelled = [&](std::int64_t id) { return traces[std::to_string(id)].at(1); };
  auto created = [&](std::int64_t id) { return traces[std::to_string(id)].at(0); };
  EXPECT_EQ(created(traced->id), parent);
  for (auto id : {traced->id, untraced}) {
    SCOPED_TRACE("order " + std::to_string(id));
    ASSERT_EQ(traces[std::to_string(id)].size(), 2u);
    auto child = observability::parse_traceparent(cancelled(id));
    auto origin = observability::parse_traceparent(created(id));
    ASSERT_TRUE(child && origin) << cancelled(id) << " " << created(id);
    EXPECT_EQ(child->trace_id, origin->trace_id);
    EXPECT_NE(child->span_id, origin->span_id);
  }
  ASSERT_EQ(traces[std::to_string(legacy)].size(), 2u);
  EXPECT_TRUE(observability::parse_traceparent(cancelled(legacy)).has_value());
  EXPECT_NE(observability::trace_id_of(cancelled(legacy)),
            observability::trace_id_of(created(legacy)));
}

TEST_P(OrderSagaServiceTest, SagaRecordsWithUnknownVersionOrBadFieldsAreInvalid) {
  messaging::EventMeta meta{new_uuid(), "STOCK_RESERVED", 2, "2026-11-21T00:00:00.000Z"};
  messaging::ConsumedRecord record;
  record.value = messaging::encode_event(meta, {{"orderId", 1}});
  auto v2 = to_saga_event(record);
  ASSERT_FALSE(v2.ok());
  EXPECT_EQ(v2.error().code, "UNSUPPORTED_EVENT_VERSION");
  meta.event_version = 1;
  record.value = messaging::encode_event(meta, {{"orderId", "x"}});
  EXPECT_EQ(to_saga_event(record).error().kind, ErrorKind::kInvalidInput);
  record.value = messaging::encode_event(meta, {{"orderId", 1}, {"amount", 12.5}});
  EXPECT_EQ(to_saga_event(record).error().kind, ErrorKind::kInvalidInput);
  record.value = "not json";
  EXPECT_EQ(to_saga_event(record).error().kind, ErrorKind::kInvalidInput);
}

// Issue 15: the saga's reactions continue the trace of the record they react to (the same
// trace-id, a span of their own), as inventory and payment do.
TEST_P(OrderSagaServiceTest, SagaReactionsCarryTheChildTraceOfTheConsumedRecord) {
  auto id = place();
  const std::string parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  messaging::EventMeta meta{new_uuid(), "STOCK_RESERVED", 1, "2026-11-21T00:00:00.000Z"};
  messaging::ConsumedRecord record;
  record.topic = "inventory.v1";
  record.key = std::to_string(id);
  record.value = messaging::encode_event(
      meta, {{"orderId", id}, {"userId", "u1"}, {"totalAmount", "2000"}, {"currency", "KRW"}});
  record.headers = messaging::standard_headers(meta, "inventory-service", parent);
  auto handler = make_saga_handler(*service_, observability::make_logger("saga-test", {"off"}));
  auto result = handler(record);
  ASSERT_FALSE(result.error.has_value()) << result.error->message;
  EXPECT_EQ(result.event_id, meta.event_id);
  EXPECT_EQ(service_->get(id)->status, OrderStatus::kConfirmed);

  auto rows = messaging::make_outbox_store(*db_)->fetch_unsent(10);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);  // ORDER_CREATED, ORDER_CONFIRMED
  auto created = messaging::find_header(rows->at(0).record.headers, "traceparent").value();
  auto confirmed = messaging::find_header(rows->at(1).record.headers, "traceparent").value();
  EXPECT_EQ(confirmed.substr(0, 36), parent.substr(0, 36));
  EXPECT_NE(confirmed, parent);
  EXPECT_NE(created.substr(0, 36), parent.substr(0, 36)) << "the order began its own trace";
}

// Issue 11 item 3 for order-service: a PAYMENT_COMPLETED handled by one instance and an HTTP
// cancel by another, at the same moment, for the same orders. The order's row lock makes one
// of them win: either PAID and the cancel refused, or CANCELLED and the payment skipped; the
// timeline, the status and the outbox agree, and neither fails otherwise.
TEST_P(OrderSagaServiceTest, PaymentAndHttpCancelOfOneOrderOnTwoInstancesOneWins) {
  constexpr int kOrders = 30;
  auto second_db = storage::open_database(database_.storage_config());
  SqlOrderRepository second_repository(*second_db, "orders.v1", "order-service", [] {});
  OrderService second(second_repository, catalog_, clock_, "order-service");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kOrders; ++i) {
    ids.push_back(place());
    ASSERT_EQ(service_->handle(event(ids.back(), "STOCK_RESERVED"))->outcome,
              SagaOutcome::kApplied);
  }
  std::vector<Result<SagaResult>> paid(kOrders, SagaResult{});
  std::vector<Result<Order>> cancelled(kOrders, Order{});
  std::barrier start(2);
  std::thread payer([&] {
    for (int i = 0; i < kOrders; ++i) {
      auto e = event(ids[i], "PAYMENT_COMPLETED");
      e.amount = Decimal::from_integer(2000);
      e.currency = "KRW";
      start.arrive_and_wait();
      paid[i] = (i % 2 == 0 ? *service_ : second).handle(e);
    }
  });
  std::thread canceller([&] {
    for (int i = 0; i < kOrders; ++i) {
      start.arrive_and_wait();
      cancelled[i] = (i % 2 == 0 ? second : *service_).cancel(ids[i]);
    }
  });
  payer.join();
  canceller.join();

  std::map<std::int64_t, std::vector<std::string>> events;
  auto r = db_->read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query("SELECT record_key, value FROM outbox ORDER BY id");
    if (!rows) return rows.error();
    for (const auto& row : rows.value()) {
      events[std::stoll(row.text(0))].push_back(
          nlohmann::json::parse(row.text(1))["eventType"].get<std::string>());
    }
    return {};
  });
  ASSERT_TRUE(r.ok());
  int paid_first = 0;
  for (int i = 0; i < kOrders; ++i) {
    SCOPED_TRACE("order " + std::to_string(ids[i]));
    ASSERT_TRUE(paid[i].ok()) << paid[i].error().message;
    auto order = service_->get(ids[i]).value();
    ASSERT_EQ(order.timeline.size(), 2u);
    EXPECT_EQ(order.status, order.timeline.back().to);
    if (cancelled[i].ok()) {  // the cancel won: the payment came to a cancelled order
      EXPECT_EQ(order.status, OrderStatus::kCancelled);
      EXPECT_EQ(paid[i]->outcome, SagaOutcome::kSkipped);
      EXPECT_EQ(events[ids[i]],
                (std::vector<std::string>{"ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_CANCELLED"}));
    } else {  // the payment won: a PAID order cannot be cancelled by the user
      ++paid_first;
      EXPECT_EQ(cancelled[i].error().code, "INVALID_STATE");
      EXPECT_EQ(order.status, OrderStatus::kPaid);
      EXPECT_EQ(paid[i]->outcome, SagaOutcome::kApplied);
      EXPECT_EQ(events[ids[i]],
                (std::vector<std::string>{"ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_PAID"}));
    }
  }
  std::cout << "[ winners  ] payment " << paid_first << ", cancel " << kOrders - paid_first << "\n";
}

ORDERFLOW_ON_BOTH_DATABASES(OrderSagaServiceTest);

}  // namespace
}  // namespace orderflow::order
