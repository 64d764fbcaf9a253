#include "order_service.h"

#include <algorithm>

#include "orderflow/common/uuid.h"
#include "orderflow/observability/trace_context.h"

namespace orderflow::order {

Result<Order> OrderService::create(const OrderRequest& request, const std::string& traceparent) {
  auto priced = price_order(request, catalog_, clock_.now());
  if (!priced) return priced.error();
  if (admission_) {
    if (auto admitted = admission_(); !admitted) return admitted.error();
  }
  auto created = repository_.create(priced.value(), traceparent);
  if (created && metrics_ != nullptr) observability::count_order_created(*metrics_);
  return created;
}

Result<Order> OrderService::get(std::int64_t id) { return repository_.find(id); }

Result<OrderPage> OrderService::list(const std::string& user_id, int page, int size) {
  if (user_id.empty()) return invalid_input("MISSING_USER", "userId is required");
  if (page < 0) return invalid_input("INVALID_PAGE", "page must be ≥ 0");
  return repository_.list_by_user(user_id, page, std::clamp(size, 1, kMaxPageSize));
}

Result<OrderUpdate> OrderService::apply(std::int64_t id, const std::string& group,
                                        const std::string& event_id, const std::string& event_type,
                                        SagaInput input, const SagaEvent* event,
                                        const std::string& traceparent) {
  auto now = clock_.now();
  auto decider = [&](const Order& order) -> Result<OrderChange> {
    OrderChange change;
    if (event != nullptr && input == SagaInput::kPaymentCompleted && event->amount &&
        (*event->amount != order.total_amount ||
         (!event->currency.empty() && event->currency != order.currency))) {
      change.skip_reason = "AMOUNT_MISMATCH: paid " + event->amount->to_string() + " " +
                           event->currency + " for an order of " + order.total_amount.to_string() +
                           " " + order.currency;
      return change;
    }
    auto decision = decide(order.status, input);
    change.skip_reason = decision.skip_reason;
    change.cancel_reason = decision.cancel_reason;
    change.traceparent = traceparent;
    for (const auto& step : decision.steps) {
      change.entries.push_back({step.from, step.to, event_type, event_id,
                                step.to == OrderStatus::kCancelled ? decision.cancel_reason : "",
                                now});
    }
    return change;
  };
  OrderUpdate out;
  auto update = [&](OrderTx& tx) -> Result<void> {
    auto updated = tx.update(id, decider);
    if (!updated) return updated.error();
    out = std::move(updated.value());
    return {};
  };
  if (group.empty()) {
    if (auto done = repository_.transact(update); !done) return done.error();
    count(out.change);
    return out;
  }
  auto first = repository_.process_once(group, event_id, update);
  if (!first) return first.error();
  out.duplicate = !first.value();
  if (!out.duplicate) count(out.change);
  return out;
}

void OrderService::count(const OrderChange& change) {
  if (metrics_ == nullptr) return;
  for (const auto& entry : change.entries) {
    if (entry.to == OrderStatus::kCompleted) observability::count_order_completed(*metrics_);
    if (entry.to == OrderStatus::kCancelled)
      observability::count_order_cancelled(*metrics_, entry.reason);
  }
}

Result<Order> OrderService::cancel(std::int64_t id, const std::string& traceparent) {
  auto updated = apply(id, "", new_uuid(), to_string(SagaInput::kUserCancel),
                       SagaInput::kUserCancel, nullptr, traceparent);
  if (!updated) return updated.error();
  if (updated->change.entries.empty()) {
    return conflict("INVALID_STATE", std::string("order ") + std::to_string(id) + " is " +
                                         to_string(updated->order.status) +
                                         "; only PENDING or CONFIRMED orders can be cancelled");
  }
  return updated->order;
}

Result<SagaResult> OrderService::handle(const SagaEvent& event) {
  auto input = saga_input_for(event.event_type, event.reason);
  if (!input) return SagaResult{SagaOutcome::kIgnored, "not a saga event", {}};
  auto updated = apply(event.order_id, consumer_group_, event.event_id, event.event_type, *input,
                       &event, event.traceparent);
  if (!updated) return updated.error();
  SagaResult result;
  result.order = updated->order;
  if (updated->duplicate) {
    result.outcome = SagaOutcome::kDuplicate;
  } else if (updated->change.entries.empty()) {
    result.outcome = SagaOutcome::kSkipped;
    result.skip_reason = updated->change.skip_reason;
  }
  return result;
}

Result<int> OrderService::cancel_stalled(std::chrono::milliseconds timeout, int batch) {
  auto stalled = repository_.stalled(clock_.now() - timeout, batch);
  if (!stalled) return stalled.error();
  int cancelled = 0;
  for (const auto& order : stalled.value()) {
    // The timer works for the order: its ORDER_CANCELLED is a span of the order's trace (a new
    // trace for an order stored without one).
    auto updated =
        apply(order.id, "", new_uuid(), to_string(SagaInput::kTimeout), SagaInput::kTimeout,
              nullptr, observability::child_traceparent(order.traceparent));
    if (updated && !updated->change.entries.empty()) ++cancelled;
  }
  return cancelled;
}

}  // namespace orderflow::order
