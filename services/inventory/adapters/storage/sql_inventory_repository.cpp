#include "sql_inventory_repository.h"

#include <map>

#include "../kafka/stock_events.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/outbox.h"

namespace orderflow::inventory {
namespace {

// CHECK constraints back the domain's "never below 0": a bug that tried would fail the
// transaction (kConflict) instead of storing a wrong level.
const storage::Migration kMigrations[] = {
    {1, "products, reservations, cancelled orders",
     "CREATE TABLE products ("
     " sku TEXT PRIMARY KEY,"
     " name TEXT NOT NULL,"
     " unit_price TEXT NOT NULL,"
     " available INTEGER NOT NULL CHECK (available >= 0),"
     " reserved INTEGER NOT NULL CHECK (reserved >= 0),"
     " sold INTEGER NOT NULL CHECK (sold >= 0));"
     "CREATE TABLE reservations ("
     " order_id INTEGER PRIMARY KEY,"
     " user_id TEXT NOT NULL,"
     " total_amount TEXT NOT NULL,"
     " currency TEXT NOT NULL,"
     " status TEXT NOT NULL,"
     " expires_at_ms INTEGER NOT NULL,"
     " created_at_ms INTEGER NOT NULL,"
     " updated_at_ms INTEGER NOT NULL);"
     "CREATE INDEX reservations_due ON reservations(status, expires_at_ms);"
     "CREATE TABLE reservation_items ("
     " order_id INTEGER NOT NULL REFERENCES reservations(order_id),"
     " line INTEGER NOT NULL,"
     " sku TEXT NOT NULL,"
     " quantity INTEGER NOT NULL,"
     " PRIMARY KEY (order_id, line));"
     "CREATE TABLE cancelled_orders ("
     " order_id INTEGER PRIMARY KEY,"
     " cancelled_at_ms INTEGER NOT NULL);",
     "CREATE TABLE products ("
     " sku TEXT PRIMARY KEY,"
     " name TEXT NOT NULL,"
     " unit_price TEXT NOT NULL,"
     " available BIGINT NOT NULL CHECK (available >= 0),"
     " reserved BIGINT NOT NULL CHECK (reserved >= 0),"
     " sold BIGINT NOT NULL CHECK (sold >= 0));"
     "CREATE TABLE reservations ("
     " order_id BIGINT PRIMARY KEY,"
     " user_id TEXT NOT NULL,"
     " total_amount TEXT NOT NULL,"
     " currency TEXT NOT NULL,"
     " status TEXT NOT NULL,"
     " expires_at_ms BIGINT NOT NULL,"
     " created_at_ms BIGINT NOT NULL,"
     " updated_at_ms BIGINT NOT NULL);"
     "CREATE INDEX reservations_due ON reservations(status, expires_at_ms);"
     "CREATE TABLE reservation_items ("
     " order_id BIGINT NOT NULL REFERENCES reservations(order_id),"
     " line INTEGER NOT NULL,"
     " sku TEXT NOT NULL,"
     " quantity BIGINT NOT NULL,"
     " PRIMARY KEY (order_id, line));"
     "CREATE TABLE cancelled_orders ("
     " order_id BIGINT PRIMARY KEY,"
     " cancelled_at_ms BIGINT NOT NULL);"},
    // One row per order that a write transaction has locked (InventoryTx::lock_order): the
    // reservation and the cancel mark may not exist yet, and PostgreSQL cannot lock a row
    // that does not exist.
    {2, "order locks", "CREATE TABLE inventory_order_locks (order_id BIGINT PRIMARY KEY)"},
    // The trace context of STOCK_RESERVED, which the expiry continues; reservations stored
    // before keep '' and expire in a new trace. The same SQL on both dialects.
    {3, "reservation trace context",
     "ALTER TABLE reservations ADD COLUMN traceparent TEXT NOT NULL DEFAULT ''"},
};

constexpr const char* kProductColumns = "sku, name, unit_price, available, reserved, sold";
constexpr const char* kReservationColumns =
    "order_id, user_id, total_amount, currency, status, expires_at_ms, created_at_ms,"
    " updated_at_ms";

Clock::TimePoint from_ms(std::int64_t ms) {
  return Clock::TimePoint{std::chrono::milliseconds{ms}};
}

Result<Product> product_from_row(const storage::Row& row) {
  auto price = Decimal::parse(row.text(2));
  if (!price) return internal_error("CORRUPT_ROW", "product " + row.text(0) + ": bad unit_price");
  return Product{row.text(0), row.text(1), *price, row.integer(3), row.integer(4), row.integer(5)};
}

Result<Reservation> reservation_from_row(const storage::Row& row) {
  Reservation r;
  r.order_id = row.integer(0);
  r.user_id = row.text(1);
  auto total = Decimal::parse(row.text(2));
  auto status = parse_reservation_status(row.text(4));
  if (!total || !status) {
    return internal_error("CORRUPT_ROW",
                          "reservation of order " + std::to_string(r.order_id) + " is corrupt");
  }
  r.total_amount = *total;
  r.currency = row.text(3);
  r.status = *status;
  r.expires_at = from_ms(row.integer(5));
  r.created_at = from_ms(row.integer(6));
  r.updated_at = from_ms(row.integer(7));
  return r;
}

Result<std::optional<Product>> query_product(storage::Tx& tx, const std::string& sku,
                                             std::string_view lock = "") {
  auto rows = tx.query(
      std::string("SELECT ") + kProductColumns + " FROM products WHERE sku = ?" + std::string(lock),
      {sku});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Product>{};
  auto product = product_from_row(rows->front());
  if (!product) return product.error();
  return std::optional<Product>{std::move(product.value())};
}

Result<std::optional<Reservation>> query_reservation(storage::Tx& tx, std::int64_t order_id) {
  auto rows = tx.query(
      std::string("SELECT ") + kReservationColumns + " FROM reservations WHERE order_id = ?",
      {order_id});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Reservation>{};
  auto reservation = reservation_from_row(rows->front());
  if (!reservation) return reservation.error();
  auto items = tx.query(
      "SELECT sku, quantity FROM reservation_items WHERE order_id = ? ORDER BY line", {order_id});
  if (!items) return items.error();
  for (const auto& row : items.value()) {
    reservation->items.push_back({row.text(0), row.integer(1)});
  }
  return std::optional<Reservation>{std::move(reservation.value())};
}

Result<void> insert_product_row(storage::Tx& tx, const Product& p) {
  auto r = tx.exec(
      "INSERT INTO products (sku, name, unit_price, available, reserved, sold)"
      " VALUES (?, ?, ?, ?, ?, ?)",
      {p.sku, p.name, p.unit_price.to_string(), p.available, p.reserved, p.sold});
  if (!r) return r.error();
  return {};
}

class SqlInventoryTx final : public InventoryTx {
 public:
  SqlInventoryTx(storage::Tx& tx, const std::string& topic, const std::string& source)
      : tx_(tx), topic_(topic), source_(source) {}

