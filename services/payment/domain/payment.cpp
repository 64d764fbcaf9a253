#include "payment.h"

namespace orderflow::payment {

const char* to_string(PaymentStatus status) {
  switch (status) {
    case PaymentStatus::kCaptured:
      return "CAPTURED";
    case PaymentStatus::kFailed:
      return "FAILED";
    case PaymentStatus::kRefunded:
      return "REFUNDED";
    case PaymentStatus::kRefundFailed:
      return "REFUND_FAILED";
  }
  return "FAILED";
}

std::optional<PaymentStatus> parse_payment_status(std::string_view text) {
  for (auto s : {PaymentStatus::kCaptured, PaymentStatus::kFailed, PaymentStatus::kRefunded,
                 PaymentStatus::kRefundFailed}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

ReservedAction decide_on_reserved(const OrderPaymentState& state) {
  // A recorded payment wins over the cancel mark: its refund is the cancel path's business.
  if (state.payment) return ReservedAction::kSkipAlreadyPaid;
  if (state.cancelled) return ReservedAction::kSkipCancelled;
  return ReservedAction::kCharge;
}

CancelAction decide_on_cancelled(const OrderPaymentState& state) {
  if (!state.payment) return CancelAction::kReconcile;
  return holds_money(state.payment->status) ? CancelAction::kRefund : CancelAction::kNothing;
}

bool holds_money(PaymentStatus status) {
  return status == PaymentStatus::kCaptured || status == PaymentStatus::kRefundFailed;
}

Payment captured_payment(const ChargeCommand& command, std::string payment_id,
                         Clock::TimePoint now) {
  Payment p;
  p.id = std::move(payment_id);
  p.order_id = command.order_id;
  p.user_id = command.user_id;
  p.amount = command.amount;
  p.currency = command.currency;
  p.status = PaymentStatus::kCaptured;
  p.created_at = now;
  p.updated_at = now;
  return p;
}

Payment failed_payment(const ChargeCommand& command, std::string payment_id, std::string reason,
                       Clock::TimePoint now) {
  Payment p = captured_payment(command, std::move(payment_id), now);
  p.status = PaymentStatus::kFailed;
  p.reason = std::move(reason);
  return p;
}

Result<Payment> refund_payment(Payment payment, std::string refund_id, std::string reason,
                               Clock::TimePoint now) {
  if (!holds_money(payment.status)) {
    return conflict("NOT_REFUNDABLE", "payment " + payment.id + " is " + to_string(payment.status) +
                                          ", only CAPTURED or REFUND_FAILED refunds");
  }
  payment.status = PaymentStatus::kRefunded;
  payment.refund_id = std::move(refund_id);
  payment.reason = std::move(reason);
  payment.updated_at = now;
  return payment;
}

Result<Payment> refund_failed_payment(Payment payment, std::string reason, Clock::TimePoint now) {
  if (!holds_money(payment.status)) {
    return conflict("NOT_REFUNDABLE", "payment " + payment.id + " is " + to_string(payment.status) +
                                          ", only CAPTURED or REFUND_FAILED can fail a refund");
  }
  payment.status = PaymentStatus::kRefundFailed;
  payment.refund_id.clear();
  payment.reason = std::move(reason);
  payment.updated_at = now;
  return payment;
}

Result<DeclineRule> DeclineRule::parse(std::string_view text) {
  if (text.empty()) return DeclineRule{};
  auto limit = Decimal::parse(text);
  if (!limit) {
    return invalid_input("INVALID_DECLINE_LIMIT",
                         "decline limit '" + std::string(text) + "' is not an exact decimal");
  }
  return DeclineRule{*limit};
}

}  // namespace orderflow::payment
