#include "db_probe.h"

#include <sqlite3.h>

#include <stdexcept>
#include <vector>

namespace orderflow::bench {

namespace {

class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) fail("open");
  }
  ~Db() {
    for (auto* s : statements_) sqlite3_finalize(s);
    sqlite3_close(db_);
  }
  void exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
  }
  sqlite3_stmt* prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) fail(sql);
    statements_.push_back(s);
    return s;
  }
  void step(sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    while (rc == SQLITE_ROW) rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) fail("step");
    sqlite3_reset(s);
  }
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("sqlite baseline: " + what + ": " + sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> statements_;
};

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

}  // namespace

DbBaselineResult run_db_baseline(const std::string& path, const std::string& synchronous,
                                 std::chrono::milliseconds duration) {
  Db db(path);
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=" + synchronous);
  db.exec(
      "CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL,"
      " status TEXT NOT NULL, total_amount TEXT NOT NULL, currency TEXT NOT NULL,"
      " created_at_ms INTEGER NOT NULL);"
      "CREATE TABLE order_items (order_id INTEGER NOT NULL, line INTEGER NOT NULL,"
      " sku TEXT NOT NULL, quantity INTEGER NOT NULL, unit_price TEXT NOT NULL,"
      " PRIMARY KEY (order_id, line));"
      "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
      " record_key TEXT NOT NULL, value TEXT NOT NULL, headers TEXT NOT NULL,"
      " created_at TEXT NOT NULL, sent_at TEXT NULL);"
      "CREATE INDEX outbox_unsent ON outbox(id) WHERE sent_at IS NULL");
  auto* begin = db.prepare("BEGIN IMMEDIATE");
  auto* commit = db.prepare("COMMIT");
  auto* order = db.prepare(
      "INSERT INTO orders (user_id, status, total_amount, currency, created_at_ms)"
      " VALUES ('42', 'PENDING', '12900', 'KRW', 1) RETURNING id");
  auto* item = db.prepare(
      "INSERT INTO order_items (order_id, line, sku, quantity, unit_price)"
      " VALUES (?, 0, 'BENCH-1', 1, '12900')");
  auto* outbox = db.prepare(
      "INSERT INTO outbox (topic, record_key, value, headers, created_at)"
      " VALUES ('orders.v1', ?, ?, '{}', '2026-01-01T00:00:00Z')");
  const std::string value(600, 'x');
  DbBaselineResult result;
  result.synchronous = synchronous;
  auto start = std::chrono::steady_clock::now();
  auto end = start + duration;
  std::int64_t id = 0;
  while (std::chrono::steady_clock::now() < end) {
    db.step(begin);
    if (sqlite3_step(order) != SQLITE_ROW) db.fail("insert order");
    id = sqlite3_column_int64(order, 0);
    db.step(order);
    sqlite3_bind_int64(item, 1, id);
    db.step(item);
    bind_text(outbox, 1, std::to_string(id));
    bind_text(outbox, 2, value);
    db.step(outbox);
    db.step(commit);
    ++result.commits;
  }
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.commits_per_s = static_cast<double>(result.commits) / elapsed;
  return result;
}

nlohmann::json to_json(const DbBaselineResult& r) {
  return {{"commitsPerS", r.commits_per_s}, {"commits", r.commits}, {"synchronous", r.synchronous}};
}

}  // namespace orderflow::bench
