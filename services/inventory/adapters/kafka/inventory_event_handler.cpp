#include "inventory_event_handler.h"

#include <charconv>

#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/events.h"

namespace orderflow::inventory {
namespace {

Error malformed(const std::string& message) { return invalid_input("MALFORMED_EVENT", message); }

Result<std::int64_t> order_id_of(const nlohmann::json& body) {
  auto it = body.find("orderId");
  if (it == body.end() || it->is_null()) return malformed("orderId is missing");
  std::int64_t id = 0;
  if (it->is_number_integer()) {
    id = it->get<std::int64_t>();
  } else if (it->is_string()) {
    auto text = it->get<std::string>();
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      return malformed("orderId '" + text + "' is not an integer");
    }
  } else {
    return malformed("orderId must be an integer");
  }
  if (id < 1) return malformed("orderId must be ≥ 1");
  return id;
}

// A string, or an integer rendered as text (seeds send numeric user ids and product ids).
Result<std::string> identifier(const nlohmann::json& value, const std::string& field) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  return malformed(field + " must be a string or an integer");
}

Result<Decimal> money(const nlohmann::json& value, const std::string& field) {
  std::optional<Decimal> parsed;
  if (value.is_string()) {
    parsed = Decimal::parse(value.get<std::string>());
  } else if (value.is_number()) {
    parsed = Decimal::parse(value.dump());
  }
  if (!parsed) return malformed(field + " must be an exact decimal");
  return *parsed;
}

Result<void> read_order_created(const nlohmann::json& body, IncomingEvent& event) {
  if (event.user_id.empty()) return malformed("userId is missing");
  auto total = body.find("totalAmount");
  if (total == body.end()) return malformed("totalAmount is missing");
  auto amount = money(*total, "totalAmount");
  if (!amount) return amount.error();
  event.total_amount = amount.value();
  auto currency = body.find("currency");
  if (currency == body.end() || !currency->is_string()) {
    return malformed("currency must be a string");
  }
  event.currency = currency->get<std::string>();
  auto items = body.find("items");
  if (items == body.end() || !items->is_array()) return malformed("items must be an array");
  for (std::size_t i = 0; i < items->size(); ++i) {
    const auto& entry = (*items)[i];
    std::string where = "items[" + std::to_string(i) + "]";
    if (!entry.is_object()) return malformed(where + " must be an object");
    auto sku = entry.find("sku");
    if (sku == entry.end()) return malformed(where + ".sku is missing");
    auto sku_text = identifier(*sku, where + ".sku");
    if (!sku_text) return sku_text.error();
    auto quantity = entry.find("quantity");
    if (quantity == entry.end() || !quantity->is_number_integer()) {
      return malformed(where + ".quantity must be an integer");
    }
    event.items.push_back({sku_text.value(), quantity->get<std::int64_t>()});
  }
  return {};
}

}  // namespace

Result<IncomingEvent> to_incoming_event(const messaging::ConsumedRecord& record) {
  auto decoded = messaging::decode_event(record.value);
  if (!decoded) return decoded.error();
  IncomingEvent event;
  event.event_id = decoded->meta.event_id;
  event.event_type = decoded->meta.event_type;
  event.traceparent = messaging::find_header(record.headers, "traceparent").value_or("");
  const bool handled = event.event_type == events::kOrderCreated ||
                       event.event_type == events::kOrderCancelled ||
                       event.event_type == events::kPaymentCompleted;
  if (!handled) return event;

  if (decoded->meta.event_version != 1) {
    return invalid_input("UNSUPPORTED_EVENT_VERSION",
                         event.event_type + " eventVersion " +
                             std::to_string(decoded->meta.event_version) + " (supported: 1)");
  }
  const auto& body = decoded->body;
  auto order_id = order_id_of(body);
  if (!order_id) return order_id.error();
  event.order_id = order_id.value();
  if (auto user = body.find("userId"); user != body.end() && !user->is_null()) {
    auto id = identifier(*user, "userId");
    if (!id) return id.error();
    event.user_id = id.value();
  }
  if (event.event_type == events::kOrderCreated) {
    if (auto r = read_order_created(body, event); !r) return r.error();
  }
  return event;
}

messaging::RecordHandler make_event_handler(InventoryService& service) {
  return [&service](const messaging::ConsumedRecord& record) {
    auto event = to_incoming_event(record);
    if (!event) return messaging::HandlerResult::from_error(event.error());
    auto report = service.handle(event.value());
    messaging::HandlerResult result;
    if (!report) {
      result = messaging::HandlerResult::from_error(report.error());
    } else {
      switch (report->outcome) {
        case HandleOutcome::kApplied:
        case HandleOutcome::kIgnored:
          result = messaging::HandlerResult::processed();
          break;
        case HandleOutcome::kDuplicate:
          result = messaging::HandlerResult::duplicate();
          break;
        case HandleOutcome::kSkipped:
          result = messaging::HandlerResult::skip(unprocessable(report->code, report->detail));
          break;
      }
    }
    result.event_type = event->event_type;
    result.event_id = event->event_id;
    return result;
  };
}

}  // namespace orderflow::inventory
