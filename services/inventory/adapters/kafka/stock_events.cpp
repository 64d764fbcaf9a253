#include "stock_events.h"

#include <nlohmann/json.hpp>

#include "orderflow/common/uuid.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/events.h"

namespace orderflow::inventory {
namespace {

nlohmann::json items_json(const std::vector<ReservationItem>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) out.push_back({{"sku", item.sku}, {"quantity", item.quantity}});
  return out;
}

// Same trace, new span (W3C: the parent-id is the caller's span, so each hop gets its own).
std::string child_traceparent(const std::string& parent) {
  if (parent.size() != 55 || parent.compare(0, 3, "00-") != 0 || parent[35] != '-') return {};
  auto fresh = messaging::new_traceparent();
  return parent.substr(0, 36) + fresh.substr(36, 16) + parent.substr(52);
}

}  // namespace

messaging::OutgoingRecord stock_event_record(const StockEvent& event, const std::string& topic,
                                             const std::string& source) {
  messaging::EventMeta meta{new_uuid(), event.type, 1, format_iso8601(event.timestamp)};
  nlohmann::json payload = {{"orderId", event.order_id}, {"userId", event.user_id}};
  if (event.type == events::kStockReserved) {
    payload["totalAmount"] = event.total_amount.to_string();
    payload["currency"] = event.currency;
    payload["items"] = items_json(event.items);
    payload["expiresAt"] = format_iso8601(event.expires_at);
  } else if (event.type == events::kStockRejected) {
    payload["reason"] = event.reason;
    payload["sku"] = event.sku;
  } else if (event.type == events::kStockDeducted) {
    payload["items"] = items_json(event.items);
  } else if (event.type == events::kStockReleased) {
    payload["reason"] = event.reason;
    payload["items"] = items_json(event.items);
  } else {
    payload["reason"] = event.reason;
  }
  return {topic, std::to_string(event.order_id), messaging::encode_event(meta, payload),
          messaging::standard_headers(meta, source, child_traceparent(event.traceparent))};
}

}  // namespace orderflow::inventory
