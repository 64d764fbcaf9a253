#include "postgres_database.h"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
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

// Same bound as the SQLite adapter: the hot path uses a handful of statements.
constexpr std::size_t kMaxCachedStatements = 128;
constexpr std::size_t kMaxSqlInMessage = 200;
// A caller waits this long for a pooled connection before its call fails as retryable.
constexpr auto kPoolWait = std::chrono::seconds(30);
// Defaults a URL may override (libpq: later keywords win, the URL comes last).
constexpr const char* kDefaultConnectTimeoutS = "5";
constexpr const char* kDefaultKeepalivesIdleS = "30";
constexpr const char* kDefaultKeepalivesIntervalS = "10";
constexpr const char* kDefaultKeepalivesCount = "3";

// Type OIDs of pg_type.h (server headers are not part of libpq-dev).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

std::string sql_excerpt(std::string_view sql) {
  if (sql.size() <= kMaxSqlInMessage) return std::string(sql);
  return std::string(sql.substr(0, kMaxSqlInMessage)) + "...";
}

std::string trimmed(const char* text) {
  std::string s = text == nullptr ? "" : text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.pop_back();
  return s;
}

bool retryable_sqlstate(std::string_view state) {
  // 40001 serialization failure, 40P01 deadlock, class 08 connection exceptions, 57P0x the
  // server shutting down or starting, 53300 too many connections, 55P03 lock not available.
  return state == "40001" || state == "40P01" || state.starts_with("08") ||
         state.starts_with("57P") || state == "53300" || state == "55P03";
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// More than one statement: a ';' followed by anything but whitespace or further ';'.
bool several_statements(std::string_view sql) {
  auto pos = sql.find(';');
  while (pos != std::string_view::npos) {
    auto rest = sql.substr(pos + 1);
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) return true;
    pos = sql.find(';', pos + 1);
  }
  return false;
}

std::string param_text(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return {};
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(x);
        } else if constexpr (std::is_same_v<T, double>) {
          std::array<char, 32> buf{};
          std::snprintf(buf.data(), buf.size(), "%.17g", x);
          return buf.data();
        } else {
          return x;
        }
      },
      v);
}

// Text-format column to the port's Value: integers (and booleans, as 0/1) as int64, floats as
// double, a NUMERIC without a fraction (SUM of integers) as int64, everything else as text.
Value column(const PGresult* r, int row, int c) {
  if (PQgetisnull(r, row, c) != 0) return std::monostate{};
  const char* text = PQgetvalue(r, row, c);
  const auto length = static_cast<std::size_t>(PQgetlength(r, row, c));
  const Oid type = PQftype(r, c);
  switch (type) {
    case kBoolOid:
      return std::int64_t{text[0] == 't' ? 1 : 0};
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
    case kNumericOid: {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(text, text + length, n);
      if (ec == std::errc() && end == text + length) return n;
      if (type != kNumericOid) return std::string(text, length);
      return std::strtod(text, nullptr);
    }
    case kFloat4Oid:
    case kFloat8Oid:
      return std::strtod(text, nullptr);
    default:
      return std::string(text, length);
  }
}

// One libpq connection with its prepared statements. Used by one thread at a time (the pool
// guarantees it).
class Connection {
 public:
  explicit Connection(const StorageConfig& config) {
    const std::string application =
        config.application_name.empty() ? "orderflow" : config.application_name;
    // Defaults first: libpq lets later keywords win, so the URL (dbname, expanded) overrides
    // them. Keepalives find a server that vanished without closing the socket in ~1 min
    // instead of the kernel's 2 h.
    const std::array<const char*, 7> keys{"connect_timeout",
                                          "keepalives_idle",
                                          "keepalives_interval",
                                          "keepalives_count",
                                          "application_name",
                                          "dbname",
                                          nullptr};
    const std::array<const char*, 7> values{kDefaultConnectTimeoutS,
                                            kDefaultKeepalivesIdleS,
                                            kDefaultKeepalivesIntervalS,
                                            kDefaultKeepalivesCount,
                                            application.c_str(),
                                            config.postgres_url.c_str(),
                                            nullptr};
    conn_ = PQconnectdbParams(keys.data(), values.data(), 1);
    if (conn_ == nullptr) throw std::bad_alloc();
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string message = trimmed(PQerrorMessage(conn_));
      PQfinish(conn_);
      conn_ = nullptr;
      throw std::runtime_error("postgres: cannot connect: " + message);
    }
    // NOTICEs (e.g. "relation already exists, skipping") would go to stderr unstructured.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~Connection() {
    if (conn_ != nullptr) PQfinish(conn_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Broken connections are dropped by the pool instead of being reused.
  [[nodiscard]] bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  [[nodiscard]] bool in_transaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }

