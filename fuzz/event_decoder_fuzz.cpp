// Every consumer's decoding of an event value: decode_event (simdjson), then the typed decoders
// (decode_typed: order, inventory, payment), decode_order_ref (notification) and the body's
// accessors. Input: the record value, or "#<key>\n<value>" for a record with a key.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/event_decoders.h"

namespace m = orderflow::messaging;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  m::ConsumedRecord record;
  record.topic = "orders.v1";
  if (!input.empty() && input.front() == '#') {
    auto newline = input.find('\n');
    if (newline == std::string_view::npos) return 0;
    record.key = std::string(input.substr(1, newline - 1));
    input.remove_prefix(newline + 1);
  }
  record.value = std::string(input);
  auto decoded = m::decode_event(record);
  if (!decoded) return 0;
  for (const auto& [name, value] : decoded->body.scalar_fields()) {
    (void)decoded->body.field_json(name);
  }
  (void)decoded->body.field_json("items");
  (void)decoded->body.size();
  if (auto typed = m::decode_typed(*decoded); typed && *typed) {
    auto ref = m::order_ref_of(**typed);
    (void)ref.user_id.size();
  }
  (void)m::decode_order_ref(*decoded);
  // A consumer calls a decoder for the types it acts on; each must refuse the others cleanly.
  (void)m::decode_order_created(*decoded);
  (void)m::decode_stock_reserved(*decoded);
  (void)m::decode_payment_refunded(*decoded);
  return 0;
}
