#include "order_service.h"

#include <algorithm>

namespace orderflow::order {

Result<Order> OrderService::create(const OrderRequest& request) {
  auto priced = price_order(request, catalog_, clock_.now());
  if (!priced) return priced.error();
  return repository_.create(priced.value());
}

Result<Order> OrderService::get(std::int64_t id) { return repository_.find(id); }

Result<OrderPage> OrderService::list(const std::string& user_id, int page, int size) {
  if (user_id.empty()) return invalid_input("MISSING_USER", "userId is required");
  if (page < 0) return invalid_input("INVALID_PAGE", "page must be ≥ 0");
  return repository_.list_by_user(user_id, page, std::clamp(size, 1, kMaxPageSize));
}

}  // namespace orderflow::order
