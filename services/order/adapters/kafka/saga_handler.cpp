#include "saga_handler.h"

#include <type_traits>

#include "../../domain/saga.h"
#include "orderflow/messaging/event_decoders.h"

namespace orderflow::order {
namespace {

template <typename Typed>
SagaEvent saga_event_of(Typed&& typed) {
  using T = std::decay_t<Typed>;
  SagaEvent event;
  event.event_id = typed.meta.event_id;
  event.event_type = typed.meta.event_type;
  event.order_id = typed.order_id;
  if constexpr (requires { typed.reason; }) event.reason = typed.reason;
  if constexpr (std::is_same_v<T, messaging::PaymentCompleted>) {
    event.amount = typed.amount;
    event.currency = typed.currency;
  }
  return event;
}

}  // namespace

Result<SagaEvent> to_saga_event(const messaging::DecodedEvent& decoded,
                                const messaging::ConsumedRecord& record) {
  if (!saga_input_for(decoded.meta.event_type, {})) {
    // Not a saga event: OrderService::handle ignores it, nothing to decode.
    SagaEvent ignored;
    ignored.event_id = decoded.meta.event_id;
    ignored.event_type = decoded.meta.event_type;
    return ignored;
  }
  auto typed = messaging::decode_typed(decoded);
  if (!typed) return typed.error();
  if (!typed->has_value()) {
    return internal_error("NO_DECODER", "saga event " + decoded.meta.event_type + " has none");
  }
  auto event = std::visit([](auto&& e) { return saga_event_of(e); }, **typed);
  event.traceparent = messaging::child_traceparent(record);
  return event;
}

Result<SagaEvent> to_saga_event(const messaging::ConsumedRecord& record) {
  auto decoded = messaging::decode_event(record);
  if (!decoded) return decoded.error();
  return to_saga_event(decoded.value(), record);
}

messaging::RecordHandler make_saga_handler(OrderService& service,
                                           std::shared_ptr<spdlog::logger> logger) {
  return messaging::decoding_handler([&service, logger](const messaging::DecodedEvent& decoded,
                                                        const messaging::ConsumedRecord& record) {
    auto event = to_saga_event(decoded, record);
    if (!event) return messaging::HandlerResult::from_error(event.error());
    auto handled = service.handle(event.value());
    if (!handled) return messaging::HandlerResult::from_error(handled.error());
    if (handled->outcome == SagaOutcome::kDuplicate) return messaging::HandlerResult::duplicate();
    if (handled->outcome == SagaOutcome::kSkipped) {
      logger->info("\"saga event skipped\" orderId={} eventType={} eventId={} status={} why=\"{}\"",
                   event->order_id, event->event_type, event->event_id,
                   to_string(handled->order.status), handled->skip_reason);
      return messaging::HandlerResult::skip(
          unprocessable("EVENT_DOES_NOT_FIT", handled->skip_reason));
    }
    return messaging::HandlerResult::processed();
  });
}

}  // namespace orderflow::order
