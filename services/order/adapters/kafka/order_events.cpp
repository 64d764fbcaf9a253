#include "order_events.h"

#include <nlohmann/json.hpp>

#include "orderflow/common/uuid.h"
#include "orderflow/messaging/event_codec.h"

namespace orderflow::order {

messaging::OutgoingRecord order_created_record(const Order& order, const std::string& topic,
                                               const std::string& source,
                                               const std::string& traceparent) {
  messaging::EventMeta meta{new_uuid(), "ORDER_CREATED", 1, format_iso8601(order.created_at)};
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : order.items) {
    items.push_back({{"sku", item.sku},
                     {"quantity", item.quantity},
                     {"unitPrice", item.unit_price.to_string()}});
  }
  nlohmann::json payload = {{"orderId", order.id},
                            {"userId", order.user_id},
                            {"totalAmount", order.total_amount.to_string()},
                            {"currency", order.currency},
                            {"items", std::move(items)}};
  if (!order.customer_email.empty()) payload["customerEmail"] = order.customer_email;
  return {topic, std::to_string(order.id), messaging::encode_event(meta, std::move(payload)),
          messaging::standard_headers(meta, source, traceparent)};
}

messaging::OutgoingRecord order_status_record(const Order& order, std::string_view event_type,
                                              const std::string& reason, OrderStatus previous,
                                              Clock::TimePoint at, const std::string& topic,
                                              const std::string& source,
                                              const std::string& traceparent) {
  messaging::EventMeta meta{new_uuid(), std::string(event_type), 1, format_iso8601(at)};
  nlohmann::json payload = {{"orderId", order.id},
                            {"userId", order.user_id},
                            {"totalAmount", order.total_amount.to_string()},
                            {"currency", order.currency}};
  if (order.status == OrderStatus::kCancelled || !reason.empty()) {
    payload["reason"] = reason;
    payload["previousStatus"] = to_string(previous);
  }
  return {topic, std::to_string(order.id), messaging::encode_event(meta, std::move(payload)),
          messaging::standard_headers(meta, source, traceparent)};
}

}  // namespace orderflow::order
