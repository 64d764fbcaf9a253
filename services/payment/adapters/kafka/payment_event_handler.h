#pragma once

#include <memory>
#include <string>
#include <variant>

#include <spdlog/logger.h>

#include "../../app/payment_service.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/decoding_handler.h"

namespace orderflow::payment {

/// An event of the consumed topics that the payment service does not act on.
struct IgnoredEvent {
  std::string event_id;
  std::string event_type;
};

/// A consumed record mapped to what the service does with it.
using PaymentInput = std::variant<ChargeCommand, CancelCommand, IgnoredEvent>;

/// Maps a consumed event with the shared typed decoders (messaging/event_decoders.h: their rules
/// and errors, kInvalidInput MALFORMED_EVENT or UNSUPPORTED_EVENT_VERSION):
/// - STOCK_RESERVED → ChargeCommand (orderId, userId, totalAmount, currency);
/// - ORDER_CANCELLED → CancelCommand (orderId, userId; reason, totalAmount, currency when
///   present);
/// - any other type → IgnoredEvent, not decoded (other versions are not ours to judge).
/// A totalAmount ≤ 0 is kInvalidInput INVALID_AMOUNT (nothing to charge or refund). Commands
/// carry the record's child traceparent. Pure; thread-safe.
Result<PaymentInput> to_payment_input(const messaging::DecodedEvent& decoded,
                                      const messaging::ConsumedRecord& record);
/// The same from the record (envelope decoded first: messaging::decode_event).
Result<PaymentInput> to_payment_input(const messaging::ConsumedRecord& record);

/// The consumer's RecordHandler: maps the record, runs the use case, maps the outcome (seed
/// 002's split): done → processed; redelivered eventId → duplicate; a charge refused by state
/// (already paid, cancelled) or a cancel with nothing to refund → skip; bad input → error, not
/// retried; gateway or DB unavailable → retried. Logs each payment action with the record's
/// coordinates on `logger`. Thread-safe as PaymentService is.
messaging::RecordHandler make_event_handler(PaymentService& service,
                                            std::shared_ptr<spdlog::logger> logger);

}  // namespace orderflow::payment
