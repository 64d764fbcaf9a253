#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "../../domain/order.h"
#include "orderflow/common/result.h"

namespace orderflow::order {

/// Normalises a POST /api/orders body of seeds 000, 001 or 003 (ARCHITECTURE.md
/// "Compatibility"): userId | customerId (integer or string; else the X-User-Id header),
/// customerEmail, currency, totalAmount (number or decimal string), items[] with
/// sku | productId (string or integer), quantity | qty (integer), unitPrice | price (number or
/// decimal string). Unknown fields are ignored. Errors: kInvalidInput (400) with code
/// MISSING_USER, INVALID_FIELD (wrong type, or a string user id, sku or `header_user_id` that
/// fails http::check_identifier; names the field) or AMBIGUOUS_FIELD (both aliases with
/// different values). Business rules are checked later by price_order().
Result<OrderRequest> parse_order_request(const nlohmann::json& body,
                                         const std::optional<std::string>& header_user_id);

/// The API shape of an order: orderId, status, userId, totalAmount, currency, items
/// [{sku, quantity, unitPrice}], createdAt, updatedAt, cancelReason (when cancelled),
/// customerEmail (when given), timeline [{from, to, eventType, eventId, reason, at}]. Money is
/// rendered as exact decimal strings.
nlohmann::json order_to_json(const Order& order);

}  // namespace orderflow::order
