#pragma once

#include "../../app/inventory_service.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/decoding_handler.h"

namespace orderflow::inventory {

/// Maps a consumed orders.v1 / payments.v1 event to an IncomingEvent. The types the service acts
/// on (ORDER_CREATED, ORDER_CANCELLED, PAYMENT_COMPLETED) are read by the shared typed decoders
/// (messaging/event_decoders.h: their rules and errors, e.g. kInvalidInput MALFORMED_EVENT or
/// UNSUPPORTED_EVENT_VERSION) and get the child traceparent of the record; other types only
/// carry their eventId and eventType. Never throws.
Result<IncomingEvent> to_incoming_event(const messaging::DecodedEvent& decoded,
                                        const messaging::ConsumedRecord& record);
/// The same from the record (envelope decoded first: messaging::decode_event).
Result<IncomingEvent> to_incoming_event(const messaging::ConsumedRecord& record);

/// The consumer's RecordHandler: decode, InventoryService::handle, map the outcome (seed 002's
/// three-way split via HandlerResult::from_error; a business "no" is a skip with its code).
/// Thread-safe (the service is).
messaging::RecordHandler make_event_handler(InventoryService& service);

}  // namespace orderflow::inventory
