#include "sql_notification_repository.h"

#include <map>
#include <optional>

#include "orderflow/messaging/inbox.h"

namespace orderflow::notification {
namespace {

const storage::Migration kMigrations[] = {
    {1, "notifications and deliveries",
     "CREATE TABLE notifications ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " user_id TEXT NOT NULL,"
     " type TEXT NOT NULL,"
     " message TEXT NOT NULL,"
     " order_id INTEGER NOT NULL,"
     " source_event_id TEXT NOT NULL,"
     " created_at_ms INTEGER NOT NULL,"
     " UNIQUE (source_event_id, user_id));"
     "CREATE INDEX notifications_by_user ON notifications(user_id, id);"
     "CREATE TABLE notification_deliveries ("
     " notification_id INTEGER NOT NULL REFERENCES notifications(id),"
     " channel TEXT NOT NULL,"
     " status TEXT NOT NULL,"
     " delivered_at_ms INTEGER NOT NULL,"
     " PRIMARY KEY (notification_id, channel));",
     "CREATE TABLE notifications ("
     " id BIGSERIAL PRIMARY KEY,"
     " user_id TEXT NOT NULL,"
     " type TEXT NOT NULL,"
     " message TEXT NOT NULL,"
     " order_id BIGINT NOT NULL,"
     " source_event_id TEXT NOT NULL,"
     " created_at_ms BIGINT NOT NULL,"
     " UNIQUE (source_event_id, user_id));"
     "CREATE INDEX notifications_by_user ON notifications(user_id, id);"
     "CREATE TABLE notification_deliveries ("
     " notification_id BIGINT NOT NULL REFERENCES notifications(id),"
     " channel TEXT NOT NULL,"
     " status TEXT NOT NULL,"
     " delivered_at_ms BIGINT NOT NULL,"
     " PRIMARY KEY (notification_id, channel));"},
    // Issue 13: a delivery per channel with its attempts; delivered_at_ms becomes the time of
    // the last attempt. Rows of version 1 were all delivered at their first attempt.
    {2, "delivery attempts, last error and HTTP status",
     "ALTER TABLE notification_deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;"
     "ALTER TABLE notification_deliveries ADD COLUMN last_error TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE notification_deliveries ADD COLUMN http_status INTEGER NOT NULL DEFAULT 0;",
     "ALTER TABLE notification_deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;"
     "ALTER TABLE notification_deliveries ADD COLUMN last_error TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE notification_deliveries ADD COLUMN http_status INTEGER NOT NULL DEFAULT 0;"},
};

constexpr const char* kDeliveryColumns =
    "notification_id, channel, status, delivered_at_ms, attempts, last_error, http_status";

Delivery delivery_of(const storage::Row& row) {
  Delivery d;
  d.channel = row.text(1);
  d.status = row.text(2);
  d.delivered_at = Clock::TimePoint{std::chrono::milliseconds{row.integer(3)}};
  d.attempts = static_cast<int>(row.integer(4));
  d.last_error = row.text(5);
  d.http_status = static_cast<int>(row.integer(6));
  return d;
}

Result<void> insert_delivery(storage::Tx& tx, std::int64_t id, const Delivery& d) {
  auto done = tx.exec(
      std::string("INSERT INTO notification_deliveries (") + kDeliveryColumns +
          ") VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      {id, d.channel, d.status, to_epoch_ms(d.delivered_at), static_cast<std::int64_t>(d.attempts),
       d.last_error, static_cast<std::int64_t>(d.http_status)});
  if (!done) return done.error();
  return {};
}

Clock::TimePoint from_ms(std::int64_t ms) {
  return Clock::TimePoint{std::chrono::milliseconds{ms}};
}

// Inserts `n` unless one exists for its (sourceEventId, userId): the new row's id, or nullopt.
Result<std::optional<std::int64_t>> insert_notification(storage::Tx& tx, const Notification& n) {
  auto inserted = tx.query(
      "INSERT INTO notifications (user_id, type, message, order_id, source_event_id,"
      " created_at_ms) VALUES (?, ?, ?, ?, ?, ?)"
      " ON CONFLICT (source_event_id, user_id) DO NOTHING RETURNING id",
      {n.user_id, n.type, n.message, n.order_id, n.source_event_id, to_epoch_ms(n.created_at)});
  if (!inserted) return inserted.error();
  if (inserted.value().empty()) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>(inserted.value()[0].integer(0));
}

class SqlNotificationTx final : public NotificationTx {
 public:
  explicit SqlNotificationTx(storage::Tx& tx) : tx_(tx) {}

  Result<void> add(const Notification& n) override {
    auto inserted = insert_notification(tx_, n);
    if (!inserted) return inserted.error();
    if (!inserted.value()) return {};  // another group already notified this user
    auto id = *inserted.value();
    for (const auto& d : n.deliveries) {
      if (auto done = insert_delivery(tx_, id, d); !done) return done;
    }
    return {};
  }
  /// Notifications have no outbox.
  [[nodiscard]] bool published() const { return false; }

