#pragma once

#include <functional>
#include <span>
#include <string>

#include "../../app/ports.h"
#include "orderflow/storage/database.h"

namespace orderflow::inventory {

/// Schema of the inventory service (component "inventory"): products, reservations,
/// reservation_items, cancelled_orders. The inbox and outbox tables are migrated separately
/// (components "inbox", "outbox").
std::span<const storage::Migration> inventory_migrations();

/// InventoryRepository on storage::Database (SQLite; the SQL is the common subset so the
/// PostgreSQL adapter can run it). Events are appended to messaging::Outbox as records of
/// `inventory_topic` with header source = `source`; the inbox is messaging::Inbox.
/// `on_commit` runs after every committed transaction that appended an event (to wake the
/// outbox relay). Thread-safe.
class SqlInventoryRepository final : public InventoryRepository {
 public:
  SqlInventoryRepository(storage::Database& db, std::string inventory_topic, std::string source,
                         std::function<void()> on_commit)
      : db_(db),
        inventory_topic_(std::move(inventory_topic)),
        source_(std::move(source)),
        on_commit_(std::move(on_commit)) {}

  Result<bool> already_processed(std::string_view consumer_group,
                                 std::string_view event_id) override;
  Result<bool> process_once(std::string_view consumer_group, std::string_view event_id,
                            const Effect& effect) override;
  Result<void> transact(const TxFn& fn) override;
  Result<std::vector<Product>> list_products() override;
  Result<std::optional<Product>> find_product(const std::string& sku) override;
  Result<std::optional<Reservation>> find_reservation(std::int64_t order_id) override;
  Result<std::vector<DueReservation>> due_reservations(Clock::TimePoint now, int limit) override;
  Result<int> insert_missing_products(const std::vector<Product>& products) override;

 private:
  storage::Database& db_;
  std::string inventory_topic_;
  std::string source_;
  std::function<void()> on_commit_;
};

}  // namespace orderflow::inventory
