// POST /api/orders bodies: parse_json_object, parse_order_request (order_request.h) with and
// without an X-User-Id header, then price_order against a small catalog (the business rules;
// an exception escaping it would be a 500). Input: the request body.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/http/order_request.h"
#include "domain/order.h"
#include "orderflow/http/types.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using orderflow::Decimal;
  static const orderflow::order::Catalog catalog(
      "KRW", {{"ABC-001", "Keyboard", Decimal::from_integer(12900), 100},
              {"1", "Product one", *Decimal::parse("100.00"), 5}});
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto json = orderflow::http::parse_json_object(body);
  if (!json) return 0;
  for (const auto& header : {std::optional<std::string>{}, std::optional<std::string>{"7"}}) {
    auto request = orderflow::order::parse_order_request(*json, header);
    if (request) {
      auto order = orderflow::order::price_order(*request, catalog, orderflow::Clock::TimePoint{});
      if (order) (void)orderflow::order::order_to_json(*order).dump();
    }
  }
  return 0;
}
