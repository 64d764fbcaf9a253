#include "orderflow/messaging/event_decoders.h"

#include <limits>
#include <utility>

#include "event_body.h"
#include "orderflow/messaging/events.h"

namespace orderflow::messaging {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

Error malformed(std::string message) {
  return invalid_input("MALFORMED_EVENT", std::move(message));
}

// The offending value in an error message, cut short: it may be anything a producer sent.
std::string shown(element value) {
  constexpr std::size_t kMax = 64;
  auto text = simdjson::minify(value);
  return text.size() <= kMax ? text : text.substr(0, kMax) + "…";
}

Error expected(const std::string& path, const char* what, element value) {
  return malformed(path + ": must be " + what + ", got " + shown(value));
}

// The string a string element holds; nullopt for any other type.
std::optional<std::string_view> string_of(element value) {
  std::string_view text;
  if (value.get_string().get(text)) return std::nullopt;
  return text;
}

Result<std::int64_t> positive_integer(element value, const std::string& path) {
  // An INT64 element only: 1.0 is a DOUBLE, "1" a STRING, and an unsigned above int64 a UINT64.
  if (value.type() == element_type::INT64) {
    auto v = value.get_int64().value_unsafe();
    if (v >= 1) return v;
  }
  return expected(path, "a positive JSON integer", value);
}

Result<std::string> identifier(element value, const std::string& path) {
  // Integers too: the seeds send numeric user and product ids.
  if (auto text = string_of(value); text && !text->empty()) return std::string(*text);
  if (value.type() == element_type::INT64 || value.type() == element_type::UINT64) {
    return simdjson::minify(value);
  }
  return expected(path, "a non-empty string or an integer", value);
}

Result<Decimal> money(element value, const std::string& path) {
  if (auto text = string_of(value)) {
    if (auto parsed = Decimal::parse(*text)) return *parsed;
  }
  return expected(path, "an exact decimal string (at most 4 fractional digits)", value);
}

Result<std::string> currency(element value, const std::string& path) {
  if (auto text = string_of(value); text && is_currency_code(*text)) {
    return std::string(*text);
  }
  return expected(path, "a 3-letter upper-case currency code", value);
}

Result<std::string> text(element value, const std::string& path) {
  if (auto text = string_of(value)) return std::string(*text);
  return expected(path, "a string", value);
}

// Reads fields of one JSON object into a typed struct; the first error wins and the later
// reads do nothing, so a decoder is a flat list of fields.
class Reader {
 public:
  Reader(simdjson::dom::object object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  template <typename T, typename Parse>
  Reader& required(const char* name, Parse parse, T& out) {
    read(name, parse, out, true);
    return *this;
  }
  template <typename T, typename Parse>
  Reader& optional(const char* name, Parse parse, T& out) {
    read(name, parse, out, false);
    return *this;
  }
  [[nodiscard]] const std::optional<Error>& error() const { return error_; }

 private:
  template <typename T, typename Parse>
  void read(const char* name, Parse parse, T& out, bool is_required) {
    if (error_) return;
    std::string path = prefix_ + name;
    element value;
    if (object_.at_key(name).get(value) || value.is_null()) {
      if (is_required) error_ = malformed(path + ": missing");
      return;
    }
    auto parsed = parse(value, path);
    if (!parsed) {
      error_ = parsed.error();
      return;
    }
    out = std::move(parsed.value());
  }

  simdjson::dom::object object_;
  std::string prefix_;
  std::optional<Error> error_;
};

Result<std::vector<EventItem>> items(element value, const std::string& path) {
  simdjson::dom::array array;
  if (value.get_array().get(array)) return expected(path, "an array", value);
  std::vector<EventItem> out;
  out.reserve(array.size());
  std::size_t i = 0;
  for (element entry : array) {
    std::string where = path + "[" + std::to_string(i++) + "]";
    simdjson::dom::object fields;
    if (entry.get_object().get(fields)) return expected(where, "an object", entry);
    EventItem item;
    Reader r(fields, where + ".");
    r.required("sku", identifier, item.sku)
        .required("quantity", positive_integer, item.quantity)
        .optional("unitPrice", money, item.unit_price);
    if (r.error()) return *r.error();
    out.push_back(std::move(item));
  }
  return out;
}

// orderId, then a Reader for the other fields. The consumer serialises an order's events by
// record key: an event keyed by another order could race that order's events.
Result<Reader> order_fields(const DecodedEvent& event, std::int64_t& order_id) {
  simdjson::dom::object fields;
  if (detail::EventBodyAccess::object(event.body).get(fields)) {
    return malformed("not a JSON object");
  }
  Reader reader(fields, "");
  reader.required("orderId", positive_integer, order_id);
  if (reader.error()) return *reader.error();
  if (!event.key.empty() && event.key != std::to_string(order_id)) {
    return malformed("orderId: " + std::to_string(order_id) + " is not the record key '" +
                     event.key + "'");
  }
  return reader;
}

// What every typed decoder checks first: it is the decoder of the event's type, the version is
// one this build understands, orderId is valid. The rest of the fields are read from the
// returned Reader.
template <typename Typed>
Result<Reader> begin(const DecodedEvent& event, std::initializer_list<std::string_view> types,
                     Typed& out) {
  const auto& meta = event.meta;
  bool fits = false;
  for (auto type : types) fits = fits || meta.event_type == type;
  if (!fits) {
    return internal_error("WRONG_DECODER", "no decoder of " + meta.event_type + " here");
  }
  if (meta.event_version > kSupportedEventVersion) {
    return invalid_input("UNSUPPORTED_EVENT_VERSION",
                         meta.event_type + " eventVersion " + std::to_string(meta.event_version) +
                             " is not supported (" + std::to_string(kSupportedEventVersion) +
                             " is)");
  }
  out.meta = meta;
  return order_fields(event, out.order_id);
}

template <typename Typed>
Result<Typed> finish(const Reader& reader, Typed&& out) {
  if (reader.error()) return *reader.error();
  return std::forward<Typed>(out);
}

// A typed decoder as an entry of decode_typed's table.
template <auto Decode>
Result<std::optional<TypedEvent>> as_typed(const DecodedEvent& event) {
  auto typed = Decode(event);
  if (!typed) return typed.error();
  return std::optional<TypedEvent>(std::move(typed.value()));
}

}  // namespace

Result<OrderCreated> decode_order_created(const DecodedEvent& event) {
  OrderCreated out;
  auto r = begin(event, {events::kOrderCreated}, out);
  if (!r) return r.error();
  r->required("userId", identifier, out.user_id)
      .required("totalAmount", money, out.total_amount)
      .required("currency", currency, out.currency)
      .required("items", items, out.items)
      .optional("customerEmail", text, out.customer_email);
  return finish(*r, std::move(out));
}

Result<OrderProgressed> decode_order_progressed(const DecodedEvent& event) {
  OrderProgressed out;
  auto r =
      begin(event, {events::kOrderConfirmed, events::kOrderPaid, events::kOrderCompleted}, out);
  if (!r) return r.error();
  r->optional("userId", identifier, out.user_id)
      .optional("totalAmount", money, out.total_amount)
      .optional("currency", currency, out.currency);
  return finish(*r, std::move(out));
}

Result<OrderCancelled> decode_order_cancelled(const DecodedEvent& event) {
  OrderCancelled out;
  auto r = begin(event, {events::kOrderCancelled}, out);
  if (!r) return r.error();
  r->required("userId", identifier, out.user_id)
      .optional("reason", text, out.reason)
      .optional("totalAmount", money, out.total_amount)
      .optional("currency", currency, out.currency)
      .optional("previousStatus", text, out.previous_status);
  return finish(*r, std::move(out));
}

Result<StockReserved> decode_stock_reserved(const DecodedEvent& event) {
  StockReserved out;
  auto r = begin(event, {events::kStockReserved}, out);
  if (!r) return r.error();
  r->required("userId", identifier, out.user_id)
      .required("totalAmount", money, out.total_amount)
      .required("currency", currency, out.currency)
      .optional("items", items, out.items)
      .optional("expiresAt", text, out.expires_at);
  return finish(*r, std::move(out));
}

Result<StockRejected> decode_stock_rejected(const DecodedEvent& event) {
  StockRejected out;
  auto r = begin(event, {events::kStockRejected}, out);
  if (!r) return r.error();
  r->optional("userId", identifier, out.user_id)
      .optional("reason", text, out.reason)
      .optional("sku", identifier, out.sku);
  return finish(*r, std::move(out));
}

Result<StockDeducted> decode_stock_deducted(const DecodedEvent& event) {
  StockDeducted out;
  auto r = begin(event, {events::kStockDeducted}, out);
  if (!r) return r.error();
  r->optional("userId", identifier, out.user_id).optional("items", items, out.items);
  return finish(*r, std::move(out));
}

Result<StockReleased> decode_stock_released(const DecodedEvent& event) {
  StockReleased out;
  auto r = begin(event, {events::kStockReleased}, out);
  if (!r) return r.error();
  r->optional("userId", identifier, out.user_id)
      .optional("reason", text, out.reason)
      .optional("items", items, out.items);
  return finish(*r, std::move(out));
}

Result<StockDeductionFailed> decode_stock_deduction_failed(const DecodedEvent& event) {
  StockDeductionFailed out;
  auto r = begin(event, {events::kStockDeductionFailed}, out);
  if (!r) return r.error();
  r->optional("userId", identifier, out.user_id).optional("reason", text, out.reason);
  return finish(*r, std::move(out));
}

Result<PaymentCompleted> decode_payment_completed(const DecodedEvent& event) {
  PaymentCompleted out;
  auto r = begin(event, {events::kPaymentCompleted}, out);
  if (!r) return r.error();
  r->optional("userId", identifier, out.user_id)
      .optional("paymentId", identifier, out.payment_id)
      .optional("amount", money, out.amount)
      .optional("currency", currency, out.currency);
  return finish(*r, std::move(out));
}

Result<PaymentFailed> decode_payment_failed(const DecodedEvent& event) {
  PaymentFailed out;
  auto r = begin(event, {events::kPaymentFailed}, out);
  if (!r) return r.error();
  r->optional("userId", identifier, out.user_id)
      .optional("amount", money, out.amount)
      .optional("currency", currency, out.currency)
      .optional("reason", text, out.reason);
  return finish(*r, std::move(out));
}

Result<PaymentRefunded> decode_payment_refunded(const DecodedEvent& event) {
  PaymentRefunded out;
  auto r = begin(event, {events::kPaymentRefunded}, out);
  if (!r) return r.error();
  r->optional("userId", identifier, out.user_id)
      .optional("paymentId", identifier, out.payment_id)
      .optional("amount", money, out.amount)
      .optional("currency", currency, out.currency)
      .optional("reason", text, out.reason);
  return finish(*r, std::move(out));
}

Result<std::optional<TypedEvent>> decode_typed(const DecodedEvent& event) {
  using Decoder = Result<std::optional<TypedEvent>> (*)(const DecodedEvent&);
  static constexpr std::pair<std::string_view, Decoder> kDecoders[] = {
      {events::kOrderCreated, &as_typed<&decode_order_created>},
      {events::kOrderConfirmed, &as_typed<&decode_order_progressed>},
      {events::kOrderPaid, &as_typed<&decode_order_progressed>},
      {events::kOrderCompleted, &as_typed<&decode_order_progressed>},
      {events::kOrderCancelled, &as_typed<&decode_order_cancelled>},
      {events::kStockReserved, &as_typed<&decode_stock_reserved>},
      {events::kStockRejected, &as_typed<&decode_stock_rejected>},
      {events::kStockDeducted, &as_typed<&decode_stock_deducted>},
      {events::kStockReleased, &as_typed<&decode_stock_released>},
      {events::kStockDeductionFailed, &as_typed<&decode_stock_deduction_failed>},
      {events::kPaymentCompleted, &as_typed<&decode_payment_completed>},
      {events::kPaymentFailed, &as_typed<&decode_payment_failed>},
      {events::kPaymentRefunded, &as_typed<&decode_payment_refunded>},
  };
  for (const auto& [type, decode] : kDecoders) {
    if (event.meta.event_type == type) return decode(event);
  }
  return std::optional<TypedEvent>{};
}

OrderRef order_ref_of(const TypedEvent& event) {
  return std::visit([](const auto& e) { return OrderRef{e.meta, e.order_id, e.user_id}; }, event);
}

Result<OrderRef> decode_order_ref(const DecodedEvent& event) {
  OrderRef out;
  out.meta = event.meta;
  auto r = order_fields(event, out.order_id);
  if (!r) return r.error();
  r->optional("userId", identifier, out.user_id);
  return finish(*r, std::move(out));
}

}  // namespace orderflow::messaging
