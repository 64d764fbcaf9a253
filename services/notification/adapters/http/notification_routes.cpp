#include "notification_routes.h"

#include <charconv>

namespace orderflow::notification {
namespace {

std::optional<std::int64_t> to_int(const std::string& text) {
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

nlohmann::json to_json(const Notification& n) {
  nlohmann::json deliveries = nlohmann::json::array();
  for (const auto& d : n.deliveries) {
    deliveries.push_back({{"channel", d.channel},
                          {"status", d.status},
                          {"deliveredAt", format_iso8601(d.delivered_at)}});
  }
  return {{"id", n.id},
          {"userId", n.user_id},
          {"type", n.type},
          {"message", n.message},
          {"orderId", n.order_id},
          {"sourceEventId", n.source_event_id},
          {"createdAt", format_iso8601(n.created_at)},
          {"deliveries", std::move(deliveries)}};
}

}  // namespace

void add_notification_routes(http::Router& router, NotificationService& service) {
  router.add("GET", "/api/notifications", [&service](const http::Request& req) {
    auto user = req.query_param("userId");
    if (!user) user = req.header("X-User-Id");
    if (!user || user->empty()) {
      return http::Response::error(400, "MISSING_USER",
                                   "userId query parameter or X-User-Id header is required");
    }
    auto page = to_int(req.query_param("page").value_or("0"));
    auto size = to_int(req.query_param("size").value_or("20"));
    if (!page || !size || *page < 0 || *page > 1'000'000 || *size < 1) {
      return http::Response::error(400, "INVALID_PAGE", "page must be 0..1000000 and size ≥ 1");
    }
    auto result = service.list(*user, static_cast<int>(*page), static_cast<int>(*size));
    if (!result) return http::Response::from_error(result.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& n : result->items) items.push_back(to_json(n));
    return http::Response::json(200, {{"items", std::move(items)},
                                      {"page", result->page},
                                      {"size", result->size},
                                      {"total", result->total}});
  });
}

}  // namespace orderflow::notification
