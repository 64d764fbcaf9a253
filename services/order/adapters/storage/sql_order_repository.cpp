#include "sql_order_repository.h"

#include <map>

#include "../../domain/saga.h"
#include "../kafka/order_events.h"
#include "orderflow/messaging/events.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/outbox.h"
#include "orderflow/observability/trace_context.h"

namespace orderflow::order {
namespace {

const storage::Migration kMigrations[] = {
    {1, "orders and items",
     "CREATE TABLE orders ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " user_id TEXT NOT NULL,"
     " customer_email TEXT NOT NULL DEFAULT '',"
     " status TEXT NOT NULL,"
     " cancel_reason TEXT NOT NULL DEFAULT '',"
     " total_amount TEXT NOT NULL,"
     " currency TEXT NOT NULL,"
     " created_at_ms INTEGER NOT NULL,"
     " updated_at_ms INTEGER NOT NULL);"
     "CREATE INDEX orders_by_user ON orders(user_id, id);"
     "CREATE TABLE order_items ("
     " order_id INTEGER NOT NULL REFERENCES orders(id),"
     " line INTEGER NOT NULL,"
     " sku TEXT NOT NULL,"
     " quantity INTEGER NOT NULL,"
     " unit_price TEXT NOT NULL,"
     " PRIMARY KEY (order_id, line));",
     "CREATE TABLE orders ("
     " id BIGSERIAL PRIMARY KEY,"
     " user_id TEXT NOT NULL,"
     " customer_email TEXT NOT NULL DEFAULT '',"
     " status TEXT NOT NULL,"
     " cancel_reason TEXT NOT NULL DEFAULT '',"
     " total_amount TEXT NOT NULL,"
     " currency TEXT NOT NULL,"
     " created_at_ms BIGINT NOT NULL,"
     " updated_at_ms BIGINT NOT NULL);"
     "CREATE INDEX orders_by_user ON orders(user_id, id);"
     "CREATE TABLE order_items ("
     " order_id BIGINT NOT NULL REFERENCES orders(id),"
     " line INTEGER NOT NULL,"
     " sku TEXT NOT NULL,"
     " quantity BIGINT NOT NULL,"
     " unit_price TEXT NOT NULL,"
     " PRIMARY KEY (order_id, line));"},
    {2, "order timeline",
     "CREATE TABLE order_timeline ("
     " order_id INTEGER NOT NULL REFERENCES orders(id),"
     " seq INTEGER NOT NULL,"
     " from_status TEXT NOT NULL,"
     " to_status TEXT NOT NULL,"
     " event_type TEXT NOT NULL,"
     " event_id TEXT NOT NULL,"
     " reason TEXT NOT NULL,"
     " at_ms INTEGER NOT NULL,"
     " PRIMARY KEY (order_id, seq));"
     "CREATE INDEX orders_open_by_update ON orders(status, updated_at_ms);",
     "CREATE TABLE order_timeline ("
     " order_id BIGINT NOT NULL REFERENCES orders(id),"
     " seq INTEGER NOT NULL,"
     " from_status TEXT NOT NULL,"
     " to_status TEXT NOT NULL,"
     " event_type TEXT NOT NULL,"
     " event_id TEXT NOT NULL,"
     " reason TEXT NOT NULL,"
     " at_ms BIGINT NOT NULL,"
     " PRIMARY KEY (order_id, seq));"
     "CREATE INDEX orders_open_by_update ON orders(status, updated_at_ms);"},
    // The trace context of ORDER_CREATED, which the saga timeout continues; orders stored
    // before keep '' and time out in a new trace. The same SQL on both dialects.
    {3, "order trace context",
     "ALTER TABLE orders ADD COLUMN traceparent TEXT NOT NULL DEFAULT ''"},
};

constexpr const char* kOrderColumns =
    "id, user_id, customer_email, status, cancel_reason, total_amount, currency, created_at_ms,"
    " updated_at_ms";

Clock::TimePoint from_ms(std::int64_t ms) {
  return Clock::TimePoint{std::chrono::milliseconds{ms}};
}

Order order_from_row(const storage::Row& row) {
  Order o;
  o.id = row.integer(0);
  o.user_id = row.text(1);
  o.customer_email = row.text(2);
  o.status = parse_order_status(row.text(3)).value_or(OrderStatus::kPending);
  o.cancel_reason = row.text(4);
  o.total_amount = Decimal::parse(row.text(5)).value_or(Decimal{});
  o.currency = row.text(6);
  o.created_at = from_ms(row.integer(7));
  o.updated_at = from_ms(row.integer(8));
  return o;
}

// Loads the items of `orders` with one query.
Result<void> attach_items(storage::Tx& tx, std::vector<Order>& orders) {
  if (orders.empty()) return {};
  std::string sql =
      "SELECT order_id, sku, quantity, unit_price FROM order_items WHERE order_id IN (";
  std::vector<storage::Value> params;
  std::map<std::int64_t, Order*> by_id;
  for (auto& o : orders) {
    sql += params.empty() ? "?" : ",?";
    params.emplace_back(o.id);
    by_id[o.id] = &o;
  }
  sql += ") ORDER BY order_id, line";
  auto rows = tx.query(sql, params);
  if (!rows) return rows.error();
  for (const auto& row : rows.value()) {
    by_id[row.integer(0)]->items.push_back(
        {row.text(1), row.integer(2), Decimal::parse(row.text(3)).value_or(Decimal{})});
  }
  return {};
}

Result<void> attach_timeline(storage::Tx& tx, Order& order) {
  auto rows = tx.query(
      "SELECT from_status, to_status, event_type, event_id, reason, at_ms FROM order_timeline"
      " WHERE order_id = ? ORDER BY seq",
      {order.id});
  if (!rows) return rows.error();
  for (const auto& row : rows.value()) {
    order.timeline.push_back({parse_order_status(row.text(0)).value_or(OrderStatus::kPending),
                              parse_order_status(row.text(1)).value_or(OrderStatus::kPending),
                              row.text(2), row.text(3), row.text(4), from_ms(row.integer(5))});
  }
  return {};
}

Result<std::optional<Order>> load_order(storage::Tx& tx, std::int64_t id,
                                        std::string_view lock = "") {
  auto rows = tx.query(
      std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id = ?" + std::string(lock),
      {id});
  if (!rows) return rows.error();
  if (rows.value().empty()) return std::optional<Order>{};
  std::vector<Order> orders{order_from_row(rows.value()[0])};
  auto items = attach_items(tx, orders);
  if (!items) return items.error();
  auto timeline = attach_timeline(tx, orders[0]);
  if (!timeline) return timeline.error();
  return std::optional<Order>{std::move(orders[0])};
}

// OrderTx on one storage transaction; knows whether it appended an event (to wake the relay).
class SqlOrderTx final : public OrderTx {
 public:
  SqlOrderTx(storage::Tx& tx, const std::string& topic, const std::string& source)
      : tx_(tx), topic_(topic), source_(source) {}

