#pragma once

#include "../../app/order_service.h"
#include "orderflow/http/router.h"

namespace orderflow::order {

/// POST /api/orders (201 + Location), GET /api/orders/{id}, GET /api/orders?userId=&page=&size=
/// (userId falls back to the X-User-Id header). Errors use the JSON error body.
/// `intake_open` is checked by POST: when it returns false (draining) the answer is 503.
void add_order_routes(http::Router& router, OrderService& service,
                      std::function<bool()> intake_open);

}  // namespace orderflow::order
