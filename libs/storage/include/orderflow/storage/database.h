#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "orderflow/common/result.h"

namespace orderflow::storage {

/// A bound parameter or a column value. Text is UTF-8. Money is stored as text (Decimal).
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

/// One result row; columns by position in the SELECT list.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  [[nodiscard]] std::size_t size() const { return values_.size(); }
  [[nodiscard]] bool is_null(std::size_t i) const;
  /// Integer column (throws std::logic_error on a type mismatch: a bug in the query).
  [[nodiscard]] std::int64_t integer(std::size_t i) const;
  /// Text column; NULL gives "".
  [[nodiscard]] std::string text(std::size_t i) const;
  [[nodiscard]] std::optional<std::string> optional_text(std::size_t i) const;
  [[nodiscard]] const Value& value(std::size_t i) const { return values_.at(i); }

 private:
  std::vector<Value> values_;
};

enum class Dialect { kSqlite, kPostgres };

/// Row-lock clause to append to a SELECT inside write() whose rows the transaction is about to
/// change from what it read: " FOR UPDATE" on PostgreSQL, whose write transactions run
/// concurrently at READ COMMITTED (a second one blocks there until the first commits, then
/// reads the committed row); "" on SQLite, whose writers are serialised anyway.
inline std::string_view for_update(Dialect dialect) {
  return dialect == Dialect::kPostgres ? " FOR UPDATE" : "";
}

/// A transaction in progress. SQL uses `?` placeholders on every backend (the PostgreSQL
/// adapter rewrites them to $n) and the common subset of SQLite and PostgreSQL
/// (INSERT … ON CONFLICT DO NOTHING, RETURNING). Not thread-safe: one thread uses a Tx.
/// Errors: kUnavailable for busy/locked/connection loss (retryable), kConflict for a
/// constraint violation, kInternal for SQL errors (a bug).
class Tx {
 public:
  virtual ~Tx() = default;
  /// Runs a statement; returns the number of rows changed.
  virtual Result<std::int64_t> exec(std::string_view sql,
                                    const std::vector<Value>& params = {}) = 0;
  /// Runs a query; returns all rows.
  virtual Result<std::vector<Row>> query(std::string_view sql,
                                         const std::vector<Value>& params = {}) = 0;
  [[nodiscard]] virtual Dialect dialect() const = 0;
};

/// Configuration of the storage port (config section `storage`).
struct StorageConfig {
  std::string backend = "sqlite";  ///< sqlite | postgres
  std::string sqlite_path;         ///< file path; ":memory:" is refused (pool needs one file)
  std::string sqlite_synchronous = "FULL";  ///< FULL | NORMAL (WAL mode always)
  int busy_timeout_ms = 5000;
  /// SQLite: reader connections (writes are serialised, group commit). PostgreSQL: all
  /// connections, each running one read() or write() at a time.
  int pool_size = 4;
  /// libpq connection URI or key=value string, used when backend=postgres. The password may
  /// come from PGPASSWORD or ~/.pgpass instead (libpq reads them).
  std::string postgres_url;
  std::string application_name;  ///< shown in pg_stat_activity (the service's name)
};

/// A service's database: a small connection pool. Thread-safe.
class Database {
 public:
  using TxFn = std::function<Result<void>(Tx&)>;
  virtual ~Database() = default;
  /// Runs fn in a write transaction. Commits fn's changes when it returns ok, rolls them back
  /// when it returns an error or throws (the exception propagates to the caller of write()).
  /// Returns fn's error or the commit's error; ok means committed, durable per
  /// `sqlite_synchronous` (FULL: on disk).
  ///
  /// SQLite: concurrent writes are committed together (group commit), one BEGIN IMMEDIATE,
  /// COMMIT and fsync per group; a group of one runs as a plain transaction. Each fn is
  /// isolated by a savepoint: one failing or throwing leaves the others of its group
  /// unaffected, and through its Tx a fn sees the changes of those that ran before it in the
  /// group. A failed COMMIT (or SQLite rolling the transaction back) fails every fn of the
  /// group that had succeeded. fn may run on another thread than the caller's (which waits
  /// meanwhile): callers must not rely on thread-locals or the thread's identity in fn, nor
  /// call write() while holding a lock that some write's fn takes.
  ///
  /// Nested: write(), write_relaxed() or read() called from inside fn on the same Database (and
  /// the thread fn runs on) run in fn's transaction under a savepoint: released when the inner
  /// fn returns ok, rolled back to when it fails or throws, so only its own changes are undone;
  /// they commit (durably or not) with the outer transaction. A batch of records handled in one
  /// transaction relies on this (messaging::BatchTransaction).
  ///
  /// PostgreSQL: each write() is its own READ COMMITTED transaction on a pooled connection,
  /// on the caller's thread, concurrent with other writes of this and other processes: a fn
  /// that changes rows according to what it read locks them (for_update()) or updates
  /// conditionally. After a failed statement the transaction is aborted: fn must return the
  /// error (use ON CONFLICT instead of catching a constraint error). 40001, 40P01, connection
  /// loss and a server shutting down are kUnavailable; the connection is replaced.
  virtual Result<void> write(const TxFn& fn) = 0;
  /// write() for changes that may be lost in an OS crash or power cut because redoing them is
  /// harmless (the outbox relay's "published" marks: a lost mark only republishes an event,
  /// which consumers dedupe). SQLite: the group's commit skips the fsync when every fn in it
  /// is relaxed (synchronous=NORMAL for that commit); the next durable commit's fsync covers
  /// it. A process crash loses nothing either way. Same errors and threading as write().
  /// PostgreSQL: the transaction commits with synchronous_commit off.
  virtual Result<void> write_relaxed(const TxFn& fn) { return write(fn); }
  /// Runs fn in a read-only snapshot (PostgreSQL: REPEATABLE READ READ ONLY).
  virtual Result<void> read(const TxFn& fn) = 0;
  /// Cheap liveness probe for /health/ready.
  virtual Result<void> ping() = 0;
  [[nodiscard]] virtual Dialect dialect() const = 0;
};

/// Opens the configured backend. Throws std::runtime_error when it cannot (startup failure).
std::unique_ptr<Database> open_database(const StorageConfig& config);

/// One schema step. `sql` runs on every backend unless a dialect-specific text is given.
/// Several statements may be separated by ';'.
struct Migration {
  int version = 0;
  std::string name;
  std::string sql;
  std::string postgres_sql;  ///< when non-empty, used instead of `sql` on PostgreSQL
};

/// Applies, in version order, the migrations of `component` ("order", "outbox", "inbox", …)
/// not yet recorded in table schema_migrations(component, version, name, applied_at), each in
/// its own transaction. Idempotent. Throws std::runtime_error on failure (startup failure).
void migrate(Database& db, std::string_view component, std::span<const Migration> migrations);

}  // namespace orderflow::storage
