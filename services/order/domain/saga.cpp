#include "saga.h"

#include "orderflow/messaging/events.h"

namespace orderflow::order {
namespace {

int rank(OrderStatus s) {
  switch (s) {
    case OrderStatus::kPending:
      return 0;
    case OrderStatus::kConfirmed:
      return 1;
    case OrderStatus::kPaid:
      return 2;
    case OrderStatus::kCompleted:
      return 3;
    case OrderStatus::kCancelled:
      return -1;
  }
  return -1;
}

}  // namespace

std::string_view event_for_status(OrderStatus to) {
  switch (to) {
    case OrderStatus::kConfirmed:
      return events::kOrderConfirmed;
    case OrderStatus::kPaid:
      return events::kOrderPaid;
    case OrderStatus::kCompleted:
      return events::kOrderCompleted;
    case OrderStatus::kCancelled:
      return events::kOrderCancelled;
    case OrderStatus::kPending:
      return events::kOrderCreated;
  }
  return {};
}

namespace {

constexpr OrderStatus kProgress[] = {OrderStatus::kPending, OrderStatus::kConfirmed,
                                     OrderStatus::kPaid, OrderStatus::kCompleted};

SagaDecision advance_to(OrderStatus current, OrderStatus target, const char* input) {
  SagaDecision d;
  if (current == OrderStatus::kCancelled) {
    d.skip_reason = std::string(input) + " after the order was cancelled";
    return d;
  }
  if (rank(current) >= rank(target)) {
    d.skip_reason = std::string(input) + " is late: the order is already " + to_string(current);
    return d;
  }
  for (int r = rank(current); r < rank(target); ++r) {
    d.steps.push_back({kProgress[r], kProgress[r + 1], event_for_status(kProgress[r + 1])});
  }
  return d;
}

SagaDecision cancel(OrderStatus current, std::string_view reason, const char* input,
                    bool allowed_when_paid) {
  SagaDecision d;
  bool allowed = current == OrderStatus::kPending || current == OrderStatus::kConfirmed ||
                 (allowed_when_paid && current == OrderStatus::kPaid);
  if (!allowed) {
    d.skip_reason = std::string(input) + " cannot cancel an order that is " + to_string(current);
    return d;
  }
  d.steps.push_back({current, OrderStatus::kCancelled, events::kOrderCancelled});
  d.cancel_reason = std::string(reason);
  return d;
}

}  // namespace

const char* to_string(SagaInput input) {
  switch (input) {
    case SagaInput::kStockReserved:
      return "STOCK_RESERVED";
    case SagaInput::kStockRejected:
      return "STOCK_REJECTED";
    case SagaInput::kReservationExpired:
      return "STOCK_RELEASED(EXPIRED)";
    case SagaInput::kStockReleased:
      return "STOCK_RELEASED";
    case SagaInput::kStockDeducted:
      return "STOCK_DEDUCTED";
    case SagaInput::kStockDeductionFailed:
      return "STOCK_DEDUCTION_FAILED";
    case SagaInput::kPaymentCompleted:
      return "PAYMENT_COMPLETED";
    case SagaInput::kPaymentFailed:
      return "PAYMENT_FAILED";
    case SagaInput::kPaymentRefunded:
      return "PAYMENT_REFUNDED";
    case SagaInput::kUserCancel:
      return "USER_CANCEL";
    case SagaInput::kTimeout:
      return "SAGA_TIMEOUT";
  }
  return "?";
}

std::optional<SagaInput> saga_input_for(std::string_view type, std::string_view reason) {
  if (type == events::kStockReserved) return SagaInput::kStockReserved;
  if (type == events::kStockRejected) return SagaInput::kStockRejected;
  if (type == events::kStockReleased) {
    return reason == events::kReasonExpired ? SagaInput::kReservationExpired
                                            : SagaInput::kStockReleased;
  }
  if (type == events::kStockDeducted) return SagaInput::kStockDeducted;
  if (type == events::kStockDeductionFailed) return SagaInput::kStockDeductionFailed;
  if (type == events::kPaymentCompleted) return SagaInput::kPaymentCompleted;
  if (type == events::kPaymentFailed) return SagaInput::kPaymentFailed;
  if (type == events::kPaymentRefunded) return SagaInput::kPaymentRefunded;
  return std::nullopt;
}

SagaDecision decide(OrderStatus current, SagaInput input) {
  const char* name = to_string(input);
  switch (input) {
    case SagaInput::kStockReserved:
      return advance_to(current, OrderStatus::kConfirmed, name);
    case SagaInput::kPaymentCompleted:
      return advance_to(current, OrderStatus::kPaid, name);
    case SagaInput::kStockDeducted:
      return advance_to(current, OrderStatus::kCompleted, name);
    case SagaInput::kStockRejected:
      if (current != OrderStatus::kPending) {
        SagaDecision d;
        d.skip_reason = std::string(name) + " does not fit an order that is " + to_string(current);
        return d;
      }
      return cancel(current, events::kReasonOutOfStock, name, false);
    case SagaInput::kPaymentFailed: {
      // A payment is only attempted for reserved stock, so a PAYMENT_FAILED that overtook its
      // STOCK_RESERVED (another topic) proves CONFIRMED: the timeline is the same whichever
      // event order-service handles first.
      if (current != OrderStatus::kPending) {
        return cancel(current, events::kReasonPaymentFailed, name, false);
      }
      SagaDecision d = advance_to(current, OrderStatus::kConfirmed, name);
      SagaDecision c = cancel(OrderStatus::kConfirmed, events::kReasonPaymentFailed, name, false);
      d.steps.insert(d.steps.end(), c.steps.begin(), c.steps.end());
      d.cancel_reason = c.cancel_reason;
      return d;
    }
    case SagaInput::kReservationExpired:
    case SagaInput::kStockDeductionFailed:
      // Paid but the stock is gone: cancelling makes the payment service refund.
      return cancel(current, events::kReasonReservationExpired, name, true);
    case SagaInput::kUserCancel:
      return cancel(current, events::kReasonUserRequested, name, false);
    case SagaInput::kTimeout:
      return cancel(current, events::kReasonTimeout, name, true);
    case SagaInput::kStockReleased:
    case SagaInput::kPaymentRefunded: {
      SagaDecision d;
      d.skip_reason = std::string(name) + " is a consequence of a cancel; nothing to change";
      return d;
    }
  }
  return {};
}

}  // namespace orderflow::order
