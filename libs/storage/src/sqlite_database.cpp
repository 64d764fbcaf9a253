#include "sqlite_database.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "write_fn_scope.h"

namespace orderflow::storage::detail {
namespace {

// Bounds memory per connection; the hot path uses a handful of statements, so clearing the
// whole cache when it overflows (ad-hoc SQL) is cheaper than LRU bookkeeping.
constexpr std::size_t kMaxCachedStatements = 128;
constexpr std::size_t kMaxSqlInMessage = 200;

std::string sql_excerpt(std::string_view sql) {
  if (sql.size() <= kMaxSqlInMessage) return std::string(sql);
  return std::string(sql.substr(0, kMaxSqlInMessage)) + "...";
}

Error map_error(int rc, std::string_view detail, std::string_view sql) {
  std::string message = std::string(detail) + " (sqlite " + std::to_string(rc) + ")";
  if (!sql.empty()) message += " in: " + sql_excerpt(sql);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return unavailable("DB_UNAVAILABLE", std::move(message));
    case SQLITE_CONSTRAINT:
      return conflict("DB_CONSTRAINT", std::move(message));
    default:
      return internal_error("DB_ERROR", std::move(message));
  }
}

bool only_separators(const char* begin, const char* end) {
  return std::all_of(begin, end, [](char c) {
    return c == ';' || std::isspace(static_cast<unsigned char>(c)) != 0;
  });
}

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Returns a statement to its idle state so it holds no read lock and no borrowed bindings.
class StmtReset {
 public:
  explicit StmtReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StmtReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StmtReset(const StmtReset&) = delete;
  StmtReset& operator=(const StmtReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// One sqlite3 handle with its statement cache. Used by one thread at a time (the pool and the
// write group leadership guarantee it), hence SQLITE_OPEN_NOMUTEX.
class Connection {
 public:
  enum class Role { kWriter, kReader };

  Connection(const std::string& path, const StorageConfig& config, const std::string& synchronous,
             Role role) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      throw std::runtime_error("sqlite: cannot open " + path + ": " + message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, std::max(0, config.busy_timeout_ms));
    try {
      if (role == Role::kWriter) {
        // journal_mode is persistent in the file: setting it once on the writer covers readers.
        auto mode = query("PRAGMA journal_mode=WAL", {});
        if (!mode || mode->empty() || mode->front().text(0) != "wal") {
          throw std::runtime_error("sqlite: cannot enable WAL mode on " + path);
        }
      }
      pragma("PRAGMA synchronous=" + synchronous);
      pragma("PRAGMA foreign_keys=ON");
      // Read snapshots must never write: a write through read() would bypass write()'s
      // serialisation.
      if (role == Role::kReader) pragma("PRAGMA query_only=ON");
    } catch (...) {
      close();
      throw;
    }
  }

  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

  Result<std::int64_t> exec(std::string_view sql, const std::vector<Value>& params) {
    if (auto it = cache_.find(std::string(sql)); it != cache_.end()) {
      return run_exec(it->second, params, sql);
    }
    const char* end = sql.data() + sql.size();
    const char* tail = nullptr;
    auto first = prepare(sql, &tail, SQLITE_PREPARE_PERSISTENT);
    if (!first) return first.error();
    if (*first == nullptr) return std::int64_t{0};  // only comments or whitespace
    if (only_separators(tail, end)) return run_exec(cache(sql, *first), params, sql);

    // Several statements (migrations): run them one by one, uncached.
    StmtPtr stmt(*first);
    if (!params.empty()) {
      return internal_error("DB_ERROR",
                            "parameters given to several statements: " + sql_excerpt(sql));
    }
    std::int64_t changed = 0;
    while (stmt != nullptr) {
      auto r = run_exec(stmt.get(), {}, sql);
      if (!r) return r.error();
      changed += *r;
      std::string_view rest(tail, static_cast<std::size_t>(end - tail));
      auto next = prepare(rest, &tail, 0);
      if (!next) return next.error();
      stmt.reset(*next);
    }
    return changed;
  }

  Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params) {
    auto stmt = cached_statement(sql);
    if (!stmt) return stmt.error();
    sqlite3_stmt* s = *stmt;
    StmtReset reset(s);
    if (auto b = bind(s, params, sql); !b) return b.error();
    std::vector<Row> rows;
    const int columns = sqlite3_column_count(s);
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      std::vector<Value> values;
      values.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) values.push_back(column(s, c));
      rows.emplace_back(std::move(values));
    }
    if (rc != SQLITE_DONE) return map_error(rc, sqlite3_errmsg(db_), sql);
    return rows;
  }

  /// Ends a transaction that must not commit; errors are moot (SQLite may have rolled back).
  void rollback_quietly() {
    if (in_transaction()) (void)exec("ROLLBACK", {});
  }

 private:
  void pragma(const std::string& sql) {
    // PRAGMA may return a row (e.g. the new value); query() accepts both.
    if (auto r = query(sql, {}); !r) {
      throw std::runtime_error("sqlite: " + sql + " failed: " + r.error().message);
    }
  }

  void close() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    cache_.clear();
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  Result<sqlite3_stmt*> prepare(std::string_view sql, const char** tail, unsigned flags) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &stmt, tail);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return map_error(rc, sqlite3_errmsg(db_), sql);
    }
    return stmt;
  }

  sqlite3_stmt* cache(std::string_view sql, sqlite3_stmt* stmt) {
    if (cache_.size() >= kMaxCachedStatements) {
      for (auto& [text, cached] : cache_) sqlite3_finalize(cached);
      cache_.clear();
    }
    cache_.emplace(std::string(sql), stmt);
    return stmt;
  }

  Result<sqlite3_stmt*> cached_statement(std::string_view sql) {
    if (auto it = cache_.find(std::string(sql)); it != cache_.end()) return it->second;
    const char* tail = nullptr;
    auto stmt = prepare(sql, &tail, SQLITE_PREPARE_PERSISTENT);
    if (!stmt) return stmt.error();
    if (*stmt == nullptr) return internal_error("DB_ERROR", "empty SQL");
    if (!only_separators(tail, sql.data() + sql.size())) {
      sqlite3_finalize(*stmt);
      return internal_error("DB_ERROR", "query takes one statement: " + sql_excerpt(sql));
    }
    return cache(sql, *stmt);
  }

  Result<std::int64_t> run_exec(sqlite3_stmt* s, const std::vector<Value>& params,
                                std::string_view sql) {
    StmtReset reset(s);
    if (auto b = bind(s, params, sql); !b) return b.error();
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return map_error(rc, sqlite3_errmsg(db_), sql);
    // sqlite3_changes64 keeps the count of the last *modifying* statement, so a SELECT or a
    // BEGIN would report a stale number.
    return sqlite3_stmt_readonly(s) != 0 ? std::int64_t{0} : sqlite3_changes64(db_);
  }

  Result<void> bind(sqlite3_stmt* s, const std::vector<Value>& params, std::string_view sql) {
    const int expected = sqlite3_bind_parameter_count(s);
    if (expected != static_cast<int>(params.size())) {
      return internal_error("DB_ERROR", "statement takes " + std::to_string(expected) +
                                            " parameters, got " + std::to_string(params.size()) +
                                            ": " + sql_excerpt(sql));
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      int rc = std::visit(
          [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              return sqlite3_bind_null(s, index);
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
              return sqlite3_bind_int64(s, index, v);
            } else if constexpr (std::is_same_v<T, double>) {
              return sqlite3_bind_double(s, index, v);
            } else {
              return sqlite3_bind_text64(s, index, v.data(), v.size(), SQLITE_TRANSIENT,
                                         SQLITE_UTF8);
            }
          },
          params[i]);
      if (rc != SQLITE_OK) return map_error(rc, sqlite3_errmsg(db_), sql);
    }
    return {};
  }

  static Value column(sqlite3_stmt* s, int c) {
    switch (sqlite3_column_type(s, c)) {
      case SQLITE_INTEGER:
        return std::int64_t{sqlite3_column_int64(s, c)};
      case SQLITE_FLOAT:
        return sqlite3_column_double(s, c);
      case SQLITE_TEXT: {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
        return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(s, c)));
      }
      case SQLITE_BLOB: {
        const auto* blob = static_cast<const char*>(sqlite3_column_blob(s, c));
        auto size = static_cast<std::size_t>(sqlite3_column_bytes(s, c));
        return blob == nullptr ? std::string() : std::string(blob, size);
      }
      default:
        return std::monostate{};
    }
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

