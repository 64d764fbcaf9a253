// POST /api/orders bodies: parse_json_object then parse_order_request (order_request.h), with
// and without an X-User-Id header. Input: the request body.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/http/order_request.h"
#include "orderflow/http/types.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto json = orderflow::http::parse_json_object(body);
  if (!json) return 0;
  for (const auto& header : {std::optional<std::string>{}, std::optional<std::string>{"7"}}) {
    auto request = orderflow::order::parse_order_request(*json, header);
    if (request) {
      for (const auto& item : request->items) (void)item.sku.size();
      if (request->total_amount) (void)request->total_amount->to_string();
    }
  }
  return 0;
}
