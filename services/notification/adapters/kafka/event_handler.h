#pragma once

#include <optional>

#include "../../app/notification_service.h"
#include "../../app/sink_service.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/decoding_handler.h"

namespace orderflow::notification {

/// Maps a consumed event of any type to an IncomingEvent. A type of docs/events.md is read by
/// its shared typed decoder (messaging/event_decoders.h: its required fields, the version rule);
/// another type needs orderId and takes userId when present (messaging::decode_order_ref). The
/// service refuses to notify without a userId. Every top-level scalar becomes a template field.
/// Errors as the decoders': kInvalidInput MALFORMED_EVENT or UNSUPPORTED_EVENT_VERSION.
Result<IncomingEvent> to_incoming_event(const messaging::DecodedEvent& decoded);
/// The same from the record (envelope decoded first: messaging::decode_event), with the child
/// traceparent of the record.
Result<IncomingEvent> to_incoming_event(const messaging::ConsumedRecord& record);

/// The notification consumer's RecordHandler: decode, NotificationService::prepare (inside the
/// consumer's batch transaction), then hand off NotificationService::deliver (the channel calls)
/// and map its outcome: kDuplicate → duplicate, kRejected → skip CHANNEL_REJECTED, an error by
/// seed 002's three-way split (a channel's kUnavailable is retried, then dead-lettered). The
/// delivery carries the child traceparent of the record (IncomingEvent::traceparent).
messaging::RecordHandler make_event_handler(NotificationService& service);

/// The sink's view of an ORDER_COMPLETED (decode_order_progressed's rules); nullopt for any
/// other type. Errors as the decoders'.
Result<std::optional<CompletedOrder>> to_completed_order(const messaging::DecodedEvent& decoded);

/// The data-platform-sink consumer's RecordHandler: ORDER_COMPLETED → SinkService::handle on the
/// hand-off pool; other types are processed without a call. Any error fails the record: a
/// kUnavailable one is retried (consumer.retry), then dead-lettered RETRIES_EXHAUSTED; another
/// (a 4xx) is dead-lettered at once with the platform's answer in dlq.error.message. The call
/// carries the child traceparent of the record (CompletedOrder::traceparent).
messaging::RecordHandler make_sink_handler(SinkService& sink);

}  // namespace orderflow::notification
