// PostgreSQL-specific behaviour of the storage port (the contract both backends share is in
// storage_test.cpp): placeholders, SQLSTATE classes, reconnect after the server dropped a
// connection, relaxed commits, migrations racing from two instances. Runs as …/Postgres on the
// ctest run's PostgreSQL server (fixture postgres_server).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <latch>
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

class PostgresDatabaseTest : public ::testing::TestWithParam<DatabaseKind> {
 protected:
  void SetUp() override {
    db_ = open_database(test_db_.storage_config());
    ASSERT_TRUE(db_->write([](Tx& tx) {
                     return exec_ok(tx,
                                    "CREATE TABLE accounts(id BIGINT PRIMARY KEY, balance BIGINT"
                                    " NOT NULL);"
                                    "INSERT INTO accounts VALUES (1, 100), (2, 100)");
                   })
                    .ok());
  }

  std::string text_of(Database& db, const std::string& sql) {
    std::string out;
    auto r = db.read([&](Tx& tx) -> Result<void> {
      auto rows = tx.query(sql);
      if (!rows) return rows.error();
      out = rows->front().text(0);
      return {};
    });
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return out;
  }

  TestDatabase test_db_{GetParam()};
  std::unique_ptr<Database> db_;
};

TEST_P(PostgresDatabaseTest, PlaceholdersAreRewrittenOutsideLiteralsIdentifiersAndComments) {
  std::vector<Row> rows;
  auto r = db_->read([&](Tx& tx) -> Result<void> {
    auto q = tx.query(
        "SELECT '?' AS \"what?\", CAST(? AS BIGINT) /* ? */, 'it''s ?', CAST(? AS TEXT) -- ?\n",
        {std::int64_t{7}, std::string("x")});
    if (!q) return q.error();
    rows = *q;
    return {};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].text(0), "?");
  EXPECT_EQ(rows[0].integer(1), 7);
  EXPECT_EQ(rows[0].text(2), "it's ?");
  EXPECT_EQ(rows[0].text(3), "x");
}

TEST_P(PostgresDatabaseTest, BadUrlAndWrongPasswordStopStartUpNamingTheCauseNotThePassword) {
  StorageConfig wrong = test_db_.storage_config();
  const std::string secret = "not-the-password-4711";
  // userinfo is the part before '@' of postgresql://user[:password]@host…
  auto at = wrong.postgres_url.find('@');
  ASSERT_NE(at, std::string::npos) << wrong.postgres_url;
  auto scheme = wrong.postgres_url.find("://") + 3;
  auto user_end = wrong.postgres_url.find_first_of(":@", scheme);
  wrong.postgres_url =
      wrong.postgres_url.substr(0, user_end) + ":" + secret + wrong.postgres_url.substr(at);
  try {
    (void)open_database(wrong);
    ADD_FAILURE() << "a wrong password must stop start-up";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("password authentication failed"), std::string::npos) << what;
    EXPECT_EQ(what.find(secret), std::string::npos) << what;
  }

  StorageConfig bad = test_db_.storage_config();
  bad.postgres_url = "postgresql://[::1";
  EXPECT_THROW((void)open_database(bad), std::runtime_error);
  bad.postgres_url = "";
  EXPECT_THROW((void)open_database(bad), std::runtime_error);
}

TEST_P(PostgresDatabaseTest, ConnectionDroppedByTheServerIsRetryableAndThePoolRecovers) {
  StorageConfig config = test_db_.storage_config();
  config.application_name = orderflow::testing::unique_name("victim");
  config.pool_size = 1;
  auto victim = open_database(config);
  ASSERT_TRUE(victim->ping().ok());
  // What a server restart does to an open connection: its backend goes away under it.
  auto terminate_victim = [&] {
    auto killed = db_->write([&](Tx& tx) -> Result<void> {
      auto r = tx.query(
          "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
          " WHERE application_name = ?",
          {config.application_name});
      if (!r) return r.error();
      EXPECT_EQ(r->front().integer(0), 1);
      return {};
    });
    ASSERT_TRUE(killed.ok()) << killed.error().message;
  };
  auto add_one = [](Tx& tx) {
    return exec_ok(tx, "UPDATE accounts SET balance = balance + 1 WHERE id = 1");
  };
  auto balance = [&] {
    return orderflow::testing::scalar(*db_, "SELECT balance FROM accounts WHERE id = 1");
  };

  // Dropped while idle in the pool: the next call notices at BEGIN, which changed nothing yet,
  // and runs on a new connection; the caller sees nothing.
  terminate_victim();
  auto after_idle_drop = victim->write(add_one);
  ASSERT_TRUE(after_idle_drop.ok()) << after_idle_drop.error().message;
  EXPECT_EQ(balance(), 101);

  // Dropped in the middle of a transaction: that call fails as retryable, nothing of it
  // commits, and the next call works on a new connection.
  auto mid = victim->write([&](Tx& tx) -> Result<void> {
    if (auto r = add_one(tx); !r) return r;
    terminate_victim();
    return add_one(tx);
  });
  ASSERT_FALSE(mid.ok());
  EXPECT_TRUE(mid.error().retryable()) << mid.error().message;
  EXPECT_EQ(balance(), 101);
  auto retried = victim->write(add_one);
  ASSERT_TRUE(retried.ok()) << retried.error().message;
  EXPECT_EQ(balance(), 102);
}