  Result<void> lock_order(std::int64_t order_id) override {
    // ON CONFLICT DO UPDATE locks the existing row; a concurrent first insert waits on the key.
    auto r = tx_.exec(
        "INSERT INTO inventory_order_locks (order_id) VALUES (?)"
        " ON CONFLICT (order_id) DO UPDATE SET order_id = excluded.order_id",
        {order_id});
    if (!r) return r.error();
    return {};
  }

  Result<std::optional<Product>> find_product(const std::string& sku) override {
    // Locked: PostgreSQL runs other orders' reservations of the same sku concurrently, and
    // update_product's compare-and-set would otherwise fail (and the event be retried) each
    // time two of them overlap.
    return query_product(tx_, sku, storage::for_update(tx_.dialect()));
  }

  Result<void> insert_product(const Product& product) override {
    return insert_product_row(tx_, product);
  }

  Result<void> update_product(const Product& before, const Product& after) override {
    // Compare-and-set on the levels read earlier in this transaction: find_product locked the
    // row (PostgreSQL) or writers are serialised (SQLite), so it matches; kept as a guard.
    auto changed = tx_.exec(
        "UPDATE products SET name = ?, unit_price = ?, available = ?, reserved = ?, sold = ?"
        " WHERE sku = ? AND available = ? AND reserved = ? AND sold = ?",
        {after.name, after.unit_price.to_string(), after.available, after.reserved, after.sold,
         before.sku, before.available, before.reserved, before.sold});
    if (!changed) return changed.error();
    if (changed.value() != 1) {
      return unavailable("STOCK_CHANGED", "stock of " + before.sku + " changed concurrently");
    }
    return {};
  }

  Result<std::optional<Reservation>> find_reservation(std::int64_t order_id) override {
    return query_reservation(tx_, order_id);
  }

  Result<void> insert_reservation(const Reservation& r, const std::string& traceparent) override {
    auto inserted = tx_.exec(
        "INSERT INTO reservations (order_id, user_id, total_amount, currency, status,"
        " expires_at_ms, created_at_ms, updated_at_ms, traceparent)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {r.order_id, r.user_id, r.total_amount.to_string(), r.currency,
         std::string(to_string(r.status)), to_epoch_ms(r.expires_at), to_epoch_ms(r.created_at),
         to_epoch_ms(r.updated_at), traceparent});
    if (!inserted) return inserted.error();
    for (std::size_t line = 0; line < r.items.size(); ++line) {
      auto item = tx_.exec(
          "INSERT INTO reservation_items (order_id, line, sku, quantity) VALUES (?, ?, ?, ?)",
          {r.order_id, static_cast<std::int64_t>(line), r.items[line].sku, r.items[line].quantity});
      if (!item) return item.error();
    }
    return {};
  }

