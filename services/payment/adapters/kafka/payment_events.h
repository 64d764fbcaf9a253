#pragma once

#include <string>

#include "../../app/ports.h"
#include "orderflow/messaging/record.h"

namespace orderflow::payment {

/// "PAYMENT_COMPLETED", "PAYMENT_FAILED", "PAYMENT_REFUNDED".
std::string_view event_type_name(PaymentEventType type);

/// The payments.v1 record of `type` for `payment` (docs/events.md): key = orderId, flat JSON
/// value with a new eventId, eventVersion 1, timestamp = payment.updated_at, and
/// PAYMENT_COMPLETED {orderId, userId, paymentId, amount, currency},
/// PAYMENT_FAILED {orderId, userId, amount, currency, reason},
/// PAYMENT_REFUNDED {orderId, userId, paymentId, amount, currency, reason}; amount is a decimal
/// string. Headers: eventId, eventType, source, traceparent (`traceparent`, or a new trace).
messaging::OutgoingRecord payment_event_record(PaymentEventType type, const Payment& payment,
                                               const std::string& topic, const std::string& source,
                                               const std::string& traceparent);

}  // namespace orderflow::payment