class SqliteTx final : public Tx {
 public:
  explicit SqliteTx(Connection& connection) : connection_(connection) {}
  Result<std::int64_t> exec(std::string_view sql, const std::vector<Value>& params) override {
    return connection_.exec(sql, params);
  }
  Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params) override {
    return connection_.query(sql, params);
  }
  [[nodiscard]] Dialect dialect() const override { return Dialect::kSqlite; }

 private:
  Connection& connection_;
};

// One write() waiting for its group to commit. Lives on the caller's stack; the leader fills
// in the outcome, then sets `done` under the queue mutex.
struct WriteRequest {
  WriteRequest(const Database::TxFn& f, bool d) : fn(f), durable(d) {}
  const Database::TxFn& fn;
  bool durable;                  // false: write_relaxed()
  Result<void> result;           // fn's error, or the group's (BEGIN, COMMIT, abort)
  std::exception_ptr exception;  // what fn threw; rethrown in the caller's thread
  bool done = false;
  std::condition_variable wake;  // done, or leadership is free
};

// Bounds one transaction (and the latency of its first request); larger backlogs form the
// next groups.
constexpr std::size_t kMaxGroupSize = 256;
// One name for every group member: each is released before the next begins, and a constant
// text keeps the statements in the cache.
constexpr std::string_view kSavepoint = "SAVEPOINT orderflow_group";
constexpr std::string_view kRollbackToSavepoint = "ROLLBACK TO orderflow_group";
constexpr std::string_view kReleaseSavepoint = "RELEASE orderflow_group";

