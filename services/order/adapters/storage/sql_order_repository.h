#pragma once

#include <functional>
#include <span>
#include <string>

#include "../../app/ports.h"
#include "orderflow/storage/database.h"

namespace orderflow::order {

/// Schema of the order service (component "order").
std::span<const storage::Migration> order_migrations();

/// OrderRepository on storage::Database (SQLite or PostgreSQL); the inbox is messaging::Inbox.
/// Every event (ORDER_CREATED, the saga's) is appended to the outbox in the transaction that
/// decided it, and `on_commit` runs after a commit that appended one (to wake the outbox
/// relay). Thread-safe.
class SqlOrderRepository final : public OrderRepository {
 public:
  SqlOrderRepository(storage::Database& db, std::string orders_topic, std::string source,
                     std::function<void()> on_commit)
      : db_(db),
        orders_topic_(std::move(orders_topic)),
        source_(std::move(source)),
        on_commit_(std::move(on_commit)) {}

  Result<bool> already_processed(std::string_view consumer_group,
                                 std::string_view event_id) override;
  Result<bool> process_once(std::string_view consumer_group, std::string_view event_id,
                            const Effect& effect) override;
  Result<Order> create(const Order& order, const std::string& traceparent) override;
  Result<Order> find(std::int64_t id) override;
  Result<void> transact(const TxFn& fn) override;
  Result<OrderPage> list_by_user(const std::string& user_id, int page, int size) override;
  Result<std::vector<StalledOrder>> stalled(Clock::TimePoint before, int limit) override;

 private:
  storage::Database& db_;
  std::string orders_topic_;
  std::string source_;
  std::function<void()> on_commit_;
};

}  // namespace orderflow::order
