// The storage port's contract, on both backends: every test runs as …/Sqlite (a temp file) and
// …/Postgres (a fresh database on the ctest run's PostgreSQL server, fixture postgres_server).
// Backend-specific behaviour: storage_sqlite_test.cpp (group commit, WAL, fsync levels) and
// the PostgresOnly suite at the end (SQLSTATE mapping, reconnect, advisory-locked migrations).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "orderflow/storage/database.h"
#include "orderflow/testing/row_count.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_database.h"
#include "storage_test_schema.h"

namespace orderflow::storage {
namespace {

using namespace orderflow::storage::test;  // NOLINT(google-build-using-namespace)
using orderflow::testing::DatabaseKind;
using orderflow::testing::TestDatabase;

bool table_exists(Database& db, const std::string& table) {
  return orderflow::testing::scalar(
             db,
             db.dialect() == Dialect::kPostgres
                 ? "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?"
                 : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
             {table}) != 0;
}

class DatabaseTest : public ::testing::TestWithParam<DatabaseKind> {
 protected:
  void SetUp() override {
    db_ = open_database(test_db_.storage_config());
    migrate(*db_, "test", kItemMigrations);
  }

  TestDatabase test_db_{GetParam()};
  std::unique_ptr<Database> db_;
};

TEST_P(DatabaseTest, OpensTheBackendOfItsKind) {
  EXPECT_EQ(db_->dialect(),
            GetParam() == DatabaseKind::kPostgres ? Dialect::kPostgres : Dialect::kSqlite);
  EXPECT_TRUE(db_->ping().ok());
}

TEST_P(DatabaseTest, MigrationsAreIdempotentAndPerComponent) {
  migrate(*db_, "test", kItemMigrations);
  migrate(*db_, "test", kItemMigrations);
  EXPECT_EQ(count_rows(*db_, "schema_migrations"), 2);
  EXPECT_EQ(count_rows(*db_, "counter"), 1);  // the seed INSERT ran exactly once

  // Given out of order, applied in version order: v2 depends on v1's table.
  const std::vector<Migration> other = {
      {.version = 2,
       .name = "seed",
       .sql = "INSERT INTO widgets(id) VALUES (7)",
       .postgres_sql = {}},
      {.version = 1,
       .name = "create",
       .sql = "CREATE TABLE widgets(id INTEGER)",
       .postgres_sql = {}},
  };
  migrate(*db_, "other", other);
  migrate(*db_, "other", other);
  EXPECT_EQ(count_rows(*db_, "widgets"), 1);
  EXPECT_EQ(count_rows(*db_, "schema_migrations"), 4);

  // A later release adds a step: only the new one runs.
  auto extended = kItemMigrations;
  extended.push_back(
      {.version = 3, .name = "bump", .sql = "UPDATE counter SET n = n + 100", .postgres_sql = {}});
  migrate(*db_, "test", extended);
  migrate(*db_, "test", extended);
  std::vector<Row> rows;
  ASSERT_TRUE(db_->read([&](Tx& tx) -> Result<void> {
                   auto r = tx.query(
                       "SELECT version, name, applied_at FROM schema_migrations "
                       "WHERE component = ? ORDER BY version",
                       {std::string("test")});
                   if (!r) return r.error();
                   rows = *r;
                   return {};
                 })
                  .ok());
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_EQ(rows[2].integer(0), 3);
  EXPECT_EQ(rows[2].text(1), "bump");
  EXPECT_FALSE(rows[2].text(2).empty());
  const std::int64_t n = orderflow::testing::scalar(*db_, "SELECT n FROM counter");
  EXPECT_EQ(n, 100);
}

TEST_P(DatabaseTest, FailingMigrationThrowsAndLeavesNoTrace) {
  const std::vector<Migration> broken = {
      {.version = 1, .name = "ok", .sql = "CREATE TABLE good(x INTEGER)", .postgres_sql = {}},
      {.version = 2,
       .name = "broken",
       .sql = "CREATE TABLE half(x INTEGER); CREATE TABLE oops(",
       .postgres_sql = {}},
  };
  EXPECT_THROW(migrate(*db_, "broken", broken), std::runtime_error);
  EXPECT_EQ(count_rows(*db_, "good"), 0);  // v1 committed
  const bool half_exists = table_exists(*db_, "half");
  EXPECT_FALSE(half_exists);  // v2's first statement rolled back with it
  std::int64_t recorded = -1;
  ASSERT_TRUE(db_->read([&](Tx& tx) -> Result<void> {
                   auto r = tx.query(
                       "SELECT COUNT(*) FROM schema_migrations WHERE component = 'broken'");
                   if (!r) return r.error();
                   recorded = r->front().integer(0);
                   return {};
                 })
                  .ok());
  EXPECT_EQ(recorded, 1);

  const std::vector<Migration> duplicate = {
      {.version = 1, .name = "a", .sql = "SELECT 1", .postgres_sql = {}},
      {.version = 1, .name = "b", .sql = "SELECT 1", .postgres_sql = {}},
  };
  EXPECT_THROW(migrate(*db_, "dup", duplicate), std::runtime_error);
}

TEST_P(DatabaseTest, WriteCommitsAndReadSeesCommittedData) {
  auto r = db_->write([](Tx& tx) -> Result<void> {
    return exec_ok(tx, "INSERT INTO items(name, qty) VALUES (?, ?)",
                   {std::string("apple"), std::int64_t{3}});
  });
  ASSERT_TRUE(r.ok()) << r.error().message;

  std::vector<Row> rows;
  ASSERT_TRUE(db_->read([&](Tx& tx) -> Result<void> {
                   auto q = tx.query("SELECT name, qty FROM items WHERE name = ?",
                                     {std::string("apple")});
                   if (!q) return q.error();
                   rows = *q;
                   return {};
                 })
                  .ok());
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].text(0), "apple");
  EXPECT_EQ(rows[0].integer(1), 3);
}

