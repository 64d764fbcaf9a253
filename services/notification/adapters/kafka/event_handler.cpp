#include "event_handler.h"

#include <charconv>

#include "orderflow/messaging/event_codec.h"

namespace orderflow::notification {
namespace {

std::optional<std::string> scalar_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float() || v.is_boolean()) return v.dump();
  return std::nullopt;
}

}  // namespace

Result<IncomingEvent> to_incoming_event(const messaging::ConsumedRecord& record) {
  auto decoded = messaging::decode_event(record.value);
  if (!decoded) return decoded.error();
  const auto& body = decoded->body;
  IncomingEvent event;
  event.event_id = decoded->meta.event_id;
  event.event_type = decoded->meta.event_type;
  auto order = body.find("orderId");
  if (order == body.end()) return invalid_input("MALFORMED_EVENT", "orderId is missing");
  if (order->is_number_integer()) {
    event.order_id = order->get<std::int64_t>();
  } else if (order->is_string()) {
    auto text = order->get<std::string>();
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), event.order_id);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      return invalid_input("MALFORMED_EVENT", "orderId '" + text + "' is not an integer");
    }
  } else {
    return invalid_input("MALFORMED_EVENT", "orderId must be an integer");
  }
  if (auto user = body.find("userId"); user != body.end()) {
    // Not scalar_text(): a boolean or a fraction is no user id (it would notify user "true").
    if (user->is_string()) {
      event.user_id = user->get<std::string>();
    } else if (user->is_number_integer()) {
      event.user_id = user->dump();
    } else {
      return invalid_input("MALFORMED_EVENT", "userId must be a string or an integer");
    }
  }
  for (const auto& [key, value] : body.items()) {
    if (auto text = scalar_text(value)) event.fields[key] = *text;
  }
  return event;
}

messaging::RecordHandler make_event_handler(NotificationService& service) {
  return [&service](const messaging::ConsumedRecord& record) {
    auto event = to_incoming_event(record);
    if (!event) return messaging::HandlerResult::from_error(event.error());
    auto outcome = service.handle(event.value());
    messaging::HandlerResult result =
        outcome
            ? (outcome.value() == HandleOutcome::kDuplicate ? messaging::HandlerResult::duplicate()
                                                            : messaging::HandlerResult::processed())
            : messaging::HandlerResult::from_error(outcome.error());
    result.event_type = event->event_type;
    result.event_id = event->event_id;
    return result;
  };
}

}  // namespace orderflow::notification
