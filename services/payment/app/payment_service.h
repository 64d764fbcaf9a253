#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "orderflow/common/clock.h"
#include "orderflow/observability/business_metrics.h"
#include "ports.h"

namespace orderflow::payment {

/// What happened to one incoming event.
enum class HandleOutcome {
  kCharged,             ///< CAPTURED, PAYMENT_COMPLETED emitted
  kDeclined,            ///< FAILED, PAYMENT_FAILED emitted
  kRefunded,            ///< REFUNDED, PAYMENT_REFUNDED emitted
  kCancelRecorded,      ///< no charge existed; the order is marked cancelled
  kDuplicate,           ///< the eventId was processed before: nothing done
  kSkippedAlreadyPaid,  ///< STOCK_RESERVED for an order that has a payment: no second charge
  kSkippedCancelled,    ///< STOCK_RESERVED for a cancelled order: not charged
  kNothingToRefund,     ///< ORDER_CANCELLED for a FAILED or REFUNDED payment
};

/// "CHARGED", "DECLINED", … for logs.
const char* to_string(HandleOutcome outcome);

/// Payment use cases (issue 3; ARCHITECTURE.md "Saga", invariant 3). Thread-safe, also with
/// several instances on one database: events of one order may be handled at once (a charge by
/// one instance, a cancel by another). Each decision is committed only if the order is still
/// in the state it was decided on (PaymentChange::decided_on, under the order's row lock), else
/// it is made again: a cancel can never slip between a charge and its commit unnoticed.
class PaymentService {
 public:
  /// `metrics` (optional, must outlive the service) counts the payments completed, failed and
  /// refunded (orderflow_payments_total), once per committed change.
  PaymentService(PaymentRepository& repository, PaymentGateway& gateway, PaymentAlerts& alerts,
                 const Clock& clock, std::string consumer_group,
                 observability::Metrics* metrics = nullptr)
      : repository_(repository),
        gateway_(gateway),
        alerts_(alerts),
        clock_(clock),
        consumer_group_(std::move(consumer_group)),
        metrics_(metrics) {
    if (metrics_ != nullptr) observability::register_payment_counters(*metrics_);
  }

  /// STOCK_RESERVED: charges the order once, unless it has a payment already or was cancelled
  /// (then a charge the gateway holds under the order's key, left by a charge that lost the
  /// race against the cancel or crashed, is refunded: kRefunded).
  /// The gateway is called outside any DB transaction (its latency must not hold the SQLite
  /// writer) with idempotency key = orderId, then inbox + payment row + outbox commit together.
  /// Errors: the gateway's or the repository's kUnavailable (retry); kInternal when the gateway
  /// answers inconsistently (e.g. the key was used with another amount).
  Result<HandleOutcome> charge(const ChargeCommand& command);

  /// ORDER_CANCELLED: refunds a CAPTURED or REFUND_FAILED payment (→ REFUNDED, PAYMENT_REFUNDED);
  /// without a recorded payment reconciles with the gateway (refunds a charge left by a crash)
  /// and marks the order cancelled; FAILED/REFUNDED → kNothingToRefund. kInvalidInput
  /// CURRENCY_MISMATCH / AMOUNT_MISMATCH when the event's currency or totalAmount differ from
  /// the captured payment (no refund of data nobody can trust; the record goes to the DLT).
  /// Gateway/DB kUnavailable → retry; the order is then still marked cancelled so that nothing
  /// charges it meanwhile. A refund the gateway refuses for good (UNKNOWN_PAYMENT,
  /// NOT_REFUNDABLE) stores the payment as REFUND_FAILED with the refusal as reason, outside the
  /// inbox, raises alerts.refund_failed() and returns kInternal with the gateway's code (not
  /// retried: the record goes to the DLT, and its replay after a repair refunds).
  Result<HandleOutcome> cancel(const CancelCommand& command);

  /// The order's payments (0 or 1).
  Result<std::vector<Payment>> list_by_order(std::int64_t order_id);
  /// kNotFound PAYMENT_NOT_FOUND.
  Result<Payment> get(const std::string& payment_id);

 private:
  Result<HandleOutcome> charge_once(const ChargeCommand& command);
  Result<HandleOutcome> cancel_once(const CancelCommand& command);
  Result<HandleOutcome> refund_charge_of_cancelled(const ChargeCommand& command,
                                                   const OrderPaymentState& state);
  Result<HandleOutcome> refund_captured(const CancelCommand& command, const Payment& payment,
                                        bool insert, const OrderPaymentState& state);
  Result<HandleOutcome> reconcile_cancel(const CancelCommand& command,
                                         const OrderPaymentState& state);
  /// Records `payment` as REFUND_FAILED after the gateway's final `refusal` and alerts.
  Result<HandleOutcome> refund_refused(const CancelCommand& command, const Payment& payment,
                                       bool insert, const OrderPaymentState& state,
                                       const Error& refusal);
  Result<HandleOutcome> commit(const std::string& event_id, const PaymentChange& change,
                               HandleOutcome outcome);
  /// The cancel mark written on its own after a failure (best effort: the retry writes it too).
  void mark_cancelled_after_failure(const CancelCommand& command);

  PaymentRepository& repository_;
  PaymentGateway& gateway_;
  PaymentAlerts& alerts_;
  const Clock& clock_;
  std::string consumer_group_;
  observability::Metrics* metrics_;
};

}  // namespace orderflow::payment