TEST_P(DatabaseTest, ExecReturnsChangedRowsAndQuerySupportsReturning) {
  std::int64_t updated = -1;
  std::int64_t returned_id = -1;
  auto r = db_->write([&](Tx& tx) -> Result<void> {
    for (const char* name : {"a", "b", "c"}) {
      auto ins = tx.exec("INSERT INTO items(name, qty) VALUES (?, 1)", {std::string(name)});
      if (!ins) return ins.error();
      EXPECT_EQ(*ins, 1);
    }
    auto up = tx.exec("UPDATE items SET qty = qty + 1");
    if (!up) return up.error();
    updated = *up;
    auto sel = tx.exec("SELECT * FROM items");
    if (!sel) return sel.error();
    EXPECT_EQ(*sel, 0);
    auto ret = tx.query("INSERT INTO items(name, qty) VALUES (?, ?) RETURNING id",
                        {std::string("d"), Value{}});
    if (!ret) return ret.error();
    returned_id = ret->front().integer(0);
    return {};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(updated, 3);
  EXPECT_EQ(returned_id, 4);
}

TEST_P(DatabaseTest, WriteRollsBackWhenFnReturnsAnError) {
  auto r = db_->write([](Tx& tx) -> Result<void> {
    auto ins = exec_ok(tx, "INSERT INTO items(name) VALUES ('ghost')");
    if (!ins) return ins;
    return unprocessable("OUT_OF_STOCK", "business rule says no");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnprocessable);
  EXPECT_EQ(r.error().code, "OUT_OF_STOCK");
  EXPECT_EQ(count_rows(*db_, "items"), 0);
}

TEST_P(DatabaseTest, WriteRollsBackWhenFnThrowsAndStaysUsable) {
  EXPECT_THROW((void)db_->write([](Tx& tx) -> Result<void> {
    (void)tx.exec("INSERT INTO items(name) VALUES ('ghost')");
    throw std::runtime_error("handler bug");
  }),
               std::runtime_error);
  EXPECT_EQ(count_rows(*db_, "items"), 0);

  auto r = db_->write([](Tx& tx) { return exec_ok(tx, "INSERT INTO items(name) VALUES ('x')"); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(count_rows(*db_, "items"), 1);

  // Same on the read side: the reader goes back to the pool and still works.
  EXPECT_THROW((void)db_->read([](Tx&) -> Result<void> { throw std::logic_error("boom"); }),
               std::logic_error);
  EXPECT_EQ(count_rows(*db_, "items"), 1);
}

TEST_P(DatabaseTest, ConstraintViolationIsConflictAndSqlErrorIsInternal) {
  ASSERT_TRUE(
      db_->write([](Tx& tx) { return exec_ok(tx, "INSERT INTO items(name) VALUES ('dup')"); })
          .ok());

  Error unique_error;
  auto r = db_->write([&](Tx& tx) -> Result<void> {
    auto dup = tx.exec("INSERT INTO items(name) VALUES ('dup')");
    EXPECT_FALSE(dup.ok());
    if (!dup) unique_error = dup.error();
    return dup.ok() ? Result<void>{} : Result<void>{dup.error()};
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(unique_error.kind, ErrorKind::kConflict);
  EXPECT_EQ(r.error().kind, ErrorKind::kConflict);
  EXPECT_FALSE(r.error().retryable());

  auto not_null = db_->write(
      [](Tx& tx) { return exec_ok(tx, "INSERT INTO items(name) VALUES (?)", {Value{}}); });
  ASSERT_FALSE(not_null.ok());
  EXPECT_EQ(not_null.error().kind, ErrorKind::kConflict);

  auto syntax = db_->write([](Tx& tx) { return exec_ok(tx, "INSRT INTO items VALUES (1)"); });
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.error().kind, ErrorKind::kInternal);

  auto missing = db_->read([](Tx& tx) -> Result<void> {
    auto q = tx.query("SELECT * FROM no_such_table");
    if (!q) return q.error();
    return {};
  });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kInternal);

  auto params = db_->write([](Tx& tx) {
    return exec_ok(tx, "INSERT INTO items(name, qty) VALUES (?, ?)", {std::string("one")});
  });
  ASSERT_FALSE(params.ok());
  EXPECT_EQ(params.error().kind, ErrorKind::kInternal);
  EXPECT_EQ(count_rows(*db_, "items"), 1);
}

TEST_P(DatabaseTest, ReadTransactionCannotWrite) {
  auto r = db_->read([](Tx& tx) { return exec_ok(tx, "INSERT INTO items(name) VALUES ('r')"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(count_rows(*db_, "items"), 0);
}

TEST_P(DatabaseTest, ReadDoesNotSeeUncommittedWrite) {
  std::int64_t seen_inside = -1;
  auto r = db_->write([&](Tx& tx) -> Result<void> {
    auto ins = exec_ok(tx, "INSERT INTO items(name) VALUES ('pending')");
    if (!ins) return ins;
    // Another thread: another connection, another snapshot (a read on this thread would join
    // the transaction, see NestedWriteRunsUnderASavepointOfTheOuterTransaction).
    std::thread([&] { seen_inside = count_rows(*db_, "items"); }).join();
    return {};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(seen_inside, 0);
  EXPECT_EQ(count_rows(*db_, "items"), 1);
}

// A nested write() or read() joins the enclosing transaction under a savepoint (issue 15's
// batches): the inner reads see the outer's uncommitted rows, a failing inner fn undoes only its
// own rows, and everything commits with the outer transaction.
TEST_P(DatabaseTest, NestedWriteRunsUnderASavepointOfTheOuterTransaction) {
  Result<void> kept;
  Result<void> undone;
  std::int64_t seen_by_nested_read = -1;
  auto outer = db_->write([&](Tx& tx) -> Result<void> {
    if (auto r = exec_ok(tx, "INSERT INTO items(name) VALUES ('outer')"); !r) return r;
    kept = db_->write(
        [](Tx& inner) { return exec_ok(inner, "INSERT INTO items(name) VALUES ('kept')"); });
    undone = db_->write([](Tx& inner) -> Result<void> {
      if (auto r = exec_ok(inner, "INSERT INTO items(name) VALUES ('undone')"); !r) return r;
      return unavailable("INNER_FAILED", "the inner fn fails after its insert");
    });
    auto read = db_->read([&](Tx& inner) -> Result<void> {
      auto rows = inner.query("SELECT COUNT(*) FROM items");
      if (!rows) return rows.error();
      seen_by_nested_read = rows->front().integer(0);
      return {};
    });
    if (!read) return read;
    return {};
  });
  ASSERT_TRUE(outer.ok()) << outer.error().message;
  EXPECT_TRUE(kept.ok()) << kept.error().message;
  ASSERT_FALSE(undone.ok());
  EXPECT_EQ(undone.error().code, "INNER_FAILED");
  EXPECT_EQ(seen_by_nested_read, 2) << "outer + kept, uncommitted, seen inside";
  EXPECT_EQ(count_rows(*db_, "items"), 2);
}

TEST_P(DatabaseTest, NestedWritesRollBackWithTheOuterTransaction) {
  Result<void> inner;
  auto outer = db_->write([&](Tx&) -> Result<void> {
    inner =
        db_->write([](Tx& tx) { return exec_ok(tx, "INSERT INTO items(name) VALUES ('inner')"); });
    return conflict("OUTER_FAILED", "the outer fn fails after the nested write");
  });
  EXPECT_TRUE(inner.ok());
  ASSERT_FALSE(outer.ok());
  EXPECT_EQ(count_rows(*db_, "items"), 0);
}

TEST_P(DatabaseTest, ConcurrentWritesFromFourThreadsAllLand) {
  constexpr int kThreads = 4;
  constexpr int kWritesPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesPerThread; ++i) {
        // Read-modify-write: lost updates would show if the row were not locked (PostgreSQL) or
        // the writes not serialised (SQLite).
        auto r = db_->write([&](Tx& tx) -> Result<void> {
          auto rows = tx.query(std::string("SELECT n FROM counter WHERE id = 1") +
                               std::string(for_update(tx.dialect())));
          if (!rows) return rows.error();
          auto n = rows->front().integer(0);
          if (auto u = exec_ok(tx, "UPDATE counter SET n = ? WHERE id = 1", {n + 1}); !u) return u;
          return exec_ok(tx, "INSERT INTO log(writer, seq) VALUES (?, ?)",
                         {std::int64_t{t}, std::int64_t{i}});
        });
        if (!r) ++failures;
        // Readers run alongside the writers.
        if (i % 10 == 0 && count_rows(*db_, "log") < 0) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(count_rows(*db_, "log"), kThreads * kWritesPerThread);
  const std::int64_t n = orderflow::testing::scalar(*db_, "SELECT n FROM counter");
  EXPECT_EQ(n, kThreads * kWritesPerThread);
}

TEST_P(DatabaseTest, ValuesRoundTripThroughRows) {
  ASSERT_TRUE(db_->write([](Tx& tx) {
                   return exec_ok(tx, tx.dialect() == Dialect::kPostgres
                                          ? "CREATE TABLE vals(i BIGINT, r DOUBLE PRECISION,"
                                            " t TEXT, n TEXT)"
                                          : "CREATE TABLE vals(i INTEGER, r REAL, t TEXT, n TEXT)");
                 })
                  .ok());
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  const std::string text = "Grüße \xF0\x9F\x93\xA6 12900.50";
  ASSERT_TRUE(
      db_->write([&](Tx& tx) {
           return exec_ok(tx, "INSERT INTO vals VALUES (?, ?, ?, ?)", {big, 2.5, text, Value{}});
         })
          .ok());
  std::vector<Row> rows;
  ASSERT_TRUE(db_->read([&](Tx& tx) -> Result<void> {
                   auto r = tx.query("SELECT i, r, t, n FROM vals");
                   if (!r) return r.error();
                   rows = *r;
                   return {};
                 })
                  .ok());
  ASSERT_EQ(rows.size(), 1U);
  const Row& row = rows[0];
  ASSERT_EQ(row.size(), 4U);
  EXPECT_EQ(row.integer(0), big);
  EXPECT_DOUBLE_EQ(std::get<double>(row.value(1)), 2.5);
  EXPECT_EQ(row.text(2), text);
  EXPECT_EQ(row.optional_text(2), text);
  EXPECT_TRUE(row.is_null(3));
  EXPECT_EQ(row.text(3), "");
  EXPECT_EQ(row.optional_text(3), std::nullopt);
  EXPECT_THROW((void)row.integer(2), std::logic_error);
  EXPECT_THROW((void)row.integer(3), std::logic_error);
  EXPECT_THROW((void)row.text(0), std::logic_error);
  EXPECT_THROW((void)row.value(9), std::out_of_range);
}

ORDERFLOW_ON_BOTH_DATABASES(DatabaseTest);

}  // namespace
}  // namespace orderflow::storage