Error tx_aborted() { return unavailable("DB_TX_ABORTED", "sqlite rolled the transaction back"); }

std::string normalize_synchronous(const std::string& value) {
  std::string upper = value;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (upper != "FULL" && upper != "NORMAL") {
    throw std::runtime_error("storage.sqlite_synchronous must be FULL or NORMAL, got '" + value +
                             "'");
  }
  return upper;
}

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(const StorageConfig& config)
      : config_(config), synchronous_(normalize_synchronous(config.sqlite_synchronous)) {
    const std::string& path = config_.sqlite_path;
    // One shared file is what lets several connections see each other's commits.
    if (path.empty() || path == ":memory:" || path.find("mode=memory") != std::string::npos) {
      throw std::runtime_error("storage.sqlite_path must be a file path (':memory:' is refused)");
    }
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        throw std::runtime_error("sqlite: cannot create directory " + parent.string() + ": " +
                                 ec.message());
      }
    }
    writer_ = std::make_unique<Connection>(path, config_, synchronous_, Connection::Role::kWriter);
    pool_limit_ = std::max(1, config_.pool_size);
  }

  // Group commit, leader/follower: the caller that finds no leader runs every pending request
  // (its own among them, unless the cap leaves it for the next group) in one transaction, then
  // hands leadership to the oldest request still pending.
  Result<void> write(const TxFn& fn) override { return enqueue(fn, true); }
  Result<void> write_relaxed(const TxFn& fn) override { return enqueue(fn, false); }

  Result<void> enqueue(const TxFn& fn, bool durable) {
    // fn of this database is running on this thread: waiting for a group would wait for
    // itself, so the nested fn joins its transaction.
    if (Tx* outer = WriteFnScope::current(this)) return run_nested(this, *outer, fn);
    WriteRequest request(fn, durable);
    std::unique_lock lock(queue_mu_);
    pending_.push_back(&request);
    while (!request.done) {
      if (leading_) {
        request.wake.wait(lock, [&] { return request.done || !leading_; });
        continue;
      }
      const auto n = static_cast<std::ptrdiff_t>(std::min(pending_.size(), kMaxGroupSize));
      std::vector<WriteRequest*> group(pending_.begin(), pending_.begin() + n);
      pending_.erase(pending_.begin(), pending_.begin() + n);
      leading_ = true;
      lock.unlock();
      const std::size_t ran = run_group(group);
      lock.lock();
      // Requests SQLite's own rollback kept from running go first into the next group.
      pending_.insert(pending_.begin(), group.begin() + static_cast<std::ptrdiff_t>(ran),
                      group.end());
      leading_ = false;
      // Notified under the lock: a woken caller returns and destroys its request.
      for (std::size_t i = 0; i < ran; ++i) {
        group[i]->done = true;
        group[i]->wake.notify_one();
      }
      if (!pending_.empty()) pending_.front()->wake.notify_one();
    }
    lock.unlock();
    if (request.exception) std::rethrow_exception(request.exception);
    return std::move(request.result);
  }

  Result<void> read(const TxFn& fn) override {
    // Inside a write() fn: read what that transaction wrote so far.
    if (Tx* outer = WriteFnScope::current(this)) return run_nested(this, *outer, fn);
    auto lease = acquire_reader();
    if (!lease) return lease.error();
    ReaderLease guard(*this, std::move(*lease));
    // A reader never commits anything; ending with ROLLBACK just releases the snapshot.
    if (auto r = guard.connection().exec("BEGIN", {}); !r) return r.error();
    SqliteTx tx(guard.connection());
    Result<void> result;
    try {
      result = fn(tx);
    } catch (...) {
      guard.connection().rollback_quietly();
      throw;
    }
    guard.connection().rollback_quietly();
    return result;
  }

  Result<void> ping() override {
    auto lease = acquire_reader();
    if (!lease) return lease.error();
    ReaderLease guard(*this, std::move(*lease));
    auto r = guard.connection().query("SELECT 1", {});
    if (!r) return r.error();
    return {};
  }

  [[nodiscard]] Dialect dialect() const override { return Dialect::kSqlite; }

 private:
  class ReaderLease {
   public:
    ReaderLease(SqliteDatabase& db, std::unique_ptr<Connection> connection)
        : db_(db), connection_(std::move(connection)) {}
    ~ReaderLease() { db_.release_reader(std::move(connection_)); }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    Connection& connection() { return *connection_; }

   private:
    SqliteDatabase& db_;
    std::unique_ptr<Connection> connection_;
  };

  Result<std::unique_ptr<Connection>> acquire_reader() {
    std::unique_lock lock(pool_mu_);
    pool_cv_.wait(lock, [&] { return !idle_.empty() || opened_readers_ < pool_limit_; });
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    // Readers open lazily so an idle service keeps one handle; opening happens unlocked.
    ++opened_readers_;
    lock.unlock();
    try {
      return std::make_unique<Connection>(config_.sqlite_path, config_, synchronous_,
                                          Connection::Role::kReader);
    } catch (const std::exception& e) {
      lock.lock();
      --opened_readers_;
      pool_cv_.notify_one();
      return unavailable("DB_UNAVAILABLE", e.what());
    }
  }

  void release_reader(std::unique_ptr<Connection> connection) {
    {
      std::lock_guard lock(pool_mu_);
      idle_.push_back(std::move(connection));
    }
    pool_cv_.notify_one();
  }

  // Runs one group in one transaction: BEGIN IMMEDIATE, each fn under a savepoint (none for a
  // group of one, which runs exactly as a lone transaction), one COMMIT. Fills in every
  // request's outcome except for the tail it did not run because SQLite rolled the whole
  // transaction back; returns how many requests it settled (at least one). Does not throw.
  std::size_t run_group(const std::vector<WriteRequest*>& group) {
    Connection& connection = *writer_;
    try {
      // synchronous applies per commit: a group of relaxed writes only commits without the
      // fsync; set between transactions, where SQLite allows it.
      const bool durable =
          std::any_of(group.begin(), group.end(), [](const WriteRequest* r) { return r->durable; });
      const std::string& wanted = durable ? synchronous_ : kRelaxedSynchronous;
      if (wanted != writer_synchronous_) {
        auto r = connection.exec("PRAGMA synchronous=" + wanted, {});
        if (r) {
          writer_synchronous_ = wanted;
        } else if (durable) {
          // Committing a durable write without its fsync would break the promise of write().
          for (auto* request : group) request->result = r.error();
          return group.size();
        }
      }
      if (auto r = connection.exec("BEGIN IMMEDIATE", {}); !r) {
        for (auto* request : group) request->result = r.error();
        return group.size();
      }
      const bool savepoints = group.size() > 1;
      std::optional<Error> aborted;  // the transaction is gone: nothing of the group commits
      std::size_t ran = 0;
      bool any_ok = false;
      while (ran < group.size() && !aborted) {
        WriteRequest& request = *group[ran++];
        if (savepoints) {
          if (auto r = connection.exec(kSavepoint, {}); !r) {
            request.result = r.error();
            aborted = r.error();
            break;
          }
        }
        const bool ok = run_fn(connection, request);
        // IOERR, FULL or BUSY inside the transaction can make SQLite roll it back on its own;
        // fn may have ignored that error, and committing nothing must not look like success.
        if (!connection.in_transaction()) {
          aborted = tx_aborted();
          if (ok) request.result = *aborted;
          break;
        }
        if (ok) {
          any_ok = true;
          if (savepoints) {
            if (auto r = connection.exec(kReleaseSavepoint, {}); !r) {
              request.result = r.error();
              aborted = r.error();
            }
          }
        } else if (savepoints) {
          // Undo this fn only; the others' changes stay in the transaction.
          auto undone = connection.exec(kRollbackToSavepoint, {});
          if (undone) undone = connection.exec(kReleaseSavepoint, {});
          if (!undone) aborted = undone.error();
        }
      }
      std::optional<Error> group_error = aborted;
      if (!aborted && any_ok) {
        if (auto r = connection.exec("COMMIT", {}); !r) group_error = r.error();
      }
      if (group_error || !any_ok) connection.rollback_quietly();
      if (group_error) {
        for (std::size_t i = 0; i < ran; ++i) {
          WriteRequest& request = *group[i];
          if (request.result.ok() && !request.exception) request.result = *group_error;
        }
      }
      return ran;
    } catch (...) {
      // Only allocation failures get here (fn's exceptions are caught in run_fn); the
      // followers must still be released.
      connection.rollback_quietly();
      for (auto* request : group) {
        if (request->result.ok() && !request->exception) {
          request->result = internal_error("DB_WRITE_FAILED", "group commit failed");
        }
      }
      return group.size();
    }
  }

  // Runs one fn; true when it returned ok. Its error or exception goes into the request.
  bool run_fn(Connection& connection, WriteRequest& request) {
    SqliteTx tx(connection);
    WriteFnScope scope(this, tx);
    try {
      auto r = request.fn(tx);
      if (r) return true;
      request.result = std::move(r);
    } catch (...) {
      request.exception = std::current_exception();
    }
    return false;
  }

  StorageConfig config_;
  std::string synchronous_;
  inline static const std::string kRelaxedSynchronous = "NORMAL";
  std::string writer_synchronous_ = synchronous_;  // the writer connection's current setting
  int pool_limit_ = 1;
  // Declared before the pool so it is closed last: the last connection checkpoints the WAL.
  std::unique_ptr<Connection> writer_;
  // Write group queue; run_group uses writer_ without it (only the leader touches writer_).
  std::mutex queue_mu_;
  std::deque<WriteRequest*> pending_;
  bool leading_ = false;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int opened_readers_ = 0;
};

}  // namespace

std::unique_ptr<Database> open_sqlite_database(const StorageConfig& config) {
  return std::make_unique<SqliteDatabase>(config);
}

}  // namespace orderflow::storage::detail