TEST_P(PostgresDatabaseTest, DeadlockIsRetryable) {
  // Two writers lock the two rows in opposite order; the server aborts one of them (40P01).
  std::latch both_hold_one(2);
  auto transfer = [&](std::int64_t first, std::int64_t second) {
    return db_->write([&, first, second](Tx& tx) -> Result<void> {
      if (auto r = exec_ok(tx, "UPDATE accounts SET balance = balance - 1 WHERE id = ?", {first});
          !r) {
        return r;
      }
      both_hold_one.arrive_and_wait();
      return exec_ok(tx, "UPDATE accounts SET balance = balance + 1 WHERE id = ?", {second});
    });
  };
  auto a = std::async(std::launch::async, transfer, 1, 2);
  auto b = std::async(std::launch::async, transfer, 2, 1);
  auto ra = a.get();
  auto rb = b.get();
  ASSERT_NE(ra.ok(), rb.ok()) << "exactly one of the two must be aborted";
  const Error& error = ra.ok() ? rb.error() : ra.error();
  EXPECT_TRUE(error.retryable()) << error.message;
  EXPECT_NE(error.message.find("40P01"), std::string::npos) << error.message;
}

TEST_P(PostgresDatabaseTest, SerializationFailureIsRetryable) {
  std::promise<void> read_done;
  std::promise<void> other_committed;
  auto reader = std::async(std::launch::async, [&] {
    return db_->write([&](Tx& tx) -> Result<void> {
      if (auto r = exec_ok(tx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"); !r) return r;
      auto rows = tx.query("SELECT balance FROM accounts WHERE id = 1");
      if (!rows) return rows.error();
      read_done.set_value();
      other_committed.get_future().wait();
      return exec_ok(tx, "UPDATE accounts SET balance = ? WHERE id = 1",
                     {rows->front().integer(0) + 5});
    });
  });
  read_done.get_future().wait();
  auto other = db_->write(
      [](Tx& tx) { return exec_ok(tx, "UPDATE accounts SET balance = balance + 1 WHERE id = 1"); });
  ASSERT_TRUE(other.ok()) << other.error().message;
  other_committed.set_value();
  auto r = reader.get();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().retryable()) << r.error().message;
  EXPECT_NE(r.error().message.find("40001"), std::string::npos) << r.error().message;
  EXPECT_EQ(text_of(*db_, "SELECT CAST(balance AS TEXT) FROM accounts WHERE id = 1"), "101");
}

TEST_P(PostgresDatabaseTest, RelaxedWritesCommitWithoutWaitingForTheWalFlushAndDurableOnesWait) {
  std::string relaxed;
  std::string durable;
  auto show = [](std::string& out) {
    return [&out](Tx& tx) -> Result<void> {
      auto rows = tx.query("SHOW synchronous_commit");
      if (!rows) return rows.error();
      out = rows->front().text(0);
      return {};
    };
  };
  ASSERT_TRUE(db_->write_relaxed(show(relaxed)).ok());
  ASSERT_TRUE(db_->write(show(durable)).ok());
  EXPECT_EQ(relaxed, "off");
  EXPECT_EQ(durable, "on");
}

TEST_P(PostgresDatabaseTest, ReadIsOneSnapshot) {
  std::int64_t before = -1;
  std::int64_t after = -1;
  auto r = db_->read([&](Tx& tx) -> Result<void> {
    auto first = tx.query("SELECT COUNT(*) FROM accounts");
    if (!first) return first.error();
    before = first->front().integer(0);
    auto w = db_->write([](Tx& wtx) { return exec_ok(wtx, "INSERT INTO accounts VALUES (3, 0)"); });
    EXPECT_TRUE(w.ok());
    auto second = tx.query("SELECT COUNT(*) FROM accounts");
    if (!second) return second.error();
    after = second->front().integer(0);
    return {};
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(before, 2);
  EXPECT_EQ(after, 2);
  EXPECT_EQ(orderflow::testing::row_count(*db_, "accounts"), 3);
}

TEST_P(PostgresDatabaseTest, InstancesMigratingTogetherApplyEachMigrationOnce) {
  const std::vector<Migration> migrations = {
      {.version = 1, .name = "create", .sql = "CREATE TABLE seeded(n BIGINT)", .postgres_sql = {}},
      {.version = 2, .name = "seed", .sql = "INSERT INTO seeded VALUES (1)", .postgres_sql = {}},
  };
  constexpr int kInstances = 4;
  std::vector<std::unique_ptr<Database>> instances;
  for (int i = 0; i < kInstances; ++i) {
    instances.push_back(open_database(test_db_.storage_config()));
  }
  std::latch start(kInstances);
  std::vector<std::future<void>> runs;
  for (auto& instance : instances) {
    runs.push_back(std::async(std::launch::async, [&, db = instance.get()] {
      start.arrive_and_wait();
      migrate(*db, "raced", migrations);
    }));
  }
  for (auto& run : runs) EXPECT_NO_THROW(run.get());
  EXPECT_EQ(orderflow::testing::row_count(*db_, "seeded"), 1);
}

ORDERFLOW_ON_POSTGRES_ONLY(PostgresDatabaseTest);

}  // namespace
}  // namespace orderflow::storage
