#include "notification_routes.h"

#include "../notifier/http_notifier.h"

namespace orderflow::notification {
namespace {

nlohmann::json to_json(const Notification& n) {
  nlohmann::json deliveries = nlohmann::json::array();
  for (const auto& d : n.deliveries) {
    deliveries.push_back({{"channel", d.channel},
                          {"status", d.status},
                          {"deliveredAt", format_iso8601(d.delivered_at)},
                          {"attempts", d.attempts},
                          {"lastError", d.last_error},
                          {"httpStatus", d.http_status}});
  }
  // The webhook channel sends the same fields.
  auto out = webhook_payload(n);
  out["deliveries"] = std::move(deliveries);
  return out;
}

}  // namespace

void add_notification_routes(http::Router& router, NotificationService& service) {
  router.add("GET", "/api/notifications", [&service](const http::Request& req) {
    auto user = http::require_user_id(req);
    if (!user) return http::Response::from_error(user.error());
    auto page = http::parse_page(req);
    if (!page) return http::Response::from_error(page.error());
    auto result = service.list(*user, page->page, page->size);
    if (!result) return http::Response::from_error(result.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& n : result->items) items.push_back(to_json(n));
    return http::Response::json(200, {{"items", std::move(items)},
                                      {"page", result->page},
                                      {"size", result->size},
                                      {"total", result->total}});
  });
}

void add_fault_routes(http::Router& router, std::vector<FaultInjectingNotifier*> faults) {
  router.add(
      "POST", "/admin/faults",
      [faults](const http::Request& req) {
        auto body = http::parse_json_object(req.body);
        if (!body) return http::Response::from_error(body.error());
        auto it = body->find("failUserPrefix");
        if (it == body->end() || !it->is_string()) {
          return http::Response::error(400, "INVALID_FIELD", "'failUserPrefix' must be a string");
        }
        auto prefix = it->get<std::string>();
        for (auto* f : faults) f->set_prefix(prefix);
        return http::Response::json(200, {{"failUserPrefix", prefix}});
      },
      http::Access::kAdmin);
}

}  // namespace orderflow::notification
