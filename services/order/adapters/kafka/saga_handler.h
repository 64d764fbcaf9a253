#pragma once

#include <spdlog/logger.h>
#include "../../app/order_service.h"

#include "orderflow/common/result.h"
#include "orderflow/messaging/decoding_handler.h"

namespace orderflow::order {

/// Maps an inventory.v1 / payments.v1 event to a SagaEvent. A saga event type (saga_input_for)
/// is read by its shared typed decoder (messaging/event_decoders.h: orderId, reason, and for
/// PAYMENT_COMPLETED amount and currency; errors kInvalidInput MALFORMED_EVENT or
/// UNSUPPORTED_EVENT_VERSION) and gets the record's child traceparent; any other type only
/// carries its eventId and eventType (OrderService::handle ignores it).
Result<SagaEvent> to_saga_event(const messaging::DecodedEvent& decoded,
                                const messaging::ConsumedRecord& record);
/// The same from the record (envelope decoded first: messaging::decode_event).
Result<SagaEvent> to_saga_event(const messaging::ConsumedRecord& record);

/// The order service's RecordHandler: decode, OrderService::handle, and the outcome mapping:
/// applied → processed, duplicate → duplicate, not fitting the state → skip (logged with the
/// reason), unknown order → skip, technical error → retried.
messaging::RecordHandler make_saga_handler(OrderService& service,
                                           std::shared_ptr<spdlog::logger> logger);

}  // namespace orderflow::order
