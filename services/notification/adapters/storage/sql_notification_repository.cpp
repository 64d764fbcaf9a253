#include "sql_notification_repository.h"

#include <map>

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
};

Clock::TimePoint from_ms(std::int64_t ms) {
  return Clock::TimePoint{std::chrono::milliseconds{ms}};
}

class SqlNotificationTx final : public NotificationTx {
 public:
  explicit SqlNotificationTx(storage::Tx& tx) : tx_(tx) {}

  Result<void> add(const Notification& n) override {
    auto inserted = tx_.query(
        "INSERT INTO notifications (user_id, type, message, order_id, source_event_id,"
        " created_at_ms) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (source_event_id, user_id) DO NOTHING RETURNING id",
        {n.user_id, n.type, n.message, n.order_id, n.source_event_id, to_epoch_ms(n.created_at)});
    if (!inserted) return inserted.error();
    if (inserted.value().empty()) return {};  // another group already notified this user
    auto id = inserted.value()[0].integer(0);
    for (const auto& d : n.deliveries) {
      auto done = tx_.exec(
          "INSERT INTO notification_deliveries (notification_id, channel, status,"
          " delivered_at_ms) VALUES (?, ?, ?, ?)",
          {id, d.channel, d.status, to_epoch_ms(d.delivered_at)});
      if (!done) return done.error();
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
    auto deliveries = tx.query(
        "SELECT notification_id, channel, status, delivered_at_ms FROM notification_deliveries"
        " WHERE notification_id IN (" +
            in + ") ORDER BY notification_id, channel",
        ids);
    if (!deliveries) return deliveries.error();
    for (const auto& row : deliveries.value()) {
      out.items[index[row.integer(0)]].deliveries.push_back(
          {row.text(1), row.text(2), from_ms(row.integer(3))});
    }
    return {};
  });
  if (!r) return r.error();
  return out;
}

}  // namespace orderflow::notification
