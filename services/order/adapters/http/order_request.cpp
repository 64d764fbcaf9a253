#include "order_request.h"

#include "orderflow/http/types.h"

namespace orderflow::order {
namespace {

Error bad_field(const std::string& field, const std::string& expected) {
  return invalid_input("INVALID_FIELD", "'" + field + "' must be " + expected);
}

// Returns the value under `name` or its alias; both present with different values is an error.
Result<const nlohmann::json*> pick(const nlohmann::json& obj, const std::string& name,
                                   const std::string& alias) {
  auto a = obj.find(name);
  auto b = obj.find(alias);
  bool has_a = a != obj.end() && !a->is_null();
  bool has_b = b != obj.end() && !b->is_null();
  if (has_a && has_b && *a != *b) {
    return invalid_input("AMBIGUOUS_FIELD",
                         "'" + name + "' and '" + alias + "' are both given and differ");
  }
  if (has_a) return &*a;
  if (has_b) return &*b;
  return static_cast<const nlohmann::json*>(nullptr);
}

Result<std::optional<Decimal>> money(const nlohmann::json* value, const std::string& field) {
  if (value == nullptr) return std::optional<Decimal>{};
  std::optional<Decimal> parsed;
  if (value->is_number_integer()) {
    parsed = Decimal::parse(value->dump());
  } else if (value->is_number_float()) {
    // nlohmann prints the shortest text that round-trips, i.e. the text the client sent for
    // any amount with ≤ 15 significant digits; Decimal then parses it exactly.
    parsed = Decimal::parse(value->dump());
  } else if (value->is_string()) {
    parsed = Decimal::parse(value->get<std::string>());
  } else {
    return bad_field(field, "a number or a decimal string");
  }
  if (!parsed) return bad_field(field, "an exact decimal with at most 4 fractional digits");
  return parsed;
}

Result<std::string> identifier(const nlohmann::json* value, const std::string& field) {
  if (value->is_string()) {
    auto s = value->get<std::string>();
    if (auto checked = http::check_identifier(s, field); !checked) return checked.error();
    return s;
  }
  if (value->is_number_integer()) return value->dump();
  return bad_field(field, "a string or an integer");
}

}  // namespace

Result<OrderRequest> parse_order_request(const nlohmann::json& body,
                                         const std::optional<std::string>& header_user_id) {
  if (!body.is_object()) return invalid_input("INVALID_BODY", "the body must be a JSON object");
  OrderRequest request;

  auto user = pick(body, "userId", "customerId");
  if (!user) return user.error();
  if (user.value() != nullptr) {
    auto id = identifier(user.value(), "userId");
    if (!id) return id.error();
    request.user_id = id.value();
  } else if (header_user_id && !header_user_id->empty()) {
    if (auto checked = http::check_identifier(*header_user_id, "X-User-Id"); !checked) {
      return checked.error();
    }
    request.user_id = *header_user_id;
  } else {
    return invalid_input("MISSING_USER",
                         "userId is required (body userId or customerId, or X-User-Id header)");
  }

  if (auto it = body.find("customerEmail"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return bad_field("customerEmail", "a string");
    request.customer_email = it->get<std::string>();
  }
  if (auto it = body.find("currency"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return bad_field("currency", "a string");
    request.currency = it->get<std::string>();
  }
  auto total_it = body.find("totalAmount");
  auto total =
      money(total_it == body.end() || total_it->is_null() ? nullptr : &*total_it, "totalAmount");
  if (!total) return total.error();
  request.total_amount = total.value();

  if (auto it = body.find("items"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return bad_field("items", "an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& entry = (*it)[i];
      std::string where = "items[" + std::to_string(i) + "]";
      if (!entry.is_object()) return bad_field(where, "an object");
      RequestedItem item;
      auto sku = pick(entry, "sku", "productId");
      if (!sku) return sku.error();
      if (sku.value() == nullptr) {
        return invalid_input("MISSING_SKU", where + ": sku (or productId) is required");
      }
      auto sku_text = identifier(sku.value(), where + ".sku");
      if (!sku_text) return sku_text.error();
      item.sku = sku_text.value();

      auto qty = pick(entry, "quantity", "qty");
      if (!qty) return qty.error();
      if (qty.value() == nullptr) {
        return invalid_input("MISSING_QUANTITY", where + ": quantity (or qty) is required");
      }
      if (!qty.value()->is_number_integer()) return bad_field(where + ".quantity", "an integer");
      item.quantity = qty.value()->get<std::int64_t>();

      auto price = pick(entry, "unitPrice", "price");
      if (!price) return price.error();
      auto parsed = money(price.value(), where + ".unitPrice");
      if (!parsed) return parsed.error();
      item.unit_price = parsed.value();
      request.items.push_back(std::move(item));
    }
  }
  return request;
}

nlohmann::json order_to_json(const Order& order) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : order.items) {
    items.push_back({{"sku", item.sku},
                     {"quantity", item.quantity},
                     {"unitPrice", item.unit_price.to_string()}});
  }
  nlohmann::json out = {{"orderId", order.id},
                        {"status", to_string(order.status)},
                        {"userId", order.user_id},
                        {"totalAmount", order.total_amount.to_string()},
                        {"currency", order.currency},
                        {"items", std::move(items)},
                        {"createdAt", format_iso8601(order.created_at)},
                        {"updatedAt", format_iso8601(order.updated_at)}};
  if (!order.customer_email.empty()) out["customerEmail"] = order.customer_email;
  if (order.status == OrderStatus::kCancelled) out["cancelReason"] = order.cancel_reason;
  nlohmann::json timeline = nlohmann::json::array();
  for (const auto& t : order.timeline) {
    timeline.push_back({{"from", to_string(t.from)},
                        {"to", to_string(t.to)},
                        {"eventType", t.event_type},
                        {"eventId", t.event_id},
                        {"reason", t.reason},
                        {"at", format_iso8601(t.at)}});
  }
  out["timeline"] = std::move(timeline);
  return out;
}

}  // namespace orderflow::order