  // Simple-protocol statement(s) without parameters: BEGIN/COMMIT and migrations.
  Result<std::int64_t> simple(std::string_view sql) {
    ResultPtr r(PQexec(conn_, std::string(sql).c_str()));
    if (auto e = check(r.get(), sql); e) return *e;
    return changed_rows(r.get());
  }

  Result<std::int64_t> exec(std::string_view sql, const std::vector<Value>& params) {
    if (params.empty() && several_statements(sql)) return simple(sql);
    auto r = run(sql, params);
    if (!r) return r.error();
    return changed_rows(r->get());
  }

  Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params) {
    auto r = run(sql, params);
    if (!r) return r.error();
    const PGresult* res = r->get();
    const int rows = PQntuples(res);
    const int columns = PQnfields(res);
    std::vector<Row> out;
    out.reserve(static_cast<std::size_t>(rows));
    for (int i = 0; i < rows; ++i) {
      std::vector<Value> values;
      values.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) values.push_back(column(res, i, c));
      out.emplace_back(std::move(values));
    }
    return out;
  }

  /// COMMIT; a transaction that an earlier failed statement aborted answers ROLLBACK, which
  /// must not pass for a commit.
  Result<void> commit() {
    ResultPtr r(PQexec(conn_, "COMMIT"));
    if (auto e = check(r.get(), "COMMIT"); e) return *e;
    if (std::string_view(PQcmdStatus(r.get())) != "COMMIT") {
      return unavailable("DB_TX_ABORTED", "postgres rolled the transaction back");
    }
    return {};
  }

  /// Ends a transaction that must not commit; errors are moot (the connection may be gone).
  void rollback_quietly() {
    if (conn_ != nullptr && !broken() && in_transaction()) (void)simple("ROLLBACK");
  }

 private:
  Result<ResultPtr> run(std::string_view sql, const std::vector<Value>& params) {
    auto statement = prepared(sql);
    if (!statement) return statement.error();
    // Checked here: the server reports a wrong count as a protocol violation (class 08),
    // which would pass for a lost connection.
    if (statement->parameters != params.size()) {
      return internal_error("DB_ERROR", "statement takes " + std::to_string(statement->parameters) +
                                            " parameters, got " + std::to_string(params.size()) +
                                            ": " + sql_excerpt(sql));
    }
    std::vector<std::string> texts;
    texts.reserve(params.size());
    std::vector<const char*> pointers;
    pointers.reserve(params.size());
    for (const auto& p : params) texts.push_back(param_text(p));
    for (std::size_t i = 0; i < params.size(); ++i) {
      pointers.push_back(std::holds_alternative<std::monostate>(params[i]) ? nullptr
                                                                           : texts[i].c_str());
    }
    ResultPtr r(PQexecPrepared(conn_, statement->name.c_str(), static_cast<int>(params.size()),
                               pointers.data(), nullptr, nullptr, 0));
    if (auto e = check(r.get(), sql); e) {
      // A statement the server no longer knows (e.g. after DISCARD ALL) is prepared again on
      // the next call.
      if (e->code == "DB_ERROR") statements_.erase(std::string(sql));
      return *e;
    }
    return r;
  }

  struct Statement {
    std::string name;
    std::size_t parameters = 0;
  };

  Result<Statement> prepared(std::string_view sql) {
    std::string key(sql);
    if (auto it = statements_.find(key); it != statements_.end()) return it->second;
    if (statements_.size() >= kMaxCachedStatements) {
      ResultPtr cleared(PQexec(conn_, "DEALLOCATE ALL"));
      if (auto e = check(cleared.get(), "DEALLOCATE ALL"); e) return *e;
      statements_.clear();
    }
    Statement statement{"of" + std::to_string(next_statement_++), 0};
    std::string text = rewrite_placeholders(sql, &statement.parameters);
    ResultPtr r(PQprepare(conn_, statement.name.c_str(), text.c_str(), 0, nullptr));
    if (auto e = check(r.get(), sql); e) return *e;
    statements_.emplace(std::move(key), statement);
    return statement;
  }

  static std::int64_t changed_rows(const PGresult* r) {
    // A SELECT reports its row count here; the port counts changed rows only (as SQLite).
    if (PQresultStatus(r) == PGRES_TUPLES_OK) return 0;
    const char* count = PQcmdTuples(const_cast<PGresult*>(r));
    if (count == nullptr || *count == '\0') return 0;
    std::int64_t n = 0;
    std::from_chars(count, count + std::char_traits<char>::length(count), n);
    return n;
  }

  // The error of a failed call, classified by SQLSTATE; nullopt when it succeeded.
  std::optional<Error> check(const PGresult* r, std::string_view sql) const {
    const ExecStatusType status = r == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(r);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
      return std::nullopt;
    }
    const char* state_field = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
    std::string state = state_field == nullptr ? "" : state_field;
    std::string message = trimmed(r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
    if (message.empty()) message = trimmed(PQerrorMessage(conn_));
    message += " (postgres" + (state.empty() ? std::string() : " " + state) + ")";
    if (!sql.empty()) message += " in: " + sql_excerpt(sql);
    // No SQLSTATE: libpq itself failed (the server went away, the socket broke).
    if (state.empty() || broken() || retryable_sqlstate(state)) {
      return unavailable("DB_UNAVAILABLE", std::move(message));
    }
    if (state.starts_with("23")) return conflict("DB_CONSTRAINT", std::move(message));
    return internal_error("DB_ERROR", std::move(message));
  }

  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, Statement> statements_;
  std::uint64_t next_statement_ = 1;
};

