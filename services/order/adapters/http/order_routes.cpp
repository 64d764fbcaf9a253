#include "order_routes.h"

#include "order_request.h"

namespace orderflow::order {
namespace {

// Another user's order answers exactly as a missing one, so ids do not reveal whose they are.
Result<Order> visible_order(OrderService& service, const http::Request& req, std::int64_t id) {
  auto order = service.get(id);
  if (order && !http::may_access(req, order->user_id)) {
    return not_found("ORDER_NOT_FOUND", "order " + std::to_string(id) + " not found");
  }
  return order;
}

}  // namespace

void add_order_routes(http::Router& router, OrderService& service,
                      std::function<bool()> intake_open) {
  router.add("POST", "/api/orders", [&service, intake_open](const http::Request& req) {
    if (intake_open && !intake_open()) {
      return http::draining();
    }
    auto body = http::parse_json_object(req.body);
    if (!body) return http::Response::from_error(body.error());
    auto caller = http::caller_user_id(req);
    if (!caller) return http::Response::from_error(caller.error());
    auto request = parse_order_request(body.value(), caller.value());
    if (!request) return http::Response::from_error(request.error());
    if (auto acting = http::check_acting_user(req, request->user_id); !acting) {
      return http::Response::from_error(acting.error());
    }
    auto order = service.create(request.value(), req.traceparent);
    if (!order) return http::Response::from_error(order.error());
    auto response = http::Response::json(201, order_to_json(order.value()));
    response.headers.emplace_back("Location", "/api/orders/" + std::to_string(order->id));
    return response;
  });

  router.add("GET", "/api/orders/{id}", [&service](const http::Request& req) {
    auto id = http::parse_int(req.path_param("id"));
    if (!id || *id <= 0) {
      return http::Response::error(400, "INVALID_ID", "order id must be a positive integer");
    }
    auto order = visible_order(service, req, *id);
    if (!order) return http::Response::from_error(order.error());
    return http::Response::json(200, order_to_json(order.value()));
  });

  router.add("POST", "/api/orders/{id}/cancel", [&service, intake_open](const http::Request& req) {
    if (intake_open && !intake_open()) {
      return http::draining();
    }
    auto id = http::parse_int(req.path_param("id"));
    if (!id || *id <= 0) {
      return http::Response::error(400, "INVALID_ID", "order id must be a positive integer");
    }
    // Checked before cancelling: another user's order is not touched, and reads as missing.
    if (auto visible = visible_order(service, req, *id); !visible) {
      return http::Response::from_error(visible.error());
    }
    auto cancelled = service.cancel(*id, req.traceparent);
    if (!cancelled) {
      auto response = http::Response::from_error(cancelled.error());
      if (cancelled.error().kind == ErrorKind::kConflict) {
        // The 409 names the current status so the client need not ask again.
        auto current = service.get(*id);
        if (current) {
          auto body = nlohmann::json::parse(response.body);
          body["error"]["currentStatus"] = to_string(current->status);
          response.body = body.dump();
        }
      }
      return response;
    }
    return http::Response::json(200, order_to_json(cancelled.value()));
  });

  router.add("GET", "/api/orders", [&service](const http::Request& req) {
    auto user = http::require_user_id(req);
    if (!user) return http::Response::from_error(user.error());
    auto page = http::parse_page(req);
    if (!page) return http::Response::from_error(page.error());
    auto result = service.list(*user, page->page, page->size);
    if (!result) return http::Response::from_error(result.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& o : result->orders) items.push_back(order_to_json(o));
    return http::Response::json(200, {{"items", std::move(items)},
                                      {"page", result->page},
                                      {"size", result->size},
                                      {"total", result->total}});
  });
}

}  // namespace orderflow::order
