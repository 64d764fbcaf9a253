#pragma once

#include "../../app/order_service.h"
#include "orderflow/http/router.h"

namespace orderflow::order {

/// POST /api/orders (201 + Location), GET /api/orders/{id} (with timeline),
/// POST /api/orders/{id}/cancel (200 with the order; 404; 409 with error.currentStatus),
/// GET /api/orders?userId=&page=&size= (userId falls back to the X-User-Id header). Errors use
/// the JSON error body. With a bearer token (request.principal): the user is the token's `sub`
/// (a body or query userId naming another user → 403 USER_MISMATCH), and another user's order
/// answers 404 ORDER_NOT_FOUND to GET and cancel unless the token has the admin role. The events a
/// POST causes carry request.traceparent (the server's span of the request: a child of the
/// caller's W3C `traceparent` header, or a new trace without a valid one). `intake_open` is checked
/// by POST: when it returns false (draining) the answer is 503.
void add_order_routes(http::Router& router, OrderService& service,
                      std::function<bool()> intake_open);

}  // namespace orderflow::order
