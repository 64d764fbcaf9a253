#pragma once

#include <memory>
#include <string>
#include <variant>

#include <spdlog/logger.h>

#include "../../app/payment_service.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/consumer_runner.h"

namespace orderflow::payment {

/// An event of the consumed topics that the payment service does not act on.
struct IgnoredEvent {
  std::string event_id;
  std::string event_type;
};

/// A consumed record mapped to what the service does with it.
using PaymentInput = std::variant<ChargeCommand, CancelCommand, IgnoredEvent>;

/// Maps a consumed record (docs/events.md): the strict envelope (messaging::decode_event), then
/// - STOCK_RESERVED (eventVersion 1): orderId (positive JSON integer, equal to the record key
///   when there is one), userId (non-empty string, or integer), totalAmount (decimal string,
///   > 0, at most 4 fractional digits), currency (3 upper-case letters) → ChargeCommand;
/// - ORDER_CANCELLED (eventVersion 1): orderId, userId as above; reason (string), totalAmount
///   and currency checked when present → CancelCommand;
/// - any other type → IgnoredEvent (no version check: other versions are not ours to judge).
/// kInvalidInput with code MALFORMED_EVENT, UNSUPPORTED_EVENT_VERSION, KEY_MISMATCH,
/// INVALID_AMOUNT or INVALID_CURRENCY otherwise. Pure; thread-safe.
Result<PaymentInput> to_payment_input(const messaging::ConsumedRecord& record);

/// The consumer's RecordHandler: maps the record, runs the use case, maps the outcome (seed
/// 002's split): done → processed; redelivered eventId → duplicate; a charge refused by state
/// (already paid, cancelled) or a cancel with nothing to refund → skip; bad input → error, not
/// retried; gateway or DB unavailable → retried. Logs each payment action with the record's
/// coordinates on `logger`. Thread-safe as PaymentService is.
messaging::RecordHandler make_event_handler(PaymentService& service,
                                            std::shared_ptr<spdlog::logger> logger);

}  // namespace orderflow::payment