class PostgresTx final : public Tx {
 public:
  explicit PostgresTx(Connection& connection) : connection_(connection) {}
  Result<std::int64_t> exec(std::string_view sql, const std::vector<Value>& params) override {
    return connection_.exec(sql, params);
  }
  Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params) override {
    return connection_.query(sql, params);
  }
  [[nodiscard]] Dialect dialect() const override { return Dialect::kPostgres; }

 private:
  Connection& connection_;
};

class PostgresDatabase final : public Database {
 public:
  explicit PostgresDatabase(const StorageConfig& config)
      : config_(config), pool_limit_(std::max(1, config.pool_size)) {
    if (config_.postgres_url.empty()) {
      throw std::runtime_error("storage.postgres.url is empty");
    }
    // Fails start-up now, with the server's reason, rather than at the first request.
    idle_.push_back(std::make_unique<Connection>(config_));
    opened_ = 1;
  }

  Result<void> write(const TxFn& fn) override { return transaction(fn, kWrite); }
  Result<void> write_relaxed(const TxFn& fn) override { return transaction(fn, kRelaxed); }
  Result<void> read(const TxFn& fn) override { return transaction(fn, kRead); }

  Result<void> ping() override {
    return read([](Tx& tx) -> Result<void> {
      auto r = tx.query("SELECT 1");
      if (!r) return r.error();
      return {};
    });
  }

  [[nodiscard]] Dialect dialect() const override { return Dialect::kPostgres; }

 private:
  enum Mode { kWrite, kRelaxed, kRead };