 private:
  storage::Tx& tx_;
};

}  // namespace

std::span<const storage::Migration> notification_migrations() { return kMigrations; }

Result<bool> SqlNotificationRepository::already_processed(std::string_view consumer_group,
                                                          std::string_view event_id) {
  return messaging::Inbox::contains(db_, consumer_group, event_id);
}

Result<bool> SqlNotificationRepository::process_once(std::string_view consumer_group,
                                                     std::string_view event_id,
                                                     const Effect& effect) {
  return messaging::Inbox::process(db_, consumer_group, event_id, effect,
                                   [](storage::Tx& tx) { return SqlNotificationTx(tx); }, {});
}

Result<Notification> SqlNotificationRepository::store_pending(
    const Notification& n, const std::vector<std::string>& channels) {
  Notification out = n;
  auto done = db_.write([&](storage::Tx& tx) -> Result<void> {
    auto inserted = insert_notification(tx, n);
    if (!inserted) return inserted.error();
    // The stored row wins over `n` (an earlier attempt, or another group, rendered it first).
    auto row = tx.query(
        "SELECT id, message, created_at_ms FROM notifications WHERE source_event_id = ? AND"
        " user_id = ?",
        {n.source_event_id, n.user_id});
    if (!row) return row.error();
    if (row.value().empty()) return internal_error("NOT_STORED", "notification not stored");
    out.id = row.value()[0].integer(0);
    out.message = row.value()[0].text(1);
    out.created_at = from_ms(row.value()[0].integer(2));
    for (const auto& channel : channels) {
      Delivery pending{channel, delivery_status::kPending, n.created_at, 0, "", 0};
      if (auto added = insert_delivery(tx, out.id, pending); !added) return added;
    }
    auto deliveries =
        tx.query(std::string("SELECT ") + kDeliveryColumns +
                     " FROM notification_deliveries WHERE notification_id = ? ORDER BY channel",
                 {out.id});
    if (!deliveries) return deliveries.error();
    out.deliveries.clear();
    for (const auto& r : deliveries.value()) out.deliveries.push_back(delivery_of(r));
    return {};
  });
  if (!done) return done.error();
  return out;
}

Result<void> SqlNotificationRepository::record_delivery(std::int64_t notification_id,
                                                        const Delivery& d) {
  return db_.write([&](storage::Tx& tx) -> Result<void> {
    auto updated = tx.exec(
        "UPDATE notification_deliveries SET status = ?, delivered_at_ms = ?, attempts = ?,"
        " last_error = ?, http_status = ? WHERE notification_id = ? AND channel = ?",
        {d.status, to_epoch_ms(d.delivered_at), static_cast<std::int64_t>(d.attempts), d.last_error,
         static_cast<std::int64_t>(d.http_status), notification_id, d.channel});
    if (!updated) return updated.error();
    return {};
  });
}

Result<NotificationPage> SqlNotificationRepository::list_by_user(const std::string& user_id,
                                                                 int page, int size) {
  NotificationPage out;
  out.page = page;
  out.size = size;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto count = tx.query("SELECT COUNT(*) FROM notifications WHERE user_id = ?", {user_id});
    if (!count) return count.error();
    out.total = count.value().at(0).integer(0);
    auto rows = tx.query(
        "SELECT id, user_id, type, message, order_id, source_event_id, created_at_ms"
        " FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        {user_id, static_cast<std::int64_t>(size), static_cast<std::int64_t>(page) * size});
    if (!rows) return rows.error();
    if (rows.value().empty()) return {};
    std::map<std::int64_t, std::size_t> index;
    std::string in;
    std::vector<storage::Value> ids;
    for (const auto& row : rows.value()) {
      Notification n;
      n.id = row.integer(0);
      n.user_id = row.text(1);
      n.type = row.text(2);
      n.message = row.text(3);
      n.order_id = row.integer(4);
      n.source_event_id = row.text(5);
      n.created_at = from_ms(row.integer(6));
      index[n.id] = out.items.size();
      in += in.empty() ? "?" : ",?";
      ids.emplace_back(n.id);
      out.items.push_back(std::move(n));
    }
    auto deliveries = tx.query(std::string("SELECT ") + kDeliveryColumns +
                                   " FROM notification_deliveries WHERE notification_id IN (" + in +
                                   ") ORDER BY notification_id, channel",
                               ids);
    if (!deliveries) return deliveries.error();
    for (const auto& row : deliveries.value()) {
      out.items[index[row.integer(0)]].deliveries.push_back(delivery_of(row));
    }
    return {};
  });
  if (!r) return r.error();
  return out;
}

}  // namespace orderflow::notification
