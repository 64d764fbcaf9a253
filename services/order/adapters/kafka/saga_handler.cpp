#include "saga_handler.h"

#include "orderflow/messaging/event_codec.h"

namespace orderflow::order {

Result<SagaEvent> to_saga_event(const messaging::ConsumedRecord& record) {
  auto decoded = messaging::decode_event(record.value);
  if (!decoded) return decoded.error();
  if (decoded->meta.event_version != 1) {
    return invalid_input("UNSUPPORTED_VERSION",
                         "eventVersion " + std::to_string(decoded->meta.event_version) + " of " +
                             decoded->meta.event_type + " is not supported (1 is)");
  }
  const auto& body = decoded->body;
  SagaEvent event;
  event.event_id = decoded->meta.event_id;
  event.event_type = decoded->meta.event_type;
  auto order = body.find("orderId");
  if (order == body.end() || !order->is_number_integer()) {
    return invalid_input("MALFORMED_EVENT", "orderId must be an integer");
  }
  event.order_id = order->get<std::int64_t>();
  for (auto [field, target] :
       {std::pair{"reason", &event.reason}, std::pair{"currency", &event.currency}}) {
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_string()) {
      return invalid_input("MALFORMED_EVENT", std::string(field) + " must be a string");
    }
    *target = it->get<std::string>();
  }
  if (auto it = body.find("amount"); it != body.end() && !it->is_null()) {
    auto amount = it->is_string() ? Decimal::parse(it->get<std::string>()) : std::nullopt;
    if (!amount) return invalid_input("MALFORMED_EVENT", "amount must be a decimal string");
    event.amount = amount;
  }
  return event;
}

messaging::RecordHandler make_saga_handler(OrderService& service,
                                           std::shared_ptr<spdlog::logger> logger) {
  return [&service, logger](const messaging::ConsumedRecord& record) {
    auto event = to_saga_event(record);
    if (!event) return messaging::HandlerResult::from_error(event.error());
    auto handled = service.handle(event.value());
    messaging::HandlerResult result = messaging::HandlerResult::processed();
    if (!handled) {
      result = messaging::HandlerResult::from_error(handled.error());
    } else if (handled->outcome == SagaOutcome::kDuplicate) {
      result = messaging::HandlerResult::duplicate();
    } else if (handled->outcome == SagaOutcome::kSkipped) {
      logger->info("\"saga event skipped\" orderId={} eventType={} eventId={} status={} why=\"{}\"",
                   event->order_id, event->event_type, event->event_id,
                   to_string(handled->order.status), handled->skip_reason);
      result =
          messaging::HandlerResult::skip(unprocessable("EVENT_DOES_NOT_FIT", handled->skip_reason));
    }
    result.event_type = event->event_type;
    result.event_id = event->event_id;
    return result;
  };
}

}  // namespace orderflow::order
