#include "inventory_event_handler.h"

#include "orderflow/messaging/event_decoders.h"
#include "orderflow/messaging/events.h"

namespace orderflow::inventory {
namespace {

std::vector<ReservationItem> reservation_items(const std::vector<messaging::EventItem>& items) {
  std::vector<ReservationItem> out;
  out.reserve(items.size());
  for (const auto& item : items) out.push_back({item.sku, item.quantity});
  return out;
}

}  // namespace

Result<IncomingEvent> to_incoming_event(const messaging::DecodedEvent& decoded,
                                        const messaging::ConsumedRecord& record) {
  IncomingEvent event;
  event.event_id = decoded.meta.event_id;
  event.event_type = decoded.meta.event_type;
  if (event.event_type == events::kOrderCreated) {
    auto created = messaging::decode_order_created(decoded);
    if (!created) return created.error();
    event.order_id = created->order_id;
    event.user_id = created->user_id;
    event.total_amount = created->total_amount;
    event.currency = created->currency;
    event.items = reservation_items(created->items);
  } else if (event.event_type == events::kOrderCancelled) {
    auto cancelled = messaging::decode_order_cancelled(decoded);
    if (!cancelled) return cancelled.error();
    event.order_id = cancelled->order_id;
    event.user_id = cancelled->user_id;
  } else if (event.event_type == events::kPaymentCompleted) {
    auto paid = messaging::decode_payment_completed(decoded);
    if (!paid) return paid.error();
    event.order_id = paid->order_id;
    event.user_id = paid->user_id;
  } else {
    return event;  // not acted on (InventoryService::handle ignores it): nothing to decode
  }
  event.traceparent = messaging::child_traceparent(record);
  return event;
}

Result<IncomingEvent> to_incoming_event(const messaging::ConsumedRecord& record) {
  auto decoded = messaging::decode_event(record);
  if (!decoded) return decoded.error();
  return to_incoming_event(decoded.value(), record);
}

messaging::RecordHandler make_event_handler(InventoryService& service) {
  return messaging::decoding_handler(
      [&service](const messaging::DecodedEvent& decoded, const messaging::ConsumedRecord& record) {
        auto event = to_incoming_event(decoded, record);
        if (!event) return messaging::HandlerResult::from_error(event.error());
        auto report = service.handle(event.value());
        if (!report) return messaging::HandlerResult::from_error(report.error());
        switch (report->outcome) {
          case HandleOutcome::kApplied:
          case HandleOutcome::kIgnored:
            return messaging::HandlerResult::processed();
          case HandleOutcome::kDuplicate:
            return messaging::HandlerResult::duplicate();
          case HandleOutcome::kSkipped:
            return messaging::HandlerResult::skip(unprocessable(report->code, report->detail));
        }
        return messaging::HandlerResult::processed();
      });
}

}  // namespace orderflow::inventory
