#pragma once

#include <string>

#include "../../domain/order.h"
#include "orderflow/messaging/record.h"

namespace orderflow::order {

/// The ORDER_CREATED record of `order` for `topic` (ARCHITECTURE.md "Event value"): key =
/// orderId, flat JSON value with eventId/eventType/eventVersion/timestamp, orderId, userId,
/// totalAmount (decimal string), currency, items[{sku, quantity, unitPrice}], and the standard
/// headers (eventId, eventType, source, traceparent).
messaging::OutgoingRecord order_created_record(const Order& order, const std::string& topic,
                                               const std::string& source);

}  // namespace orderflow::order
