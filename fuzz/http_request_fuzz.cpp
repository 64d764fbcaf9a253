// The HTTP request path: raw bytes through Beast's request parser with the server's limits,
// the request built as the server builds it (apply_target: path and query decoding), then
// Router::dispatch with the authenticator in `required` or `optional` mode (random
// Authorization headers) to handlers that parse the body as the order routes do
// (parse_json_object, parse_order_request, require_user_id, parse_page, parse_int).
// Input: an HTTP/1.1 request.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "adapters/http/order_request.h"
#include "orderflow/http/auth.h"
#include "orderflow/http/router.h"
#include "orderflow/http/types.h"

namespace http = orderflow::http;
namespace bhttp = boost::beast::http;

namespace {

http::Response order_body(const http::Request& request) {
  auto body = http::parse_json_object(request.body);
  if (!body) return http::Response::from_error(body.error());
  auto order = orderflow::order::parse_order_request(*body, request.header("X-User-Id"));
  if (!order) return http::Response::from_error(order.error());
  if (auto acting = http::check_acting_user(request, order->user_id); !acting) {
    return http::Response::from_error(acting.error());
  }
  return http::Response::json(201, {{"userId", order->user_id}});
}

http::Response by_id(const http::Request& request) {
  auto id = http::parse_int(request.path_param("id"));
  if (!id) return http::Response::error(404, "NOT_FOUND", "no such order");
  if (!http::may_access(request, std::to_string(*id % 10))) {
    return http::Response::error(404, "NOT_FOUND", "no such order");
  }
  return http::Response::json(200, {{"orderId", *id}});
}

http::Response list(const http::Request& request) {
  auto user = http::require_user_id(request);
  if (!user) return http::Response::from_error(user.error());
  auto page = http::parse_page(request);
  if (!page) return http::Response::from_error(page.error());
  return http::Response::json(200, {{"userId", *user}});
}

http::Router make_router() {
  http::Router router;
  router.add("POST", "/api/orders", order_body);
  router.add("GET", "/api/orders", list);
  router.add("GET", "/api/orders/{id}", by_id);
  router.add("POST", "/api/orders/{id}/cancel", by_id);
  router.add("GET", "/api/notifications", list);
  router.add("PUT", "/api/products/{sku}", order_body, http::Access::kAdmin);
  router.add("POST", "/admin/dlq/{id}/replay", by_id, http::Access::kAdmin);
  router.add(
      "GET", "/health/live", [](const http::Request&) { return http::Response::json(200, {}); },
      http::Access::kOpen);
  return router;
}

std::unique_ptr<http::Authenticator> make_auth(http::AuthMode mode, const orderflow::Clock& clock) {
  http::AuthConfig config;
  config.mode = mode;
  config.algorithm = http::JwtAlgorithm::kHS256;
  config.secret = "fuzz-secret-fuzz-secret-fuzz-secret-0123";
  config.issuer = "orderflow";
  config.audience = "orderflow-api";
  return std::make_unique<http::Authenticator>(config, clock);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const orderflow::ManualClock clock{};
  static const http::Router router = make_router();
  static const auto required = make_auth(http::AuthMode::kRequired, clock);
  static const auto optional = make_auth(http::AuthMode::kOptional, clock);

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(1024 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  const auto& message = parser.get();

  http::Request request;
  request.method = std::string(message.method_string());
  http::apply_target(std::string_view(message.target().data(), message.target().size()), request);
  for (const auto& field : message) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = message.body();
  for (const auto* auth :
       {required.get(), optional.get(), static_cast<http::Authenticator*>(nullptr)}) {
    http::Request copy = request;
    auto dispatched = router.dispatch(copy, auth);
    if (!dispatched.handler_error.empty()) __builtin_trap();  // a handler threw: a bug
    (void)dispatched.response.body.size();
  }
  return 0;
}
