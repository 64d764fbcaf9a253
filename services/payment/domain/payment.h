#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "orderflow/common/clock.h"
#include "orderflow/common/decimal.h"
#include "orderflow/common/result.h"

namespace orderflow::payment {

/// States of a payment. A charge ends CAPTURED (approved) or FAILED (declined); a CAPTURED
/// payment is refunded (→ REFUNDED) or, when the provider refuses the refund for good (it does
/// not know the charge), REFUND_FAILED: money still taken, visible to operators, and refunded
/// (→ REFUNDED) by a later cancel once repaired. FAILED and REFUNDED are final.
enum class PaymentStatus { kCaptured, kFailed, kRefunded, kRefundFailed };

/// "CAPTURED", "FAILED", "REFUNDED", "REFUND_FAILED".
const char* to_string(PaymentStatus status);
/// Inverse of to_string; nullopt for any other text.
std::optional<PaymentStatus> parse_payment_status(std::string_view text);

/// One payment per order (ARCHITECTURE.md invariant 3: an order is charged at most once).
struct Payment {
  std::string id;  ///< paymentId: the gateway's reference of the charge
  std::int64_t order_id = 0;
  std::string user_id;
  Decimal amount;
  std::string currency;  ///< ISO 4217 code, e.g. "KRW"
  PaymentStatus status = PaymentStatus::kCaptured;
  std::string reason;     ///< FAILED: the decline reason; REFUNDED: why (the cancel's reason);
                          ///< REFUND_FAILED: the provider's refusal ("UNKNOWN_PAYMENT: …")
  std::string refund_id;  ///< REFUNDED: the gateway's reference of the refund
  Clock::TimePoint created_at;
  Clock::TimePoint updated_at;
};

/// A STOCK_RESERVED event as the payment service needs it: charge `amount` for the order.
struct ChargeCommand {
  std::string event_id;
  std::int64_t order_id = 0;
  std::string user_id;
  Decimal amount;  ///< the order's totalAmount, > 0
  std::string currency;
  std::string traceparent;  ///< W3C trace context of the produced event; empty = a new trace
};

/// An ORDER_CANCELLED event as the payment service needs it.
struct CancelCommand {
  std::string event_id;
  std::int64_t order_id = 0;
  std::string user_id;
  std::string reason;                   ///< the cancel reason (USER_REQUESTED, …)
  std::optional<Decimal> total_amount;  ///< when the event carries it: must match the charge
  std::string currency;                 ///< when non-empty: must match the charge
  std::string traceparent;
};

/// What the service knows about one order before acting on an event.
struct OrderPaymentState {
  std::optional<Payment> payment;  ///< the order's payment, if one was recorded
  bool cancelled = false;          ///< an ORDER_CANCELLED was seen for the order
};

/// What to do with a STOCK_RESERVED.
enum class ReservedAction {
  kCharge,           ///< no payment, not cancelled
  kSkipAlreadyPaid,  ///< a payment exists (any status): never a second charge
  kSkipCancelled,    ///< the order was cancelled before the charge: never charge it
};

/// Decides on STOCK_RESERVED for an order in `state`. Pure.
ReservedAction decide_on_reserved(const OrderPaymentState& state);

/// What to do with an ORDER_CANCELLED.
enum class CancelAction {
  kRefund,     ///< a CAPTURED or REFUND_FAILED payment exists: refund it
  kReconcile,  ///< no payment recorded: ask the gateway whether a charge exists under the
               ///< order's key (a crash between charge and commit), refund it if so, and record
               ///< the order as cancelled so that it is never charged afterwards
  kNothing,    ///< FAILED or REFUNDED: nothing to give back
};

/// Decides on ORDER_CANCELLED for an order in `state`. Pure.
CancelAction decide_on_cancelled(const OrderPaymentState& state);

/// A new CAPTURED payment of `command` with the gateway's `payment_id`, stamped `now`.
Payment captured_payment(const ChargeCommand& command, std::string payment_id,
                         Clock::TimePoint now);
/// A new FAILED payment (declined by the gateway with `reason`), stamped `now`.
Payment failed_payment(const ChargeCommand& command, std::string payment_id, std::string reason,
                       Clock::TimePoint now);
/// True for the statuses that hold the customer's money and so must be refunded on a cancel:
/// CAPTURED and REFUND_FAILED.
bool holds_money(PaymentStatus status);
/// `payment` refunded: status REFUNDED with `refund_id` and `reason`, updated_at `now`.
/// kConflict NOT_REFUNDABLE unless the payment holds money (CAPTURED or REFUND_FAILED; a FAILED
/// payment took no money, a REFUNDED one gave it back already).
Result<Payment> refund_payment(Payment payment, std::string refund_id, std::string reason,
                               Clock::TimePoint now);
/// `payment` whose refund the provider refused for good: status REFUND_FAILED with `reason`
/// (the refusal), updated_at `now`, refund_id empty. From CAPTURED, or from REFUND_FAILED when
/// a retried refund is refused again; kConflict NOT_REFUNDABLE otherwise.
Result<Payment> refund_failed_payment(Payment payment, std::string reason, Clock::TimePoint now);

/// The simulated gateway's decline rule (fault injection, ARCHITECTURE.md): decline every
/// amount strictly above a limit in the order's currency; no limit = approve everything.
/// Immutable; thread-safe.
class DeclineRule {
 public:
  DeclineRule() = default;
  explicit DeclineRule(std::optional<Decimal> above) : above_(above) {}
  /// "" → no limit; an exact decimal ("1000000", "99.5") → that limit. kInvalidInput
  /// INVALID_DECLINE_LIMIT for anything else.
  static Result<DeclineRule> parse(std::string_view text);
  [[nodiscard]] bool declines(Decimal amount) const { return above_ && amount > *above_; }
  [[nodiscard]] const std::optional<Decimal>& limit() const { return above_; }

 private:
  std::optional<Decimal> above_;
};

/// The reason of a PAYMENT_FAILED produced by the decline rule.
inline constexpr std::string_view kReasonAmountLimitExceeded = "AMOUNT_LIMIT_EXCEEDED";

}  // namespace orderflow::payment
