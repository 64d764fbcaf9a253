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
  return {topic, std::to_string(event.order_id), messaging::encode_event(meta, std::move(payload)),
          messaging::standard_headers(meta, source, event.traceparent)};
}

}  // namespace orderflow::inventory
