#pragma once

#include "../../app/notification_service.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/decoding_handler.h"

namespace orderflow::notification {

/// Maps a consumed event of any type to an IncomingEvent. A type of docs/events.md is read by
/// its shared typed decoder (messaging/event_decoders.h: its required fields, the version rule);
/// another type needs orderId and takes userId when present (messaging::decode_order_ref). The
/// service refuses to notify without a userId. Every top-level scalar becomes a template field.
/// Errors as the decoders': kInvalidInput MALFORMED_EVENT or UNSUPPORTED_EVENT_VERSION.
Result<IncomingEvent> to_incoming_event(const messaging::DecodedEvent& decoded);
/// The same from the record (envelope decoded first: messaging::decode_event).
Result<IncomingEvent> to_incoming_event(const messaging::ConsumedRecord& record);

/// The consumer's RecordHandler: decode, handle, map the outcome (seed 002's three-way split).
messaging::RecordHandler make_event_handler(NotificationService& service);

}  // namespace orderflow::notification
