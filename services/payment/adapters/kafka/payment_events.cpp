#include "payment_events.h"

#include <nlohmann/json.hpp>

#include "orderflow/common/uuid.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/events.h"

namespace orderflow::payment {

std::string_view event_type_name(PaymentEventType type) {
  switch (type) {
    case PaymentEventType::kCompleted:
      return events::kPaymentCompleted;
    case PaymentEventType::kFailed:
      return events::kPaymentFailed;
    case PaymentEventType::kRefunded:
      return events::kPaymentRefunded;
  }
  return events::kPaymentFailed;
}

messaging::OutgoingRecord payment_event_record(PaymentEventType type, const Payment& payment,
                                               const std::string& topic, const std::string& source,
                                               const std::string& traceparent) {
  messaging::EventMeta meta{new_uuid(), std::string(event_type_name(type)), 1,
                            format_iso8601(payment.updated_at)};
  nlohmann::json payload = {{"orderId", payment.order_id},
                            {"userId", payment.user_id},
                            {"amount", payment.amount.to_string()},
                            {"currency", payment.currency}};
  if (type != PaymentEventType::kFailed) payload["paymentId"] = payment.id;
  if (type != PaymentEventType::kCompleted) payload["reason"] = payment.reason;
  return {topic, std::to_string(payment.order_id), messaging::encode_event(meta, std::move(payload)),
          messaging::standard_headers(meta, source, traceparent)};
}

}  // namespace orderflow::payment