  class Lease {
   public:
    Lease(PostgresDatabase& db, std::unique_ptr<Connection> connection)
        : db_(db), connection_(std::move(connection)) {}
    ~Lease() { db_.release(std::move(connection_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Connection& connection() { return *connection_; }

   private:
    PostgresDatabase& db_;
    std::unique_ptr<Connection> connection_;
  };

  Result<void> transaction(const TxFn& fn, Mode mode) {
    // Inside a write() fn on this thread: join its transaction (a second one on another
    // connection could not see its changes and might wait for its locks).
    if (Tx* outer = WriteFnScope::current(this)) return run_nested(this, *outer, fn);
    auto lease = begin(mode);
    if (!lease) return lease.error();
    Lease guard(*this, std::move(*lease));
    Connection& connection = guard.connection();
    PostgresTx tx(connection);
    Result<void> result;
    try {
      std::optional<WriteFnScope> scope;
      if (mode != kRead) scope.emplace(this, tx);
      result = fn(tx);
    } catch (...) {
      connection.rollback_quietly();
      throw;
    }
    if (!result || mode == kRead) {
      connection.rollback_quietly();
      return result;
    }
    auto committed = connection.commit();
    if (!committed) connection.rollback_quietly();
    return committed;
  }

  // A pooled connection with a transaction begun. A connection the server dropped while it
  // sat idle in the pool (a restart) only shows at its next use: BEGIN has no effect yet, so
  // such a connection is discarded and the next one tried, and the caller sees the restart
  // only while the server is really down.
  Result<std::unique_ptr<Connection>> begin(Mode mode) {
    // read(): one snapshot for every query of fn. write(): READ COMMITTED; the repositories
    // serialise what must be serialised with row locks and conditional updates.
    const std::string_view begin =
        mode == kRead ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";
    for (int attempt = 0;; ++attempt) {
      auto connection = acquire();
      if (!connection) return connection.error();
      auto r = (*connection)->simple(begin);
      // The relaxed promise of write_relaxed(): a crash may lose the commit, never corrupt.
      if (r && mode == kRelaxed) r = (*connection)->simple("SET LOCAL synchronous_commit = off");
      if (r) return connection;
      const bool stale = (*connection)->broken() && attempt < pool_limit_;
      (*connection)->rollback_quietly();
      release(std::move(*connection));
      if (!stale) return r.error();
    }
  }

  Result<std::unique_ptr<Connection>> acquire() {
    std::unique_lock lock(pool_mu_);
    if (!pool_cv_.wait_for(lock, kPoolWait,
                           [&] { return !idle_.empty() || opened_ < pool_limit_; })) {
      return unavailable("DB_POOL_EXHAUSTED",
                         "no PostgreSQL connection free within 30 s (storage.pool_size " +
                             std::to_string(pool_limit_) + ")");
    }
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    // Opened lazily and outside the lock: connecting takes a round trip or a timeout.
    ++opened_;
    lock.unlock();
    try {
      return std::make_unique<Connection>(config_);
    } catch (const std::exception& e) {
      lock.lock();
      --opened_;
      pool_cv_.notify_one();
      return unavailable("DB_UNAVAILABLE", e.what());
    }
  }

  void release(std::unique_ptr<Connection> connection) {
    {
      std::lock_guard lock(pool_mu_);
      // A connection the server dropped (restart, network) is closed; the next caller opens a
      // fresh one, which is how the service recovers by itself.
      if (connection->broken() || connection->in_transaction()) {
        --opened_;
      } else {
        idle_.push_back(std::move(connection));
      }
    }
    pool_cv_.notify_one();
  }

  StorageConfig config_;
  int pool_limit_;
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int opened_ = 0;
};

}  // namespace

std::string rewrite_placeholders(std::string_view sql, std::size_t* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 1;
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      // A literal or quoted identifier; a doubled quote inside is an escaped quote and simply
      // closes and reopens it.
      auto end = sql.find(c, i + 1);
      end = end == std::string_view::npos ? sql.size() : end + 1;
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      auto end = sql.find('\n', i);
      end = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      auto end = sql.find("*/", i + 2);
      end = end == std::string_view::npos ? sql.size() : end + 2;
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '?') {
      out += '$';
      out += std::to_string(next++);
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  if (count != nullptr) *count = static_cast<std::size_t>(next - 1);
  return out;
}

std::unique_ptr<Database> open_postgres_database(const StorageConfig& config) {
  return std::make_unique<PostgresDatabase>(config);
}

}  // namespace orderflow::storage::detail
