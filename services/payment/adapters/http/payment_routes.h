#pragma once

#include <nlohmann/json.hpp>

#include "../../app/payment_service.h"
#include "orderflow/http/router.h"

namespace orderflow::payment {

/// GET /api/payments?orderId= → 200 {"items":[payment…]} (empty when the order has none; 400
/// INVALID_ORDER_ID when orderId is missing or not an integer); GET /api/payments/{paymentId}
/// → 200 payment, 404 PAYMENT_NOT_FOUND. With a token only the caller's payments are shown
/// (an admin sees all; another user's is absent from the list, 404 by id). A payment is
/// {"paymentId","orderId","userId", "amount" (decimal string),"currency","status"
/// (CAPTURED|FAILED|REFUNDED),"reason" (null when none),"createdAt","updatedAt" (ISO-8601 UTC)}.
/// Errors use the JSON error body.
void add_payment_routes(http::Router& router, PaymentService& service);

/// The JSON of one payment, as above.
nlohmann::json payment_to_json(const Payment& payment);

}  // namespace orderflow::payment
