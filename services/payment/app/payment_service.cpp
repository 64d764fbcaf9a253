#include "payment_service.h"

namespace orderflow::payment {
namespace {

// Only a technical failure (of the gateway or the database) is worth a retry; anything else
// means the gateway and this service disagree about a payment, which no retry fixes.
Error gateway_error(const Error& error, const std::string& what) {
  if (error.retryable()) return error;
  return internal_error(error.code.empty() ? "GATEWAY_ERROR" : error.code,
                        what + ": " + error.message);
}

std::string refund_reason(const CancelCommand& command) {
  return command.reason.empty() ? std::string("ORDER_CANCELLED") : command.reason;
}

// A change decided on `state` of `order_id`.
PaymentChange change_of(std::int64_t order_id, const OrderPaymentState& state) {
  PaymentChange change;
  change.order_id = order_id;
  change.decided_on = state;
  return change;
}

void add_cancel_mark(PaymentChange& change, const CancelCommand& command, Clock::TimePoint at) {
  change.mark_cancelled = true;
  change.user_id = command.user_id;
  change.cancel_reason = command.reason;
  change.at = at;
}

// Runs `decide_and_apply` again when the order changed between its read and its commit (a
// charge and a cancel of one order handled at once by two instances, or two workers): the
// second decision sees the first's commit. The gateway calls it repeats are idempotent.
template <typename Fn>
Result<HandleOutcome> until_decided_on_current_state(std::int64_t order_id,
                                                     const Fn& decide_and_apply) {
  constexpr int kMaxDecisions = 8;
  for (int attempt = 1;; ++attempt) {
    auto outcome = decide_and_apply();
    if (outcome || outcome.error().code != kOrderChanged) return outcome;
    if (attempt == kMaxDecisions) {
      return unavailable("ORDER_BUSY", "order " + std::to_string(order_id) + " changed " +
                                           std::to_string(kMaxDecisions) +
                                           " times while its event was handled");
    }
  }
}

}  // namespace

const char* to_string(HandleOutcome outcome) {
  switch (outcome) {
    case HandleOutcome::kCharged:
      return "CHARGED";
    case HandleOutcome::kDeclined:
      return "DECLINED";
    case HandleOutcome::kRefunded:
      return "REFUNDED";
    case HandleOutcome::kCancelRecorded:
      return "CANCEL_RECORDED";
    case HandleOutcome::kDuplicate:
      return "DUPLICATE";
    case HandleOutcome::kSkippedAlreadyPaid:
      return "ALREADY_PAID";
    case HandleOutcome::kSkippedCancelled:
      return "ORDER_CANCELLED";
    case HandleOutcome::kNothingToRefund:
      return "NOTHING_TO_REFUND";
  }
  return "UNKNOWN";
}

Result<HandleOutcome> PaymentService::charge(const ChargeCommand& command) {
  return until_decided_on_current_state(command.order_id, [&] { return charge_once(command); });
}

Result<HandleOutcome> PaymentService::charge_once(const ChargeCommand& command) {
  // Checked before the gateway so that a redelivered event costs no gateway round trip.
  auto seen = repository_.already_processed(consumer_group_, command.event_id);
  if (!seen) return seen.error();
  if (seen.value()) return HandleOutcome::kDuplicate;

  auto state = repository_.state_of(command.order_id);
  if (!state) return state.error();
  switch (decide_on_reserved(state.value())) {
    case ReservedAction::kSkipAlreadyPaid:
      return HandleOutcome::kSkippedAlreadyPaid;
    case ReservedAction::kSkipCancelled:
      return refund_charge_of_cancelled(command, state.value());
    case ReservedAction::kCharge:
      break;
  }

  // Outside the write transaction: the gateway's latency must not hold the SQLite writer. A
  // crash after the charge and before the commit is harmless: the redelivered event charges
  // under the same key and gets the same charge back, and a cancel that comes first finds it
  // through find_charge() and refunds it.
  auto charged = gateway_.charge({std::to_string(command.order_id), command.order_id,
                                  command.user_id, command.amount, command.currency});
  if (!charged) {
    return gateway_error(charged.error(), "charge of order " + std::to_string(command.order_id));
  }
  const auto& c = charged.value();
  if (c.amount != command.amount || c.currency != command.currency) {
    return internal_error("GATEWAY_MISMATCH",
                          "gateway charged " + c.amount.to_string() + " " + c.currency +
                              " for order " + std::to_string(command.order_id) + ", expected " +
                              command.amount.to_string() + " " + command.currency);
  }
  auto now = clock_.now();
  auto change = change_of(command.order_id, state.value());
  change.insert = true;
  change.traceparent = command.traceparent;
  if (c.approved) {
    change.payment = captured_payment(command, c.payment_id, now);
    change.event = PaymentEventType::kCompleted;
  } else {
    change.payment = failed_payment(command, c.payment_id, c.decline_reason, now);
    change.event = PaymentEventType::kFailed;
  }
  return commit(command.event_id, change,
                c.approved ? HandleOutcome::kCharged : HandleOutcome::kDeclined);
}

Result<HandleOutcome> PaymentService::refund_charge_of_cancelled(const ChargeCommand& command,
                                                                 const OrderPaymentState& state) {
  // A charge decided before a cancel committed may have reached the gateway (this handling's
  // earlier decision, which then failed with ORDER_CHANGED, or a crash after the charge): the
  // cancel found no charge then, so the money is given back here.
  auto found = gateway_.find_charge(std::to_string(command.order_id));
  if (!found) {
    return gateway_error(found.error(),
                         "charge lookup of order " + std::to_string(command.order_id));
  }
  if (!found.value() || !found.value()->approved) return HandleOutcome::kSkippedCancelled;
  const auto& c = *found.value();
  CancelCommand as_cancel{command.event_id,   command.order_id, command.user_id,
                          "ORDER_CANCELLED",  std::nullopt,     "",
                          command.traceparent};
  ChargeCommand as_charged{command.event_id, command.order_id, command.user_id,
                           c.amount,         c.currency,       command.traceparent};
  return refund_captured(as_cancel, captured_payment(as_charged, c.payment_id, clock_.now()), true,
                         state);
}

Result<HandleOutcome> PaymentService::cancel(const CancelCommand& command) {
  return until_decided_on_current_state(command.order_id, [&] { return cancel_once(command); });
}

Result<HandleOutcome> PaymentService::cancel_once(const CancelCommand& command) {
  auto seen = repository_.already_processed(consumer_group_, command.event_id);
  if (!seen) return seen.error();
  if (seen.value()) return HandleOutcome::kDuplicate;

  auto state = repository_.state_of(command.order_id);
  if (!state) return state.error();
  switch (decide_on_cancelled(state.value())) {
    case CancelAction::kNothing:
      return HandleOutcome::kNothingToRefund;
    case CancelAction::kRefund:
      return refund_captured(command, *state.value().payment, false, state.value());
    case CancelAction::kReconcile:
      return reconcile_cancel(command, state.value());
  }
  return internal_error("UNREACHABLE", "unknown cancel action");
}

Result<HandleOutcome> PaymentService::reconcile_cancel(const CancelCommand& command,
                                                       const OrderPaymentState& state) {
  auto found = gateway_.find_charge(std::to_string(command.order_id));
  if (!found) {
    mark_cancelled_after_failure(command);
    return gateway_error(found.error(),
                         "charge lookup of order " + std::to_string(command.order_id));
  }
  if (found.value() && found.value()->approved) {
    // Charged by an attempt that crashed before its commit: give the money back.
    const auto& c = *found.value();
    auto now = clock_.now();
    ChargeCommand as_charged{command.event_id, command.order_id, command.user_id,
                             c.amount,         c.currency,       command.traceparent};
    return refund_captured(command, captured_payment(as_charged, c.payment_id, now), true, state);
  }
  auto change = change_of(command.order_id, state);
  add_cancel_mark(change, command, clock_.now());
  return commit(command.event_id, change, HandleOutcome::kCancelRecorded);
}

Result<HandleOutcome> PaymentService::refund_captured(const CancelCommand& command,
                                                      const Payment& payment, bool insert,
                                                      const OrderPaymentState& state) {
  if (!command.currency.empty() && command.currency != payment.currency) {
    return invalid_input("CURRENCY_MISMATCH", "ORDER_CANCELLED of order " +
                                                  std::to_string(command.order_id) + " says " +
                                                  command.currency + ", payment " + payment.id +
                                                  " is in " + payment.currency);
  }
  if (command.total_amount && *command.total_amount != payment.amount) {
    return invalid_input("AMOUNT_MISMATCH",
                         "ORDER_CANCELLED of order " + std::to_string(command.order_id) + " says " +
                             command.total_amount->to_string() + ", payment " + payment.id +
                             " captured " + payment.amount.to_string());
  }
  auto refund_id = gateway_.refund(payment.id);
  if (!refund_id) {
    if (!refund_id.error().retryable()) {
      return refund_refused(command, payment, insert, state, refund_id.error());
    }
    if (insert) mark_cancelled_after_failure(command);
    return gateway_error(refund_id.error(), "refund of payment " + payment.id);
  }
  auto now = clock_.now();
  auto refunded = refund_payment(payment, refund_id.value(), refund_reason(command), now);
  if (!refunded) return internal_error(refunded.error().code, refunded.error().message);
  auto change = change_of(command.order_id, state);
  change.payment = std::move(refunded.value());
  change.insert = insert;
  change.expected_status = payment.status;
  change.event = PaymentEventType::kRefunded;
  change.traceparent = command.traceparent;
  add_cancel_mark(change, command, now);
  return commit(command.event_id, change, HandleOutcome::kRefunded);
}

Result<HandleOutcome> PaymentService::refund_refused(const CancelCommand& command,
                                                     const Payment& payment, bool insert,
                                                     const OrderPaymentState& state,
                                                     const Error& refusal) {
  std::string what = "refund of payment " + payment.id;
  auto now = clock_.now();
  auto failed = refund_failed_payment(payment, refusal.code + ": " + refusal.message, now);
  if (!failed) return internal_error(failed.error().code, failed.error().message);
  auto change = change_of(command.order_id, state);
  change.payment = std::move(failed.value());
  change.insert = insert;
  change.expected_status = payment.status;
  add_cancel_mark(change, command, now);
  // Outside the inbox: the event must stay unprocessed so that its replay from the DLT, once
  // the provider is repaired, finds REFUND_FAILED and refunds.
  auto recorded = repository_.apply_outside_inbox(change);
  if (!recorded && recorded.error().code == kOrderChanged) return recorded.error();
  if (!recorded) return gateway_error(recorded.error(), "recording the failed " + what);
  alerts_.refund_failed(*change.payment, refusal);
  return gateway_error(refusal, what +
                                    " refused; payment is REFUND_FAILED until the provider is "
                                    "repaired and the ORDER_CANCELLED replayed");
}

Result<HandleOutcome> PaymentService::commit(const std::string& event_id,
                                             const PaymentChange& change, HandleOutcome outcome) {
  auto applied = repository_.process_once(consumer_group_, event_id,
                                          [&](PaymentTx& tx) { return tx.apply(change); });
  if (!applied) return applied.error();
  if (!applied.value()) return HandleOutcome::kDuplicate;
  if (change.event && metrics_ != nullptr) {
    switch (*change.event) {
      case PaymentEventType::kCompleted:
        observability::count_payment(*metrics_, "completed");
        break;
      case PaymentEventType::kFailed:
        observability::count_payment(*metrics_, "failed");
        break;
      case PaymentEventType::kRefunded:
        observability::count_payment(*metrics_, "refunded");
        break;
    }
  }
  return outcome;
}

void PaymentService::mark_cancelled_after_failure(const CancelCommand& command) {
  // Ignored on failure: the caller is already returning an error and the retry writes it again.
  (void)repository_.mark_cancelled(command.order_id, command.user_id, command.reason, clock_.now());
}

Result<std::vector<Payment>> PaymentService::list_by_order(std::int64_t order_id) {
  return repository_.find_by_order(order_id);
}

Result<Payment> PaymentService::get(const std::string& payment_id) {
  if (payment_id.empty()) return invalid_input("INVALID_ID", "paymentId is required");
  return repository_.find(payment_id);
}

}  // namespace orderflow::payment
