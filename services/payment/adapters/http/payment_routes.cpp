#include "payment_routes.h"

namespace orderflow::payment {
nlohmann::json payment_to_json(const Payment& p) {
  return {{"paymentId", p.id},
          {"orderId", p.order_id},
          {"userId", p.user_id},
          {"amount", p.amount.to_string()},
          {"currency", p.currency},
          {"status", to_string(p.status)},
          {"reason", p.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.reason)},
          {"createdAt", format_iso8601(p.created_at)},
          {"updatedAt", format_iso8601(p.updated_at)}};
}

void add_payment_routes(http::Router& router, PaymentService& service) {
  router.add("GET", "/api/payments", [&service](const http::Request& req) {
    auto text = req.query_param("orderId");
    auto order_id = text ? http::parse_int(*text) : std::nullopt;
    if (!order_id) {
      return http::Response::error(400, "INVALID_ORDER_ID",
                                   "orderId query parameter is required and must be an integer");
    }
    auto payments = service.list_by_order(*order_id);
    if (!payments) return http::Response::from_error(payments.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& p : payments.value()) {
      if (http::may_access(req, p.user_id)) items.push_back(payment_to_json(p));
    }
    return http::Response::json(200, {{"items", std::move(items)}});
  });

  router.add("GET", "/api/payments/{paymentId}", [&service](const http::Request& req) {
    auto payment = service.get(req.path_param("paymentId"));
    if (!payment) return http::Response::from_error(payment.error());
    // Another user's payment is answered as a missing one: its id is not disclosed.
    if (!http::may_access(req, payment->user_id)) {
      return http::Response::from_error(
          not_found("PAYMENT_NOT_FOUND", "payment " + req.path_param("paymentId") + " not found"));
    }
    return http::Response::json(200, payment_to_json(payment.value()));
  });
}

}  // namespace orderflow::payment
