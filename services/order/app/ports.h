#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../domain/order.h"
#include "orderflow/common/result.h"

namespace orderflow::order {

/// One page of a user's orders, newest first.
struct OrderPage {
  std::vector<Order> orders;
  std::int64_t total = 0;
  int page = 0;
  int size = 0;
};

/// Persistence of orders. Implementations are thread-safe.
class OrderRepository {
 public:
  virtual ~OrderRepository() = default;
  /// Stores a new order, its items and its ORDER_CREATED event (outbox) in one transaction;
  /// returns the order with its id. kUnavailable when the DB is busy.
  virtual Result<Order> create(const Order& order) = 0;
  /// kNotFound ORDER_NOT_FOUND when absent.
  virtual Result<Order> find(std::int64_t id) = 0;
  /// Newest first; `page` from 0.
  virtual Result<OrderPage> list_by_user(const std::string& user_id, int page, int size) = 0;
};

}  // namespace orderflow::order
