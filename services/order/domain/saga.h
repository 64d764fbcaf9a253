#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "order.h"

namespace orderflow::order {

/// What can move an order (ARCHITECTURE.md "Saga"): the other services' events and the user.
enum class SagaInput {
  kStockReserved,         ///< STOCK_RESERVED
  kStockRejected,         ///< STOCK_REJECTED (out of stock / unknown sku)
  kReservationExpired,    ///< STOCK_RELEASED with reason EXPIRED
  kStockReleased,         ///< STOCK_RELEASED for any other reason (follows our own cancel)
  kStockDeducted,         ///< STOCK_DEDUCTED
  kStockDeductionFailed,  ///< STOCK_DEDUCTION_FAILED: paid, but the reservation was gone
  kPaymentCompleted,      ///< PAYMENT_COMPLETED
  kPaymentFailed,         ///< PAYMENT_FAILED
  kPaymentRefunded,       ///< PAYMENT_REFUNDED (informational for the order)
  kUserCancel,            ///< POST /api/orders/{id}/cancel
  kTimeout,               ///< no progress within saga.timeout
};

inline constexpr SagaInput kAllSagaInputs[] = {
    SagaInput::kStockReserved,    SagaInput::kStockRejected, SagaInput::kReservationExpired,
    SagaInput::kStockReleased,    SagaInput::kStockDeducted, SagaInput::kStockDeductionFailed,
    SagaInput::kPaymentCompleted, SagaInput::kPaymentFailed, SagaInput::kPaymentRefunded,
    SagaInput::kUserCancel,       SagaInput::kTimeout};

const char* to_string(SagaInput input);

/// Maps an event (type, reason) to a SagaInput; nullopt for event types the saga ignores.
std::optional<SagaInput> saga_input_for(std::string_view event_type, std::string_view reason);

/// The orders.v1 event announcing that an order reached `status` (ORDER_CREATED for PENDING).
std::string_view event_for_status(OrderStatus status);

/// One status change and the event it emits on orders.v1.
struct SagaStep {
  OrderStatus from;
  OrderStatus to;
  std::string_view emits;  ///< ORDER_CONFIRMED | ORDER_PAID | ORDER_COMPLETED | ORDER_CANCELLED
};

/// The decision for one input in one state.
struct SagaDecision {
  std::vector<SagaStep> steps;  ///< empty = nothing to do
  std::string cancel_reason;    ///< when the last step goes to CANCELLED
  std::string skip_reason;      ///< why nothing happens (late, duplicate, out of order)
  [[nodiscard]] bool changes() const { return !steps.empty(); }
};

/// The order state machine. Progress is monotonic: an event that proves later progress moves
/// the order through the skipped states (e.g. PAYMENT_COMPLETED seen before STOCK_RESERVED,
/// which can happen because they travel on different topics, goes PENDING → CONFIRMED → PAID
/// and emits both events; a PAYMENT_FAILED seen in PENDING goes PENDING → CONFIRMED →
/// CANCELLED). An event behind the current state, or any event after a terminal
/// state, changes nothing (skip_reason says why); the compensation for a charge or a
/// deduction that raced a cancel is done by the payment and inventory services on
/// ORDER_CANCELLED. A user cancel is allowed in PENDING and CONFIRMED only. Pure.
SagaDecision decide(OrderStatus current, SagaInput input);

}  // namespace orderflow::order
