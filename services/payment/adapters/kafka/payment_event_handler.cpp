#include "payment_event_handler.h"

#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/events.h"

namespace orderflow::payment {
namespace {

using nlohmann::json;

Error malformed(const std::string& message) { return invalid_input("MALFORMED_EVENT", message); }

Result<std::int64_t> order_id_of(const json& body, const std::string& key) {
  auto it = body.find("orderId");
  if (it == body.end()) return malformed("orderId is missing");
  if (!it->is_number_integer() || it->get<std::int64_t>() <= 0) {
    return malformed("orderId must be a positive integer, got " + it->dump());
  }
  auto id = it->get<std::int64_t>();
  // The consumer serialises an order's events by record key; an event whose key is another
  // order could race that order's cancel.
  if (!key.empty() && key != std::to_string(id)) {
    return invalid_input("KEY_MISMATCH",
                         "record key '" + key + "' is not orderId " + std::to_string(id));
  }
  return id;
}

Result<std::string> user_id_of(const json& body) {
  auto it = body.find("userId");
  if (it == body.end()) return malformed("userId is missing");
  if (it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
  if (it->is_number_integer()) return it->dump();
  return malformed("userId must be a non-empty string or an integer, got " + it->dump());
}

Result<Decimal> amount_of(const json& value, const char* field) {
  if (!value.is_string()) {
    return invalid_input("INVALID_AMOUNT",
                         std::string(field) + " must be a decimal string, got " + value.dump());
  }
  auto amount = Decimal::parse(value.get<std::string>());
  if (!amount) {
    return invalid_input("INVALID_AMOUNT",
                         std::string(field) + " '" + value.get<std::string>() +
                             "' is not an exact decimal (at most 4 fractional digits)");
  }
  if (amount->scaled() <= 0) {
    return invalid_input("INVALID_AMOUNT",
                         std::string(field) + " must be > 0, got " + amount->to_string());
  }
  return *amount;
}

Result<std::string> currency_of(const json& value) {
  if (!value.is_string() || !is_currency_code(value.get<std::string>())) {
    return invalid_input("INVALID_CURRENCY",
                         "currency must be a 3-letter upper-case code, got " + value.dump());
  }
  return value.get<std::string>();
}

// Continues the incoming trace with a new span; a missing or odd header starts a new trace.
std::string child_traceparent(const messaging::ConsumedRecord& record) {
  auto parent = messaging::find_header(record.headers, "traceparent");
  auto fresh = messaging::new_traceparent();
  if (!parent || parent->size() != fresh.size() || parent->rfind("00-", 0) != 0) return fresh;
  return parent->substr(0, 36) + fresh.substr(36);
}

Result<ChargeCommand> to_charge(const messaging::DecodedEvent& event,
                                const messaging::ConsumedRecord& record) {
  const auto& body = event.body;
  ChargeCommand c;
  c.event_id = event.meta.event_id;
  auto order = order_id_of(body, record.key);
  if (!order) return order.error();
  c.order_id = order.value();
  auto user = user_id_of(body);
  if (!user) return user.error();
  c.user_id = std::move(user.value());
  auto total = body.find("totalAmount");
  if (total == body.end()) return malformed("totalAmount is missing");
  auto amount = amount_of(*total, "totalAmount");
  if (!amount) return amount.error();
  c.amount = amount.value();
  auto currency = body.find("currency");
  if (currency == body.end()) return malformed("currency is missing");
  auto code = currency_of(*currency);
  if (!code) return code.error();
  c.currency = std::move(code.value());
  c.traceparent = child_traceparent(record);
  return c;
}

Result<CancelCommand> to_cancel(const messaging::DecodedEvent& event,
                                const messaging::ConsumedRecord& record) {
  const auto& body = event.body;
  CancelCommand c;
  c.event_id = event.meta.event_id;
  auto order = order_id_of(body, record.key);
  if (!order) return order.error();
  c.order_id = order.value();
  auto user = user_id_of(body);
  if (!user) return user.error();
  c.user_id = std::move(user.value());
  if (auto reason = body.find("reason"); reason != body.end()) {
    if (!reason->is_string()) return malformed("reason must be a string");
    c.reason = reason->get<std::string>();
  }
  if (auto total = body.find("totalAmount"); total != body.end()) {
    auto amount = amount_of(*total, "totalAmount");
    if (!amount) return amount.error();
    c.total_amount = amount.value();
  }
  if (auto currency = body.find("currency"); currency != body.end()) {
    auto code = currency_of(*currency);
    if (!code) return code.error();
    c.currency = std::move(code.value());
  }
  c.traceparent = child_traceparent(record);
  return c;
}

messaging::HandlerResult skip(const char* code, std::string message) {
  return messaging::HandlerResult::skip(unprocessable(code, std::move(message)));
}

}  // namespace

Result<PaymentInput> to_payment_input(const messaging::ConsumedRecord& record) {
  auto decoded = messaging::decode_event(record.value);
  if (!decoded) return decoded.error();
  const auto& meta = decoded->meta;
  bool charge = meta.event_type == events::kStockReserved;
  bool cancel = meta.event_type == events::kOrderCancelled;
  if (!charge && !cancel) return PaymentInput{IgnoredEvent{meta.event_id, meta.event_type}};
  if (meta.event_version != 1) {
    return invalid_input("UNSUPPORTED_EVENT_VERSION", meta.event_type + " eventVersion " +
                                                          std::to_string(meta.event_version) +
                                                          " is not supported (expected 1)");
  }
  if (charge) {
    auto command = to_charge(decoded.value(), record);
    if (!command) return command.error();
    return PaymentInput{std::move(command.value())};
  }
  auto command = to_cancel(decoded.value(), record);
  if (!command) return command.error();
  return PaymentInput{std::move(command.value())};
}

messaging::RecordHandler make_event_handler(PaymentService& service,
                                            std::shared_ptr<spdlog::logger> logger) {
  return [&service, logger](const messaging::ConsumedRecord& record) {
    auto input = to_payment_input(record);
    if (!input) {
      auto result = messaging::HandlerResult::from_error(input.error());
      // The envelope may be fine when a payload field is not: log the event's own identity.
      if (auto envelope = messaging::decode_event(record.value)) {
        result.event_id = envelope->meta.event_id;
        result.event_type = envelope->meta.event_type;
      }
      return result;
    }
    if (const auto* ignored = std::get_if<IgnoredEvent>(&input.value())) {
      auto result = messaging::HandlerResult::processed();
      result.event_type = ignored->event_type;
      result.event_id = ignored->event_id;
      return result;
    }
    const auto* charge = std::get_if<ChargeCommand>(&input.value());
    const auto* cancel = std::get_if<CancelCommand>(&input.value());
    std::int64_t order_id = charge ? charge->order_id : cancel->order_id;
    auto outcome = charge ? service.charge(*charge) : service.cancel(*cancel);

    messaging::HandlerResult result;
    if (!outcome) {
      result = messaging::HandlerResult::from_error(outcome.error());
    } else {
      auto order = std::to_string(order_id);
      switch (outcome.value()) {
        case HandleOutcome::kDuplicate:
          result = messaging::HandlerResult::duplicate();
          break;
        case HandleOutcome::kSkippedAlreadyPaid:
          result = skip("ALREADY_PAID", "order " + order + " has a payment; no second charge");
          break;
        case HandleOutcome::kSkippedCancelled:
          result = skip("ORDER_CANCELLED", "order " + order + " was cancelled; not charged");
          break;
        case HandleOutcome::kNothingToRefund:
          result = skip("NOTHING_TO_REFUND", "order " + order + " has no captured payment");
          break;
        default:
          result = messaging::HandlerResult::processed();
          if (logger) {
            logger->info(
                "\"payment {}\" orderId={} eventId={} topic={} partition={} offset={} amount={} "
                "currency={}",
                to_string(outcome.value()), order_id, charge ? charge->event_id : cancel->event_id,
                record.topic, record.partition, record.offset,
                charge ? charge->amount.to_string()
                       : (cancel->total_amount ? cancel->total_amount->to_string() : ""),
                charge ? charge->currency : cancel->currency);
          }
      }
    }
    result.event_type =
        charge ? std::string(events::kStockReserved) : std::string(events::kOrderCancelled);
    result.event_id = charge ? charge->event_id : cancel->event_id;
    return result;
  };
}

}  // namespace orderflow::payment
