#pragma once

#include "../../app/order_service.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/consumer_runner.h"

namespace orderflow::order {

/// Decodes an inventory.v1 / payments.v1 record into a SagaEvent: strict envelope,
/// eventVersion 1 only (kInvalidInput UNSUPPORTED_VERSION otherwise), orderId an integer,
/// reason/currency strings when present, amount an exact decimal string when present.
Result<SagaEvent> to_saga_event(const messaging::ConsumedRecord& record);

/// The order service's RecordHandler: decode, OrderService::handle, and the outcome mapping:
/// applied → processed, duplicate → duplicate, not fitting the state → skip (logged with the
/// reason), unknown order → skip, technical error → retried.
messaging::RecordHandler make_saga_handler(OrderService& service,
                                           std::shared_ptr<spdlog::logger> logger);

}  // namespace orderflow::order