  Result<bool> transition(std::int64_t order_id, ReservationStatus from, ReservationStatus to,
                          Clock::TimePoint at) override {
    auto changed = tx_.exec(
        "UPDATE reservations SET status = ?, updated_at_ms = ? WHERE order_id = ? AND status = ?",
        {std::string(to_string(to)), to_epoch_ms(at), order_id, std::string(to_string(from))});
    if (!changed) return changed.error();
    return changed.value() == 1;
  }

  Result<bool> is_cancelled(std::int64_t order_id) override {
    auto rows = tx_.query("SELECT 1 FROM cancelled_orders WHERE order_id = ?", {order_id});
    if (!rows) return rows.error();
    return !rows->empty();
  }

  Result<void> mark_cancelled(std::int64_t order_id, Clock::TimePoint at) override {
    auto r = tx_.exec(
        "INSERT INTO cancelled_orders (order_id, cancelled_at_ms) VALUES (?, ?)"
        " ON CONFLICT DO NOTHING",
        {order_id, to_epoch_ms(at)});
    if (!r) return r.error();
    return {};
  }

  Result<void> publish(const StockEvent& event) override {
    auto r = messaging::Outbox::append(tx_, stock_event_record(event, topic_, source_));
    if (r) published_ = true;
    return r;
  }

  [[nodiscard]] bool published() const { return published_; }

 private:
  storage::Tx& tx_;
  const std::string& topic_;
  const std::string& source_;
  bool published_ = false;
};

}  // namespace

std::span<const storage::Migration> inventory_migrations() { return kMigrations; }

Result<bool> SqlInventoryRepository::already_processed(std::string_view consumer_group,
                                                       std::string_view event_id) {
  return messaging::Inbox::contains(db_, consumer_group, event_id);
}

Result<bool> SqlInventoryRepository::process_once(std::string_view consumer_group,
                                                  std::string_view event_id, const Effect& effect) {
  return messaging::Inbox::process(
      db_, consumer_group, event_id, effect,
      [this](storage::Tx& tx) { return SqlInventoryTx(tx, inventory_topic_, source_); },
      on_commit_);
}

Result<void> SqlInventoryRepository::transact(const TxFn& fn) {
  return messaging::write_wrapped(
      db_, [this](storage::Tx& tx) { return SqlInventoryTx(tx, inventory_topic_, source_); },
      [&](storage::Tx&, InventoryTx& tx) { return fn(tx); }, on_commit_);
}

Result<std::vector<Product>> SqlInventoryRepository::list_products() {
  std::vector<Product> out;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query(std::string("SELECT ") + kProductColumns + " FROM products ORDER BY sku");
    if (!rows) return rows.error();
    for (const auto& row : rows.value()) {
      auto product = product_from_row(row);
      if (!product) return product.error();
      out.push_back(std::move(product.value()));
    }
    return {};
  });
  if (!r) return r.error();
  return out;
}

Result<std::optional<Product>> SqlInventoryRepository::find_product(const std::string& sku) {
  std::optional<Product> out;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto found = query_product(tx, sku);
    if (!found) return found.error();
    out = std::move(found.value());
    return {};
  });
  if (!r) return r.error();
  return out;
}

Result<std::optional<Reservation>> SqlInventoryRepository::find_reservation(std::int64_t order_id) {
  std::optional<Reservation> out;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto found = query_reservation(tx, order_id);
    if (!found) return found.error();
    out = std::move(found.value());
    return {};
  });
  if (!r) return r.error();
  return out;
}

Result<std::vector<DueReservation>> SqlInventoryRepository::due_reservations(Clock::TimePoint now,
                                                                             int limit) {
  std::vector<DueReservation> out;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query(
        "SELECT order_id, traceparent FROM reservations WHERE status = ? AND expires_at_ms <= ?"
        " ORDER BY expires_at_ms, order_id LIMIT ?",
        {std::string(to_string(ReservationStatus::kReserved)), to_epoch_ms(now),
         std::int64_t{limit}});
    if (!rows) return rows.error();
    for (const auto& row : rows.value()) out.push_back({row.integer(0), row.text(1)});
    return {};
  });
  if (!r) return r.error();
  return out;
}

Result<int> SqlInventoryRepository::insert_missing_products(const std::vector<Product>& products) {
  int inserted = 0;
  auto r = db_.write([&](storage::Tx& tx) -> Result<void> {
    inserted = 0;
    for (const auto& p : products) {
      auto changed = tx.exec(
          "INSERT INTO products (sku, name, unit_price, available, reserved, sold)"
          " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          {p.sku, p.name, p.unit_price.to_string(), p.available, p.reserved, p.sold});
      if (!changed) return changed.error();
      inserted += static_cast<int>(changed.value());
    }
    return {};
  });
  if (!r) return r.error();
  return inserted;
}

}  // namespace orderflow::inventory
