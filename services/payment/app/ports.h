#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../domain/payment.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/inbox_port.h"

namespace orderflow::payment {

/// A charge request to the payment gateway.
struct ChargeRequest {
  std::string idempotency_key;  ///< the orderId: one charge per order, whatever the retries
  std::int64_t order_id = 0;
  std::string user_id;
  Decimal amount;
  std::string currency;
};

/// A charge as the gateway recorded it (approved or declined).
struct GatewayCharge {
  std::string payment_id;  ///< the gateway's reference, also for a declined attempt
  bool approved = false;
  std::string decline_reason;  ///< when declined, e.g. AMOUNT_LIMIT_EXCEEDED
  Decimal amount;
  std::string currency;
  bool refunded = false;
};

/// The payment provider. Implementations are thread-safe and idempotent: charge() with a key
/// already used returns the first charge (no second charge; a different amount or currency
/// under the same key is kConflict IDEMPOTENCY_KEY_REUSED), refund() of a refunded payment
/// returns the first refund. Errors: kUnavailable for a technical failure (timeout, provider
/// down, shutting down; the consumer retries); any other kind is a bug or an inconsistency.
class PaymentGateway {
 public:
  virtual ~PaymentGateway() = default;
  /// Charges (approves or declines) `request.amount`. A decline is a value, not an error.
  virtual Result<GatewayCharge> charge(const ChargeRequest& request) = 0;
  /// The charge made under `idempotency_key`, if any. Used to reconcile after a crash between
  /// a charge and the commit of its payment row.
  virtual Result<std::optional<GatewayCharge>> find_charge(const std::string& idempotency_key) = 0;
  /// Refunds the whole amount of an approved charge; returns the refund's reference.
  /// kNotFound UNKNOWN_PAYMENT, kConflict NOT_REFUNDABLE for a declined charge.
  virtual Result<std::string> refund(const std::string& payment_id) = 0;
};

/// The event a change emits on payments.v1 (docs/events.md).
enum class PaymentEventType { kCompleted, kFailed, kRefunded };

/// What handling one event changes, committed atomically with the event's inbox entry.
struct PaymentChange {
  std::int64_t order_id = 0;  ///< the order the change is about (always set)
  /// The order's payment and cancel mark the change was decided on: the transaction locks the
  /// order and applies the change only when they are still the same (payment id and status,
  /// cancel mark), else it changes nothing and fails with kConflict ORDER_CHANGED (the
  /// service decides again). This, not the partition assignment, serialises a charge and a
  /// cancel of one order handled by two instances at once.
  OrderPaymentState decided_on;
  /// Payment row to insert (`insert`) or to update from `expected_status` (else kConflict).
  std::optional<Payment> payment;
  bool insert = true;
  PaymentStatus expected_status = PaymentStatus::kCaptured;
  /// Event emitted through the outbox for `payment` (requires `payment`).
  std::optional<PaymentEventType> event;
  std::string traceparent;  ///< of the emitted event; empty = a new trace
  /// Records the order as cancelled (a later STOCK_RESERVED is never charged).
  bool mark_cancelled = false;
  std::string user_id;        ///< for mark_cancelled
  std::string cancel_reason;  ///< for mark_cancelled
  Clock::TimePoint at;        ///< for mark_cancelled
};

/// kConflict code of apply() when the order's state changed since the change was decided.
inline constexpr const char* kOrderChanged = "ORDER_CHANGED";

/// The write of one handled event, inside the transaction of PaymentRepository::process_once.
/// Valid only inside the effect it is passed to.
class PaymentTx {
 public:
  virtual ~PaymentTx() = default;
  /// Locks the order and applies `change` (payment row, cancel mark, outbox record) if the
  /// order is still as it was decided on, else kConflict ORDER_CHANGED.
  virtual Result<void> apply(const PaymentChange& change) = 0;
};

/// Persistence of payments, the cancelled-orders mark, the inbox and the outbox. Thread-safe,
/// also across processes sharing the database (several instances of the service). The inbox
/// is the messaging::InboxPort every service has: process_once runs PaymentTx::apply in one
/// transaction with the event's inbox entry and wakes the outbox relay after a commit that
/// appended an event.
/// Errors: kUnavailable when the database is busy or unreachable; kConflict ORDER_CHANGED when
/// the order changed under the caller (PaymentChange::decided_on).
class PaymentRepository : public messaging::InboxPort<PaymentTx> {
 public:
  /// The order's payment and cancel mark (a read snapshot).
  virtual Result<OrderPaymentState> state_of(std::int64_t order_id) = 0;
  /// Applies `change` in its own transaction without an inbox entry, so that the event is
  /// handled again when it comes again (a refund refused for good is recorded as REFUND_FAILED
  /// while its ORDER_CANCELLED goes to the DLT for a replay). Same errors as PaymentTx::apply.
  virtual Result<void> apply_outside_inbox(const PaymentChange& change) = 0;
  /// Records the order as cancelled outside any inbox entry (idempotent), so that a cancel
  /// whose handling failed still stops a later charge (under the order's lock: a charge
  /// decided before it fails with ORDER_CHANGED).
  virtual Result<void> mark_cancelled(std::int64_t order_id, const std::string& user_id,
                                      const std::string& reason, Clock::TimePoint at) = 0;
  /// The payments of an order (0 or 1), oldest first.
  virtual Result<std::vector<Payment>> find_by_order(std::int64_t order_id) = 0;
  /// kNotFound PAYMENT_NOT_FOUND when absent.
  virtual Result<Payment> find(const std::string& payment_id) = 0;
};

/// Where the service raises what an operator must act on. Thread-safe.
class PaymentAlerts {
 public:
  virtual ~PaymentAlerts() = default;
  /// The provider refused `payment`'s refund for good (`error`, e.g. UNKNOWN_PAYMENT): the
  /// payment is REFUND_FAILED and the customer's money is still taken until a repair and a
  /// replay of the cancel refund it.
  virtual void refund_failed(const Payment& payment, const Error& error) = 0;
};

}  // namespace orderflow::payment
