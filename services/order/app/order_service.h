#pragma once

#include <cstdint>
#include <string>

#include "ports.h"
#include "orderflow/common/clock.h"

namespace orderflow::order {

/// Order use cases (seeds 000, 001, 003). Thread-safe.
class OrderService {
 public:
  OrderService(OrderRepository& repository, const Catalog& catalog, const Clock& clock)
      : repository_(repository), catalog_(catalog), clock_(clock) {}

  /// Prices and stores a PENDING order with its ORDER_CREATED event; returns once the DB
  /// transaction committed (not after Kafka delivery: the outbox relay publishes it).
  Result<Order> create(const OrderRequest& request);
  Result<Order> get(std::int64_t id);
  /// size is clamped to 1..kMaxPageSize.
  Result<OrderPage> list(const std::string& user_id, int page, int size);

  static constexpr int kMaxPageSize = 100;

 private:
  OrderRepository& repository_;
  const Catalog& catalog_;
  const Clock& clock_;
};

}  // namespace orderflow::order
