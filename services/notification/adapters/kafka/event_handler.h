#pragma once

#include "../../app/notification_service.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/consumer_runner.h"

namespace orderflow::notification {

/// Maps a consumed record to an IncomingEvent: the strict envelope (messaging::decode_event),
/// orderId (integer or integer string) required, userId (string or integer) when present (the
/// service refuses to notify without it); every other
/// top-level scalar becomes a template field. kInvalidInput MALFORMED_EVENT otherwise.
Result<IncomingEvent> to_incoming_event(const messaging::ConsumedRecord& record);

/// The consumer's RecordHandler: decode, handle, map the outcome (seed 002's three-way split).
messaging::RecordHandler make_event_handler(NotificationService& service);

}  // namespace orderflow::notification