  Result<OrderUpdate> update(std::int64_t id, const OrderDecider& decide) override {
    // Locked: a saga event and an HTTP cancel (or the stalled-order sweep) of one order may
    // run at once in two instances; the second decides on the first's commit, the timeline's
    // seq stays unique, and the order's outbox rows follow commit order.
    auto loaded = load_order(tx_, id, storage::for_update(tx_.dialect()));
    if (!loaded) return loaded.error();
    if (!loaded.value()) {
      return not_found("ORDER_NOT_FOUND", "order " + std::to_string(id) + " not found");
    }
    OrderUpdate out;
    out.order = std::move(*loaded.value());
    auto change = decide(out.order);
    if (!change) return change.error();
    out.change = std::move(change.value());
    if (out.change.entries.empty()) return out;
    auto seq = static_cast<std::int64_t>(out.order.timeline.size());
    for (const auto& entry : out.change.entries) {
      out.order.status = entry.to;
      out.order.updated_at = entry.at;
      if (entry.to == OrderStatus::kCancelled) out.order.cancel_reason = out.change.cancel_reason;
      auto inserted = tx_.exec(
          "INSERT INTO order_timeline (order_id, seq, from_status, to_status, event_type,"
          " event_id, reason, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          {id, seq++, std::string(to_string(entry.from)), std::string(to_string(entry.to)),
           entry.event_type, entry.event_id, entry.reason, to_epoch_ms(entry.at)});
      if (!inserted) return inserted.error();
      auto record =
          order_status_record(out.order, event_for_status(entry.to),
                              entry.to == OrderStatus::kCancelled ? out.change.cancel_reason : "",
                              entry.from, entry.at, topic_, source_, out.change.traceparent);
      auto appended = messaging::Outbox::append(tx_, record);
      if (!appended) return appended.error();
      published_ = true;
      out.order.timeline.push_back(entry);
    }
    auto updated =
        tx_.exec("UPDATE orders SET status = ?, cancel_reason = ?, updated_at_ms = ? WHERE id = ?",
                 {std::string(to_string(out.order.status)), out.order.cancel_reason,
                  to_epoch_ms(out.order.updated_at), id});
    if (!updated) return updated.error();
    return out;
  }

