#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "orderflow/common/clock.h"
#include "orderflow/storage/database.h"

namespace orderflow::storage {
namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations("
    "component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, "
    "applied_at TEXT NOT NULL, PRIMARY KEY(component, version))";

// Instances of a service that start together migrate one at a time: on PostgreSQL every
// migration transaction first takes this transaction-scoped advisory lock (released at its
// COMMIT or ROLLBACK), so the re-check of schema_migrations below sees the others' commits.
// (CREATE TABLE IF NOT EXISTS itself is not safe against a concurrent twin on PostgreSQL.)
// SQLite serialises writers anyway.
constexpr std::int64_t kMigrationLockKey = 0x6f72646572666c6f;  // "orderflo"

Result<void> lock_migrations(Tx& tx) {
  if (tx.dialect() != Dialect::kPostgres) return {};
  auto r = tx.query("SELECT pg_advisory_xact_lock(?)", {kMigrationLockKey});
  if (!r) return r.error();
  return {};
}

[[noreturn]] void fail(std::string_view component, const std::string& what) {
  throw std::runtime_error("migrate " + std::string(component) + ": " + what);
}

}  // namespace

void migrate(Database& db, std::string_view component, std::span<const Migration> migrations) {
  std::vector<const Migration*> ordered;
  ordered.reserve(migrations.size());
  for (const auto& m : migrations) ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(),
            [](const Migration* a, const Migration* b) { return a->version < b->version; });
  for (std::size_t i = 1; i < ordered.size(); ++i) {
    if (ordered[i]->version == ordered[i - 1]->version) {
      fail(component, "duplicate version " + std::to_string(ordered[i]->version));
    }
  }

  auto created = db.write([](Tx& tx) -> Result<void> {
    if (auto r = lock_migrations(tx); !r) return r.error();
    if (auto r = tx.exec(kCreateTable); !r) return r.error();
    return {};
  });
  if (!created) fail(component, "cannot create schema_migrations: " + created.error().message);

  // Read first so a restart with nothing to do takes no write lock per migration.
  std::set<std::int64_t> applied;
  auto loaded = db.read([&](Tx& tx) -> Result<void> {
    auto rows = tx.query("SELECT version FROM schema_migrations WHERE component = ?",
                         {std::string(component)});
    if (!rows) return rows.error();
    for (const auto& row : *rows) applied.insert(row.integer(0));
    return {};
  });
  if (!loaded) fail(component, "cannot read schema_migrations: " + loaded.error().message);

  for (const Migration* m : ordered) {
    if (applied.contains(m->version)) continue;
    auto result = db.write([&](Tx& tx) -> Result<void> {
      // Re-checked under the write lock: another process may have migrated meanwhile.
      if (auto r = lock_migrations(tx); !r) return r.error();
      auto rows = tx.query("SELECT 1 FROM schema_migrations WHERE component = ? AND version = ?",
                           {std::string(component), std::int64_t{m->version}});
      if (!rows) return rows.error();
      if (!rows->empty()) return {};
      const std::string& sql =
          tx.dialect() == Dialect::kPostgres && !m->postgres_sql.empty() ? m->postgres_sql : m->sql;
      // Tx::exec without parameters runs every ';'-separated statement (SQLite walks the
      // prepare tail; a PostgreSQL adapter gets the same from the simple query protocol).
      if (auto r = tx.exec(sql); !r) return r.error();
      auto r = tx.exec(
          "INSERT INTO schema_migrations(component, version, name, applied_at) "
          "VALUES (?, ?, ?, ?)",
          {std::string(component), std::int64_t{m->version}, m->name,
           format_iso8601(std::chrono::system_clock::now())});
      if (!r) return r.error();
      return {};
    });
    if (!result) {
      fail(component, "version " + std::to_string(m->version) + " (" + m->name +
                          ") failed: " + result.error().message);
    }
  }
}

}  // namespace orderflow::storage
