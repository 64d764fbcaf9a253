#include "inventory_routes.h"

namespace orderflow::inventory {
namespace {

Error bad_field(const std::string& field, const std::string& expected) {
  return invalid_input("INVALID_FIELD", "'" + field + "' must be " + expected);
}

nlohmann::json items_json(const std::vector<ReservationItem>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items) out.push_back({{"sku", item.sku}, {"quantity", item.quantity}});
  return out;
}

}  // namespace

nlohmann::json product_to_json(const Product& product) {
  return {{"sku", product.sku},
          {"name", product.name},
          {"unitPrice", product.unit_price.to_string()},
          {"available", product.available},
          {"reserved", product.reserved},
          {"sold", product.sold}};
}

nlohmann::json reservation_to_json(const Reservation& r) {
  return {{"orderId", r.order_id},
          {"userId", r.user_id},
          {"status", to_string(r.status)},
          {"totalAmount", r.total_amount.to_string()},
          {"currency", r.currency},
          {"items", items_json(r.items)},
          {"expiresAt", format_iso8601(r.expires_at)},
          {"createdAt", format_iso8601(r.created_at)},
          {"updatedAt", format_iso8601(r.updated_at)}};
}

Result<ProductUpdate> parse_product_update(const nlohmann::json& body) {
  if (!body.is_object()) return invalid_input("INVALID_BODY", "the body must be a JSON object");
  ProductUpdate update;
  if (auto it = body.find("name"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return bad_field("name", "a string");
    update.name = it->get<std::string>();
  }
  if (auto it = body.find("unitPrice"); it != body.end() && !it->is_null()) {
    std::optional<Decimal> price;
    if (it->is_string()) {
      price = Decimal::parse(it->get<std::string>());
    } else if (it->is_number()) {
      // nlohmann prints the shortest round-tripping text, i.e. what the client sent for any
      // price with ≤ 15 significant digits; Decimal then parses it exactly.
      price = Decimal::parse(it->dump());
    } else {
      return bad_field("unitPrice", "a number or a decimal string");
    }
    if (!price) return bad_field("unitPrice", "an exact decimal with at most 4 fractional digits");
    update.unit_price = *price;
  }
  if (auto it = body.find("stock"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer()) return bad_field("stock", "an integer");
    // Clamped rather than narrowed: a value beyond int64 must not wrap to a valid stock; the
    // domain then rejects it as out of range (422).
    update.stock = it->is_number_unsigned() &&
                           it->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxQuantity)
                       ? kMaxQuantity + 1
                       : it->get<std::int64_t>();
  }
  return update;
}

void add_inventory_routes(http::Router& router, InventoryService& service,
                          std::function<bool()> intake_open) {
  router.add("GET", "/api/products", [&service](const http::Request&) {
    auto products = service.list_products();
    if (!products) return http::Response::from_error(products.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& p : products.value()) items.push_back(product_to_json(p));
    return http::Response::json(200, items);
  });

  router.add("GET", "/api/products/{sku}", [&service](const http::Request& req) {
    auto product = service.get_product(req.path_param("sku"));
    if (!product) return http::Response::from_error(product.error());
    return http::Response::json(200, product_to_json(product.value()));
  });

  router.add(
      "PUT", "/api/products/{sku}",
      [&service, intake_open](const http::Request& req) {
        if (intake_open && !intake_open()) {
          return http::draining();
        }
        auto body = http::parse_json_object(req.body);
        if (!body) return http::Response::from_error(body.error());
        auto update = parse_product_update(body.value());
        if (!update) return http::Response::from_error(update.error());
        auto result = service.put_product(req.path_param("sku"), update.value());
        if (!result) return http::Response::from_error(result.error());
        return http::Response::json(result->created ? 201 : 200, product_to_json(result->product));
      },
      http::Access::kAdmin);

  router.add("GET", "/api/reservations", [&service](const http::Request& req) {
    auto text = req.query_param("orderId");
    if (!text || text->empty()) {
      return http::Response::error(400, "MISSING_ORDER_ID", "orderId query parameter is required");
    }
    auto id = http::parse_int(*text);
    if (!id || *id <= 0) {
      return http::Response::error(400, "INVALID_ID", "orderId must be a positive integer");
    }
    // A list (one reservation per order today) like GET /api/payments?orderId=, so checkers
    // read every service's per-order records the same way; none is an empty list, not 404.
    nlohmann::json items = nlohmann::json::array();
    auto reservation = service.get_reservation(*id);
    if (reservation && http::may_access(req, reservation->user_id)) {
      items.push_back(reservation_to_json(reservation.value()));
    } else if (!reservation && reservation.error().kind != ErrorKind::kNotFound) {
      return http::Response::from_error(reservation.error());
    }
    return http::Response::json(200, {{"items", std::move(items)}});
  });

  // Run-time fault switch (docs/operations.md): {"failSkuPrefix": "..."}; "" clears it.
  router.add(
      "POST", "/admin/faults",
      [&service](const http::Request& req) {
        auto body = http::parse_json_object(req.body);
        if (!body) return http::Response::from_error(body.error());
        auto it = body->find("failSkuPrefix");
        if (it == body->end() || !it->is_string()) {
          return http::Response::from_error(bad_field("failSkuPrefix", "a string"));
        }
        service.set_fail_sku_prefix(it->get<std::string>());
        return http::Response::json(200, {{"failSkuPrefix", service.fail_sku_prefix()}});
      },
      http::Access::kAdmin);
}

}  // namespace orderflow::inventory
