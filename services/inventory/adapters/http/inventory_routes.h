#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "../../app/inventory_service.h"
#include "orderflow/common/result.h"
#include "orderflow/http/router.h"

namespace orderflow::inventory {

/// The API shape of a product: {"sku","name","unitPrice" (decimal string),"available",
/// "reserved","sold"}.
nlohmann::json product_to_json(const Product& product);

/// The API shape of a reservation: {"orderId","userId","status","totalAmount","currency",
/// "items":[{"sku","quantity"}],"expiresAt","createdAt","updatedAt"} (times ISO-8601 UTC).
nlohmann::json reservation_to_json(const Reservation& reservation);

/// Parses a PUT /api/products/{sku} body: any of "name" (string), "unitPrice" (number or
/// decimal string), "stock" (integer); unknown fields are ignored. kInvalidInput (400)
/// INVALID_FIELD naming the field for a wrong type or a price that is not an exact decimal.
/// Range rules (negative → 422) are the domain's (apply_update).
Result<ProductUpdate> parse_product_update(const nlohmann::json& body);

/// GET /api/products, GET /api/products/{sku}, PUT /api/products/{sku} (201 when created,
/// 200 when updated), GET /api/reservations?orderId= → {"items":[reservation]} (empty when
/// the order has none or it is another user's; 400 without a positive integer orderId). Errors
/// use the JSON error body. PUT /api/products and /admin/faults are http::Access::kAdmin.
/// POST /admin/faults {"failSkuPrefix": string} sets the fault prefix live → 200
/// {"failSkuPrefix"}; 400 for a malformed body.
/// `intake_open` is checked by PUT: when it returns false (draining) the answer is 503.
void add_inventory_routes(http::Router& router, InventoryService& service,
                          std::function<bool()> intake_open);

}  // namespace orderflow::inventory
