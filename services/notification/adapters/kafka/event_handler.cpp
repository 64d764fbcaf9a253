#include "event_handler.h"

#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/event_decoders.h"
#include "orderflow/messaging/events.h"

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
  auto event = to_incoming_event(decoded.value());
  if (event) event->traceparent = messaging::child_traceparent(record);
  return event;
}

messaging::RecordHandler make_event_handler(NotificationService& service) {
  return messaging::decoding_handler(
      [&service](const messaging::DecodedEvent& decoded, const messaging::ConsumedRecord& record) {
        auto event = to_incoming_event(decoded);
        if (!event) return messaging::HandlerResult::from_error(event.error());
        event->traceparent = messaging::child_traceparent(record);
        // The database part runs here, inside the consumer's batch transaction; the channel
        // calls are handed off so that no HTTP call holds the database's write lock.
        auto prepared = service.prepare(event.value());
        if (!prepared) return messaging::HandlerResult::from_error(prepared.error());
        if (!prepared->has_value()) return messaging::HandlerResult::processed();
        return messaging::HandlerResult::handed_off(
            [&service, event = std::move(event.value()), stored = std::move(**prepared)]() mutable {
              auto outcome = service.deliver(event, std::move(stored));
              if (!outcome) return messaging::HandlerResult::from_error(outcome.error());
              switch (outcome.value()) {
                case HandleOutcome::kDuplicate:
                  return messaging::HandlerResult::duplicate();
                case HandleOutcome::kRejected:
                  return messaging::HandlerResult::skip(unprocessable(
                      "CHANNEL_REJECTED", "a channel refused the notification of event " +
                                              event.event_id + " (stored REJECTED)"));
                default:
                  return messaging::HandlerResult::processed();
              }
            });
      });
}

Result<std::optional<CompletedOrder>> to_completed_order(const messaging::DecodedEvent& decoded) {
  if (decoded.meta.event_type != events::kOrderCompleted) {
    return std::optional<CompletedOrder>{};
  }
  auto completed = messaging::decode_order_progressed(decoded);
  if (!completed) return completed.error();
  CompletedOrder order;
  order.event_id = decoded.meta.event_id;
  order.order_id = completed->order_id;
  order.user_id = completed->user_id;
  if (completed->total_amount) order.total_amount = completed->total_amount->to_string();
  order.currency = completed->currency;
  order.completed_at = decoded.meta.timestamp;
  return std::optional<CompletedOrder>(std::move(order));
}

messaging::RecordHandler make_sink_handler(SinkService& sink) {
  return messaging::decoding_handler(
      [&sink](const messaging::DecodedEvent& decoded, const messaging::ConsumedRecord& record) {
        auto order = to_completed_order(decoded);
        if (!order) return messaging::HandlerResult::from_error(order.error());
        if (!order->has_value()) return messaging::HandlerResult::processed();  // not for it
        (*order)->traceparent = messaging::child_traceparent(record);
        // The platform's round trip runs on the hand-off pool: a worker goes on with other
        // orders meanwhile.
        return messaging::HandlerResult::handed_off([&sink, order = std::move(**order)] {
          auto outcome = sink.handle(order);
          // A refusal (4xx) is not a business "skip": the record goes to the DLT at once with
          // the platform's status and body (dlq.error.message), to be replayed from ops.
          if (!outcome) return messaging::HandlerResult::failed(outcome.error());
          return outcome.value() == SinkOutcome::kDuplicate ? messaging::HandlerResult::duplicate()
                                                            : messaging::HandlerResult::processed();
        });
      });
}

}  // namespace orderflow::notification
