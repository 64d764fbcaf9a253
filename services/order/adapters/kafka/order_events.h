#pragma once

#include <string>
#include <string_view>

#include "../../domain/order.h"
#include "orderflow/messaging/record.h"

namespace orderflow::order {

/// The ORDER_CREATED record of `order` for `topic` (ARCHITECTURE.md "Event value"): key =
/// orderId, flat JSON value with eventId/eventType/eventVersion/timestamp, orderId, userId,
/// totalAmount (decimal string), currency, items[{sku, quantity, unitPrice}], and the standard
/// headers (eventId, eventType, source, traceparent: `traceparent`, or a new trace when empty).
messaging::OutgoingRecord order_created_record(const Order& order, const std::string& topic,
                                               const std::string& source,
                                               const std::string& traceparent);

/// A saga event of `order` on `topic` (ORDER_CONFIRMED, ORDER_PAID, ORDER_COMPLETED,
/// ORDER_CANCELLED; docs/events.md): orderId, userId, totalAmount, currency, and for
/// ORDER_CANCELLED reason and previousStatus. Timestamp `at`; header traceparent
/// `traceparent`, or a new trace when empty.
messaging::OutgoingRecord order_status_record(const Order& order, std::string_view event_type,
                                              const std::string& reason, OrderStatus previous,
                                              Clock::TimePoint at, const std::string& topic,
                                              const std::string& source,
                                              const std::string& traceparent);

}  // namespace orderflow::order
