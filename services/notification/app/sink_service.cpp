#include "sink_service.h"

#include <nlohmann/json.hpp>

namespace orderflow::notification {
namespace {

nlohmann::json or_null(const std::string& value) {
  return value.empty() ? nlohmann::json(nullptr) : nlohmann::json(value);
}

}  // namespace

Result<SinkOutcome> SinkService::handle(const CompletedOrder& order) {
  auto seen = store_.seen(consumer_group_, order.event_id);
  if (!seen) return seen.error();
  if (seen.value()) return SinkOutcome::kDuplicate;
  if (auto sent = client_.send(order.event_id, body(order), order.traceparent); !sent)
    return sent.error();
  if (auto marked = store_.mark(consumer_group_, order.event_id); !marked) return marked.error();
  return SinkOutcome::kSent;
}

std::string SinkService::body(const CompletedOrder& order) {
  return nlohmann::json{{"eventId", order.event_id},
                        {"eventType", "ORDER_COMPLETED"},
                        {"orderId", order.order_id},
                        {"userId", or_null(order.user_id)},
                        {"totalAmount", or_null(order.total_amount)},
                        {"currency", or_null(order.currency)},
                        {"completedAt", or_null(order.completed_at)}}
      .dump();
}

}  // namespace orderflow::notification
