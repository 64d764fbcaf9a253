#include "payment_event_handler.h"

#include "orderflow/messaging/event_decoders.h"
#include "orderflow/messaging/events.h"

namespace orderflow::payment {
namespace {

// Beyond the shared decoding rules: a charge or refund of nothing (or less) is refused.
Result<void> positive(const Decimal& amount, const char* field) {
  if (amount.scaled() <= 0) {
    return invalid_input("INVALID_AMOUNT",
                         std::string(field) + " must be > 0, got " + amount.to_string());
  }
  return {};
}

Result<ChargeCommand> to_charge(const messaging::DecodedEvent& event,
                                const messaging::ConsumedRecord& record) {
  auto reserved = messaging::decode_stock_reserved(event);
  if (!reserved) return reserved.error();
  if (auto r = positive(reserved->total_amount, "totalAmount"); !r) return r.error();
  ChargeCommand c;
  c.event_id = reserved->meta.event_id;
  c.order_id = reserved->order_id;
  c.user_id = std::move(reserved->user_id);
  c.amount = reserved->total_amount;
  c.currency = std::move(reserved->currency);
  c.traceparent = messaging::child_traceparent(record);
  return c;
}

Result<CancelCommand> to_cancel(const messaging::DecodedEvent& event,
                                const messaging::ConsumedRecord& record) {
  auto cancelled = messaging::decode_order_cancelled(event);
  if (!cancelled) return cancelled.error();
  if (cancelled->total_amount) {
    if (auto r = positive(*cancelled->total_amount, "totalAmount"); !r) return r.error();
  }
  CancelCommand c;
  c.event_id = cancelled->meta.event_id;
  c.order_id = cancelled->order_id;
  c.user_id = std::move(cancelled->user_id);
  c.reason = std::move(cancelled->reason);
  c.total_amount = cancelled->total_amount;
  c.currency = std::move(cancelled->currency);
  c.traceparent = messaging::child_traceparent(record);
  return c;
}

messaging::HandlerResult skip(const char* code, std::string message) {
  return messaging::HandlerResult::skip(unprocessable(code, std::move(message)));
}

}  // namespace

Result<PaymentInput> to_payment_input(const messaging::DecodedEvent& decoded,
                                      const messaging::ConsumedRecord& record) {
  const auto& meta = decoded.meta;
  if (meta.event_type == events::kStockReserved) {
    auto command = to_charge(decoded, record);
    if (!command) return command.error();
    return PaymentInput{std::move(command.value())};
  }
  if (meta.event_type == events::kOrderCancelled) {
    auto command = to_cancel(decoded, record);
    if (!command) return command.error();
    return PaymentInput{std::move(command.value())};
  }
  return PaymentInput{IgnoredEvent{meta.event_id, meta.event_type}};
}

Result<PaymentInput> to_payment_input(const messaging::ConsumedRecord& record) {
  auto decoded = messaging::decode_event(record);
  if (!decoded) return decoded.error();
  return to_payment_input(decoded.value(), record);
}

messaging::RecordHandler make_event_handler(PaymentService& service,
                                            std::shared_ptr<spdlog::logger> logger) {
  return messaging::decoding_handler([&service, logger](const messaging::DecodedEvent& decoded,
                                                        const messaging::ConsumedRecord& record) {
    auto input = to_payment_input(decoded, record);
    if (!input) return messaging::HandlerResult::from_error(input.error());
    if (std::holds_alternative<IgnoredEvent>(input.value())) {
      return messaging::HandlerResult::processed();
    }
    // The gateway round trip (charge or refund) runs on the runner's hand-off pool: a worker
    // takes other orders meanwhile instead of waiting out the gateway's latency.
    return messaging::HandlerResult::handed_off(
        [&service, logger, input = std::move(input.value()), event_id = decoded.meta.event_id,
         topic = record.topic, partition = record.partition, offset = record.offset] {
          const auto* charge = std::get_if<ChargeCommand>(&input);
          const auto* cancel = std::get_if<CancelCommand>(&input);
          std::int64_t order_id = charge ? charge->order_id : cancel->order_id;
          auto outcome = charge ? service.charge(*charge) : service.cancel(*cancel);
          if (!outcome) return messaging::HandlerResult::from_error(outcome.error());

          auto order = std::to_string(order_id);
          switch (outcome.value()) {
            case HandleOutcome::kDuplicate:
              return messaging::HandlerResult::duplicate();
            case HandleOutcome::kSkippedAlreadyPaid:
              return skip("ALREADY_PAID", "order " + order + " has a payment; no second charge");
            case HandleOutcome::kSkippedCancelled:
              return skip("ORDER_CANCELLED", "order " + order + " was cancelled; not charged");
            case HandleOutcome::kNothingToRefund:
              return skip("NOTHING_TO_REFUND", "order " + order + " has no captured payment");
            default:
              if (logger) {
                logger->info(
                    "\"payment {}\" orderId={} eventId={} topic={} partition={} offset={} "
                    "amount={} currency={}",
                    to_string(outcome.value()), order_id, event_id, topic, partition, offset,
                    charge ? charge->amount.to_string()
                           : (cancel->total_amount ? cancel->total_amount->to_string() : ""),
                    charge ? charge->currency : cancel->currency);
              }
              return messaging::HandlerResult::processed();
          }
        });
  });
}

}  // namespace orderflow::payment
