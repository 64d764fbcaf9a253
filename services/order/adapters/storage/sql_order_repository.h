#pragma once

#include <functional>
#include <span>
#include <string>

#include "../../app/ports.h"
#include "orderflow/storage/database.h"

namespace orderflow::order {

/// Schema of the order service (component "order").
std::span<const storage::Migration> order_migrations();

/// OrderRepository on storage::Database (SQLite or PostgreSQL). `create` appends the
/// ORDER_CREATED record to the outbox in the same transaction and calls `on_commit` after the
/// commit (to wake the outbox relay). Thread-safe.
class SqlOrderRepository final : public OrderRepository {
 public:
  SqlOrderRepository(storage::Database& db, std::string orders_topic, std::string source,
                     std::function<void()> on_commit)
      : db_(db),
        orders_topic_(std::move(orders_topic)),
        source_(std::move(source)),
        on_commit_(std::move(on_commit)) {}

  Result<Order> create(const Order& order, const std::string& traceparent) override;
  Result<Order> find(std::int64_t id) override;
  Result<OrderPage> list_by_user(const std::string& user_id, int page, int size) override;
  Result<OrderUpdate> update(std::int64_t id, const std::string& consumer_group,
                             const std::string& event_id, const OrderDecider& decide) override;
  Result<std::vector<std::int64_t>> stalled(Clock::TimePoint before, int limit) override;

 private:
  storage::Database& db_;
  std::string orders_topic_;
  std::string source_;
  std::function<void()> on_commit_;
};

}  // namespace orderflow::order
