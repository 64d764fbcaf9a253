#pragma once

#include <functional>

#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/handler_result.h"

namespace orderflow::messaging {

/// What a service does with one event whose envelope decoded: `decoded` is the event (the typed
/// decoders of event_decoders.h read its payload), `record` the record it came from (headers,
/// coordinates).
using DecodedEventHandler =
    std::function<HandlerResult(const DecodedEvent& decoded, const ConsumedRecord& record)>;

/// The RecordHandler every service consumes with: decodes the envelope once (decode_event; a bad
/// one is HandlerResult::from_error(kInvalidInput MALFORMED_EVENT): dead-lettered, not
/// retried), then runs `handle`. The result carries the event's eventId and eventType, also when
/// `handle` failed on a payload field, so logs and metrics name the event. Thread-safe as
/// `handle` is.
RecordHandler decoding_handler(DecodedEventHandler handle);

}  // namespace orderflow::messaging
