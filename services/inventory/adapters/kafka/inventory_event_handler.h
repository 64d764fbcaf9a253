#pragma once

#include "../../app/inventory_service.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/consumer_runner.h"

namespace orderflow::inventory {

/// Maps a consumed orders.v1 / payments.v1 record to an IncomingEvent. The envelope is decoded
/// strictly (messaging::decode_event). For the types the service acts on (ORDER_CREATED,
/// ORDER_CANCELLED, PAYMENT_COMPLETED): eventVersion must be 1 (else kInvalidInput
/// UNSUPPORTED_EVENT_VERSION); orderId is required (integer ≥ 1, or such an integer as a
/// string); userId is a string or an integer; ORDER_CREATED also requires userId, totalAmount
/// (decimal string or number), currency (string) and items[{sku (string or integer), quantity
/// (integer)}] (may be empty). Other types only need the envelope. kInvalidInput
/// MALFORMED_EVENT names the bad field. Never throws.
Result<IncomingEvent> to_incoming_event(const messaging::ConsumedRecord& record);

/// The consumer's RecordHandler: decode, InventoryService::handle, map the outcome (seed 002's
/// three-way split via HandlerResult::from_error; a business "no" is a skip with its code).
/// Thread-safe (the service is).
messaging::RecordHandler make_event_handler(InventoryService& service);

}  // namespace orderflow::inventory
