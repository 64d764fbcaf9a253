#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "../domain/saga.h"
#include "orderflow/common/clock.h"
#include "orderflow/observability/business_metrics.h"
#include "ports.h"

namespace orderflow::order {

/// An event of another service as the saga sees it (decoded by the Kafka adapter).
struct SagaEvent {
  std::string event_id;
  std::string event_type;
  std::int64_t order_id = 0;
  std::string reason;
  std::optional<Decimal> amount;  ///< PAYMENT_COMPLETED: must equal the order total
  std::string currency;
  std::string traceparent;  ///< of the events the saga emits in reaction (empty = a new trace)
};

/// What happened to one saga event.
enum class SagaOutcome { kApplied, kDuplicate, kSkipped, kIgnored };

struct SagaResult {
  SagaOutcome outcome = SagaOutcome::kApplied;
  std::string skip_reason;
  Order order;
};

/// Order use cases (seeds 000, 001, 002, 003). Thread-safe.
class OrderService {
 public:
  /// `admission` (optional) is asked before each create(); empty = always admit. `metrics`
  /// (optional, must outlive the service) counts orders created, completed and cancelled by
  /// reason (orderflow_orders_*_total), once per committed change.
  OrderService(OrderRepository& repository, const Catalog& catalog, const Clock& clock,
               std::string consumer_group = "order-service", OrderAdmission admission = {},
               observability::Metrics* metrics = nullptr)
      : repository_(repository),
        catalog_(catalog),
        clock_(clock),
        consumer_group_(std::move(consumer_group)),
        admission_(std::move(admission)),
        metrics_(metrics) {
    if (metrics_ != nullptr) observability::register_order_counters(*metrics_);
  }

  /// Prices and stores a PENDING order with its ORDER_CREATED event; returns once the DB
  /// transaction committed (not after Kafka delivery: the outbox relay publishes it).
  /// A request that fails validation gets its 4xx error whatever the load; a valid one the
  /// admission refuses gets the admission's error (kUnavailable OVERLOADED) and writes nothing.
  /// ORDER_CREATED carries `traceparent` (empty = a new trace).
  Result<Order> create(const OrderRequest& request, const std::string& traceparent = {});
  Result<Order> get(std::int64_t id);
  /// size is clamped to 1..kMaxPageSize.
  Result<OrderPage> list(const std::string& user_id, int page, int size);

  /// POST /api/orders/{id}/cancel: PENDING|CONFIRMED → CANCELLED(USER_REQUESTED) with
  /// ORDER_CANCELLED. kNotFound for an unknown order; kConflict INVALID_STATE (message names the
  /// current status) otherwise. ORDER_CANCELLED carries `traceparent` (empty = a new trace).
  Result<Order> cancel(std::int64_t id, const std::string& traceparent = {});

  /// Applies another service's event through the state machine (idempotent per eventId).
  /// kNotFound for an unknown order; an event that does not fit the state is kSkipped with the
  /// reason; a PAYMENT_COMPLETED whose amount or currency differs from the order is kSkipped
  /// (AMOUNT_MISMATCH) and changes nothing. The events it emits carry event.traceparent.
  Result<SagaResult> handle(const SagaEvent& event);

  /// Cancels (TIMEOUT) every non-terminal order without progress for `timeout`. Returns how
  /// many were cancelled. Each ORDER_CANCELLED continues its order's trace: a child span of the
  /// context its ORDER_CREATED carried (a new trace for an order stored without one).
  Result<int> cancel_stalled(std::chrono::milliseconds timeout, int batch);

  static constexpr int kMaxPageSize = 100;

 private:
  /// Runs the saga step `input` on order `id` in one transaction: with an inbox entry
  /// (group, event_id) when `group` is set (a saga event), else without (a user action, the
  /// timeout). The emitted events carry `traceparent`.
  Result<OrderUpdate> apply(std::int64_t id, const std::string& group, const std::string& event_id,
                            const std::string& event_type, SagaInput input, const SagaEvent* event,
                            const std::string& traceparent);
  /// Counts the terminal states `change` reached (completed, cancelled by reason).
  void count(const OrderChange& change);

  OrderRepository& repository_;
  const Catalog& catalog_;
  const Clock& clock_;
  std::string consumer_group_;
  OrderAdmission admission_;
  observability::Metrics* metrics_;
};

}  // namespace orderflow::order
