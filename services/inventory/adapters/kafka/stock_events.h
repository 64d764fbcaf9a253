#pragma once

#include <string>

#include "../../app/ports.h"
#include "orderflow/messaging/record.h"

namespace orderflow::inventory {

/// The inventory.v1 record of `event` for `topic` (docs/events.md): key = orderId, flat JSON
/// value with a fresh eventId, eventType, eventVersion 1, timestamp (ISO-8601 UTC ms) and the
/// type's fields (money as decimal strings, expiresAt as ISO-8601), plus the standard headers
/// (eventId, eventType, source, traceparent: event.traceparent, or a new trace when it is
/// empty).
messaging::OutgoingRecord stock_event_record(const StockEvent& event, const std::string& topic,
                                             const std::string& source);

}  // namespace orderflow::inventory
