#include "event_handler.h"

#include "orderflow/messaging/event_decoders.h"

namespace orderflow::notification {

Result<IncomingEvent> to_incoming_event(const messaging::DecodedEvent& decoded) {
  // Every type is notified about: a type with a decoder is judged by its rules, any other by
  // the fields all order events share.
  auto typed = messaging::decode_typed(decoded);
  if (!typed) return typed.error();
  auto ref = typed->has_value() ? Result<messaging::OrderRef>(messaging::order_ref_of(**typed))
                                : messaging::decode_order_ref(decoded);
  if (!ref) return ref.error();
  IncomingEvent event;
  event.event_id = decoded.meta.event_id;
  event.event_type = decoded.meta.event_type;
  event.order_id = ref->order_id;
  event.user_id = std::move(ref->user_id);
  for (auto& [key, text] : decoded.body.scalar_fields()) event.fields[key] = std::move(text);
  return event;
}

Result<IncomingEvent> to_incoming_event(const messaging::ConsumedRecord& record) {
  auto decoded = messaging::decode_event(record);
  if (!decoded) return decoded.error();
  return to_incoming_event(decoded.value());
}

messaging::RecordHandler make_event_handler(NotificationService& service) {
  return messaging::decoding_handler(
      [&service](const messaging::DecodedEvent& decoded, const messaging::ConsumedRecord&) {
        auto event = to_incoming_event(decoded);
        if (!event) return messaging::HandlerResult::from_error(event.error());
        auto outcome = service.handle(event.value());
        if (!outcome) return messaging::HandlerResult::from_error(outcome.error());
        return outcome.value() == HandleOutcome::kDuplicate ? messaging::HandlerResult::duplicate()
                                                            : messaging::HandlerResult::processed();
      });
}

}  // namespace orderflow::notification
