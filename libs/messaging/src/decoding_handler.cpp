#include "orderflow/messaging/decoding_handler.h"

namespace orderflow::messaging {

RecordHandler decoding_handler(DecodedEventHandler handle) {
  return [handle = std::move(handle)](const ConsumedRecord& record) {
    auto decoded = decode_event(record);
    if (!decoded) return HandlerResult::from_error(decoded.error());
    auto result = handle(decoded.value(), record);
    result.event_type = decoded->meta.event_type;
    result.event_id = decoded->meta.event_id;
    return result;
  };
}

}  // namespace orderflow::messaging
