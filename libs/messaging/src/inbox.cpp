#include <chrono>
#include <string>

#include "orderflow/common/clock.h"
#include "orderflow/messaging/inbox.h"

namespace orderflow::messaging {

std::span<const storage::Migration> Inbox::migrations() {
  static const std::vector<storage::Migration> kMigrations = {
      {.version = 1,
       .name = "create_processed_events",
       .sql = "CREATE TABLE processed_events("
              "consumer_group TEXT NOT NULL, event_id TEXT NOT NULL, processed_at TEXT NOT NULL, "
              "PRIMARY KEY(consumer_group, event_id))",
       .postgres_sql = {}},
  };
  return kMigrations;
}

Result<bool> Inbox::record(storage::Tx& tx, std::string_view consumer_group,
                           std::string_view event_id) {
  // ON CONFLICT DO NOTHING rather than catching kConflict: a failed statement would abort the
  // handler's PostgreSQL transaction, and the duplicate is the expected case, not an error.
  auto changed = tx.exec(
      "INSERT INTO processed_events(consumer_group, event_id, processed_at) VALUES (?, ?, ?) "
      "ON CONFLICT DO NOTHING",
      {std::string(consumer_group), std::string(event_id),
       format_iso8601(std::chrono::system_clock::now())});
  if (!changed) return changed.error();
  return *changed == 1;
}

Result<bool> Inbox::contains(storage::Database& db, std::string_view consumer_group,
                             std::string_view event_id) {
  bool seen = false;
  auto r = db.read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query("SELECT 1 FROM processed_events WHERE consumer_group = ? AND event_id = ?",
                         {std::string(consumer_group), std::string(event_id)});
    if (!rows) return rows.error();
    seen = !rows.value().empty();
    return {};
  });
  if (!r) return r.error();
  return seen;
}

}  // namespace orderflow::messaging
