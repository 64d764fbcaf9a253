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
  int pool_size = 4;         ///< connections (readers); writes are serialised
  std::string postgres_url;  ///< libpq connection string, used when backend=postgres
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
  /// call write() while holding a lock that some write's fn takes. write() from inside fn on
  /// the same Database returns kInternal DB_NESTED_WRITE instead of deadlocking.
  virtual Result<void> write(const TxFn& fn) = 0;
  /// write() for changes that may be lost in an OS crash or power cut because redoing them is
  /// harmless (the outbox relay's "published" marks: a lost mark only republishes an event,
  /// which consumers dedupe). SQLite: the group's commit skips the fsync when every fn in it
  /// is relaxed (synchronous=NORMAL for that commit); the next durable commit's fsync covers
  /// it. A process crash loses nothing either way. Same errors and threading as write().
  /// Backends without the distinction make it write().
  virtual Result<void> write_relaxed(const TxFn& fn) { return write(fn); }
  /// Runs fn in a read-only snapshot.
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