  [[nodiscard]] bool published() const { return published_; }

 private:
  storage::Tx& tx_;
  const std::string& topic_;
  const std::string& source_;
  bool published_ = false;
};

}  // namespace

std::span<const storage::Migration> order_migrations() { return kMigrations; }

Result<Order> SqlOrderRepository::create(const Order& order, const std::string& traceparent) {
  Order stored = order;
  // Decided here, not by the record's headers: the row keeps the context ORDER_CREATED carries.
  const auto trace = observability::traceparent_or_new(traceparent);
  auto result = db_.write([&](storage::Tx& tx) -> Result<void> {
    auto inserted = tx.query(
        "INSERT INTO orders (user_id, customer_email, status, cancel_reason, total_amount,"
        " currency, created_at_ms, updated_at_ms, traceparent)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {order.user_id, order.customer_email, std::string(to_string(order.status)),
         order.cancel_reason, order.total_amount.to_string(), order.currency,
         to_epoch_ms(order.created_at), to_epoch_ms(order.updated_at), trace});
    if (!inserted) return inserted.error();
    stored.id = inserted.value().at(0).integer(0);
    for (std::size_t line = 0; line < order.items.size(); ++line) {
      const auto& item = order.items[line];
      auto r = tx.exec(
          "INSERT INTO order_items (order_id, line, sku, quantity, unit_price)"
          " VALUES (?, ?, ?, ?, ?)",
          {stored.id, static_cast<std::int64_t>(line), item.sku, item.quantity,
           item.unit_price.to_string()});
      if (!r) return r.error();
    }
    return messaging::Outbox::append(tx,
                                     order_created_record(stored, orders_topic_, source_, trace));
  });
  if (!result) return result.error();
  if (on_commit_) on_commit_();
  return stored;
}

Result<Order> SqlOrderRepository::find(std::int64_t id) {
  std::optional<Order> found;
  auto result = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto loaded = load_order(tx, id);
    if (!loaded) return loaded.error();
    found = std::move(loaded.value());
    return {};
  });
  if (!result) return result.error();
  if (!found) return not_found("ORDER_NOT_FOUND", "order " + std::to_string(id) + " not found");
  return *found;
}

Result<bool> SqlOrderRepository::already_processed(std::string_view consumer_group,
                                                   std::string_view event_id) {
  return messaging::Inbox::contains(db_, consumer_group, event_id);
}

Result<bool> SqlOrderRepository::process_once(std::string_view consumer_group,
                                              std::string_view event_id, const Effect& effect) {
  return messaging::Inbox::process(
      db_, consumer_group, event_id, effect,
      [this](storage::Tx& tx) { return SqlOrderTx(tx, orders_topic_, source_); }, on_commit_);
}

Result<void> SqlOrderRepository::transact(const TxFn& fn) {
  return messaging::write_wrapped(
      db_, [this](storage::Tx& tx) { return SqlOrderTx(tx, orders_topic_, source_); },
      [&](storage::Tx&, OrderTx& tx) { return fn(tx); }, on_commit_);
}

Result<std::vector<StalledOrder>> SqlOrderRepository::stalled(Clock::TimePoint before, int limit) {
  std::vector<StalledOrder> stalled;
  auto result = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query(
        "SELECT id, traceparent FROM orders WHERE status IN ('PENDING', 'CONFIRMED', 'PAID')"
        " AND updated_at_ms < ? ORDER BY updated_at_ms LIMIT ?",
        {to_epoch_ms(before), static_cast<std::int64_t>(limit)});
    if (!rows) return rows.error();
    for (const auto& row : rows.value()) stalled.push_back({row.integer(0), row.text(1)});
    return {};
  });
  if (!result) return result.error();
  return stalled;
}

Result<OrderPage> SqlOrderRepository::list_by_user(const std::string& user_id, int page, int size) {
  OrderPage out;
  out.page = page;
  out.size = size;
  auto result = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto count = tx.query("SELECT COUNT(*) FROM orders WHERE user_id = ?", {user_id});
    if (!count) return count.error();
    out.total = count.value().at(0).integer(0);
    auto rows = tx.query(
        std::string("SELECT ") + kOrderColumns +
            " FROM orders WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        {user_id, static_cast<std::int64_t>(size), static_cast<std::int64_t>(page) * size});
    if (!rows) return rows.error();
    for (const auto& row : rows.value()) out.orders.push_back(order_from_row(row));
    return attach_items(tx, out.orders);
  });
  if (!result) return result.error();
  return out;
}

}  // namespace orderflow::order
