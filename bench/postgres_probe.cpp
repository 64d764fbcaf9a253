#include "postgres_probe.h"

#include <libpq-fe.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace orderflow::bench {
namespace {

class Connection {
 public:
  explicit Connection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) fail("connect");
  }
  ~Connection() { PQfinish(conn_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void exec(const char* sql) { check(PQexec(conn_, sql), sql); }
  // The first column of the first row of `sql` ("" when none).
  std::string value(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string first = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0
                            ? std::string(PQgetvalue(r, 0, 0))
                            : std::string();
    check(r, sql.c_str());
    return first;
  }
  void prepare(const char* name, const char* sql) {
    check(PQprepare(conn_, name, sql, 0, nullptr), sql);
  }
  // Runs a prepared statement; returns the first column of its first row ("" when none).
  std::string run(const char* name, const std::vector<const char*>& params) {
    PGresult* r = PQexecPrepared(conn_, name, static_cast<int>(params.size()), params.data(),
                                 nullptr, nullptr, 0);
    std::string first = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0
                            ? std::string(PQgetvalue(r, 0, 0))
                            : std::string();
    check(r, name);
    return first;
  }

 private:
  void check(PGresult* r, const char* what) {
    const auto status = PQresultStatus(r);
    PQclear(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(what);
  }
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("postgres baseline: " + what + ": " + PQerrorMessage(conn_));
  }

  PGconn* conn_;
};

}  // namespace

DbBaselineResult run_postgres_baseline(const std::string& conninfo, int connections,
                                       std::chrono::milliseconds duration) {
  {
    Connection setup(conninfo);
    setup.exec(
        "DROP TABLE IF EXISTS orders, order_items, outbox;"
        "CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, user_id TEXT NOT NULL,"
        " status TEXT NOT NULL, total_amount TEXT NOT NULL, currency TEXT NOT NULL,"
        " created_at_ms BIGINT NOT NULL);"
        "CREATE TABLE order_items (order_id BIGINT NOT NULL, line INTEGER NOT NULL,"
        " sku TEXT NOT NULL, quantity BIGINT NOT NULL, unit_price TEXT NOT NULL,"
        " PRIMARY KEY (order_id, line));"
        "CREATE TABLE outbox (id BIGSERIAL PRIMARY KEY, topic TEXT NOT NULL,"
        " record_key TEXT NOT NULL, value TEXT NOT NULL, headers TEXT NOT NULL,"
        " created_at TEXT NOT NULL, sent_at TEXT NULL);"
        "CREATE INDEX outbox_unsent ON outbox(id) WHERE sent_at IS NULL");
  }
  std::atomic<std::int64_t> commits{0};
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + duration;
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(connections));
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&, t] {
      try {
        Connection db(conninfo);
        db.exec("SET synchronous_commit = on");
        db.prepare("begin", "BEGIN");
        db.prepare("commit", "COMMIT");
        db.prepare("order",
                   "INSERT INTO orders (user_id, status, total_amount, currency, created_at_ms)"
                   " VALUES ('42', 'PENDING', '12900', 'KRW', 1) RETURNING id");
        db.prepare("item",
                   "INSERT INTO order_items (order_id, line, sku, quantity, unit_price)"
                   " VALUES ($1, 0, 'BENCH-1', 1, '12900')");
        db.prepare("outbox",
                   "INSERT INTO outbox (topic, record_key, value, headers, created_at)"
                   " VALUES ('orders.v1', $1, $2, '{}', '2026-01-01T00:00:00Z')");
        const std::string value(600, 'x');
        while (std::chrono::steady_clock::now() < end) {
          db.run("begin", {});
          const std::string id = db.run("order", {});
          db.run("item", {id.c_str()});
          db.run("outbox", {id.c_str(), value.c_str()});
          db.run("commit", {});
          commits.fetch_add(1, std::memory_order_relaxed);
        }
      } catch (...) {
        errors[static_cast<std::size_t>(t)] = std::current_exception();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  DbBaselineResult result;
  result.synchronous = "synchronous_commit=on, " + std::to_string(connections) + " connections";
  result.commits = commits.load();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.commits_per_s = static_cast<double>(result.commits) / elapsed;
  return result;
}

std::map<std::string, std::string> postgres_settings(const std::string& conninfo,
                                                     const std::vector<std::string>& names) {
  Connection db(conninfo);
  std::map<std::string, std::string> out;
  // Names are ours (no user input): SHOW takes no parameters.
  for (const auto& name : names) out[name] = db.value("SHOW " + name);
  return out;
}

}  // namespace orderflow::bench
