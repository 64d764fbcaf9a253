#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "orderflow/common/decimal.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/event_codec.h"

/// Typed events: one decoder per event type of docs/events.md, with one set of rules for every
/// consumer (docs/events.md "Decoding rules"). Every decoder takes an envelope already checked by
/// decode_event and:
/// - refuses an eventVersion above kSupportedEventVersion: Error{kInvalidInput,
///   "UNSUPPORTED_EVENT_VERSION", "<TYPE> eventVersion <n> is not supported (1 is)"};
/// - requires orderId, a positive JSON integer (a string such as "123" is not one), equal to the
///   record key when the event has one;
/// - requires the fields its consumers act on and reads the other fields of the type when
///   present (a JSON null counts as absent); a missing required field or a field of the wrong
///   type or form is Error{kInvalidInput, "MALFORMED_EVENT", "<field>: <what is wrong>"}.
/// Field forms: identifiers (userId, sku, paymentId) are a non-empty string or a JSON integer
/// (kept as its decimal text); money is an exact decimal string (Decimal::parse: no JSON numbers,
/// no exponent, at most 4 fractional digits); currency is 3 upper-case letters; quantities are
/// positive JSON integers; reasons, statuses, e-mails and times are strings.
/// Which types a consumer acts on is its own choice: it decodes those and skips the others
/// without decoding them (so an unknown type or version of another type never fails it).
/// All functions are pure and thread-safe; none throws.
namespace orderflow::messaging {

/// The highest eventVersion of every event type this build understands.
inline constexpr int kSupportedEventVersion = 1;

/// A line of ORDER_CREATED or of a STOCK_* event (those carry no unitPrice).
struct EventItem {
  std::string sku;                    ///< required
  std::int64_t quantity = 0;          ///< required, ≥ 1
  std::optional<Decimal> unit_price;  ///< unitPrice
};

/// ORDER_CREATED. Required: orderId, userId, totalAmount, currency, items (may be empty).
struct OrderCreated {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;
  Decimal total_amount;
  std::string currency;
  std::vector<EventItem> items;
  std::string customer_email;  ///< empty when absent
};

/// ORDER_CONFIRMED, ORDER_PAID and ORDER_COMPLETED (meta.event_type tells which): the same
/// fields. Required: orderId.
struct OrderProgressed {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;  ///< empty when absent
  std::optional<Decimal> total_amount;
  std::string currency;  ///< empty when absent
};

/// ORDER_CANCELLED. Required: orderId, userId.
struct OrderCancelled {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;
  std::string reason;  ///< empty when absent
  std::optional<Decimal> total_amount;
  std::string currency;         ///< empty when absent
  std::string previous_status;  ///< empty when absent
};

/// STOCK_RESERVED. Required: orderId, userId, totalAmount, currency.
struct StockReserved {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;
  Decimal total_amount;
  std::string currency;
  std::vector<EventItem> items;
  std::string expires_at;  ///< ISO-8601 as sent; empty when absent
};

/// STOCK_REJECTED. Required: orderId.
struct StockRejected {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;  ///< empty when absent
  std::string reason;   ///< empty when absent
  std::string sku;      ///< empty when absent
};

/// STOCK_DEDUCTED. Required: orderId.
struct StockDeducted {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;  ///< empty when absent
  std::vector<EventItem> items;
};

/// STOCK_RELEASED. Required: orderId.
struct StockReleased {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;  ///< empty when absent
  std::string reason;   ///< EXPIRED or ORDER_CANCELLED; empty when absent
  std::vector<EventItem> items;
};

/// STOCK_DEDUCTION_FAILED. Required: orderId.
struct StockDeductionFailed {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;  ///< empty when absent
  std::string reason;   ///< empty when absent
};

/// PAYMENT_COMPLETED. Required: orderId.
struct PaymentCompleted {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;     ///< empty when absent
  std::string payment_id;  ///< empty when absent
  std::optional<Decimal> amount;
  std::string currency;  ///< empty when absent
};

/// PAYMENT_FAILED. Required: orderId.
struct PaymentFailed {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;  ///< empty when absent
  std::optional<Decimal> amount;
  std::string currency;  ///< empty when absent
  std::string reason;    ///< empty when absent
};

/// PAYMENT_REFUNDED. Required: orderId.
struct PaymentRefunded {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;     ///< empty when absent
  std::string payment_id;  ///< empty when absent
  std::optional<Decimal> amount;
  std::string currency;  ///< empty when absent
  std::string reason;    ///< empty when absent
};

/// The typed decoders, one per event type (the rules above). Each expects `event` to be of its
/// type(s): another eventType is Error{kInternal, "WRONG_DECODER"} (a bug of the caller).
Result<OrderCreated> decode_order_created(const DecodedEvent& event);
Result<OrderProgressed> decode_order_progressed(const DecodedEvent& event);
Result<OrderCancelled> decode_order_cancelled(const DecodedEvent& event);
Result<StockReserved> decode_stock_reserved(const DecodedEvent& event);
Result<StockRejected> decode_stock_rejected(const DecodedEvent& event);
Result<StockDeducted> decode_stock_deducted(const DecodedEvent& event);
Result<StockReleased> decode_stock_released(const DecodedEvent& event);
Result<StockDeductionFailed> decode_stock_deduction_failed(const DecodedEvent& event);
Result<PaymentCompleted> decode_payment_completed(const DecodedEvent& event);
Result<PaymentFailed> decode_payment_failed(const DecodedEvent& event);
Result<PaymentRefunded> decode_payment_refunded(const DecodedEvent& event);

/// Any event of a type listed in docs/events.md.
using TypedEvent = std::variant<OrderCreated, OrderProgressed, OrderCancelled, StockReserved,
                                StockRejected, StockDeducted, StockReleased, StockDeductionFailed,
                                PaymentCompleted, PaymentFailed, PaymentRefunded>;

/// Decodes `event` with the decoder of its eventType; std::nullopt for a type that has none.
Result<std::optional<TypedEvent>> decode_typed(const DecodedEvent& event);

/// What every order event carries: its envelope, orderId and userId.
struct OrderRef {
  EventMeta meta;
  std::int64_t order_id = 0;
  std::string user_id;  ///< empty when absent
};

/// The OrderRef of a typed event.
OrderRef order_ref_of(const TypedEvent& event);

/// orderId (required) and userId (when present) of an event of any type, by the same rules, for
/// a consumer that also acts on types it has no decoder for (notification). No version check:
/// a type without a decoder has no supported version.
Result<OrderRef> decode_order_ref(const DecodedEvent& event);

}  // namespace orderflow::messaging
