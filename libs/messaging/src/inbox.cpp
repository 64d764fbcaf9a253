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

Result<bool> Inbox::process(storage::Database& db, std::string_view consumer_group,
                            std::string_view event_id,
                            const std::function<Result<void>(storage::Tx&)>& fn) {
  bool first = false;
  auto done = db.write([&](storage::Tx& tx) -> Result<void> {
    auto recorded = record(tx, consumer_group, event_id);
    if (!recorded) return recorded.error();
    first = recorded.value();
    if (!first) return {};
    return fn(tx);
  });
  if (!done) return done.error();
  return first;
}

}  // namespace orderflow::messaging
