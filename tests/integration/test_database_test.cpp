// TestDatabase (tests/support test_database.h): a fresh database per test, shared by every
// StorageConfig it hands out, gone after the test. Sqlite: a file in a temp dir; Postgres: a
// database on the ctest run's server (fixture postgres_server).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "orderflow/storage/database.h"
#include "orderflow/testing/backend_param.h"
#include "orderflow/testing/row_count.h"
#include "orderflow/testing/test_database.h"

namespace orderflow::testing {
namespace {

using namespace std::chrono_literals;

Result<void> exec(storage::Database& db, const std::string& sql) {
  return db.write([&](storage::Tx& tx) -> Result<void> {
    auto r = tx.exec(sql);
    if (!r) return r.error();
    return {};
  });
}

class TestDatabaseTest : public ::testing::TestWithParam<DatabaseKind> {};

TEST_P(TestDatabaseTest, TwoInstancesShareOneDatabaseAndAnotherTestDatabaseIsEmpty) {
  TestDatabase db(GetParam());
  auto first = db.storage_config();
  auto second = db.storage_config();
  EXPECT_EQ(first.backend, GetParam() == DatabaseKind::kPostgres ? "postgres" : "sqlite");
  auto one = storage::open_database(first);
  auto two = storage::open_database(second);
  ASSERT_TRUE(exec(*one, "CREATE TABLE shared(n INTEGER)").ok());
  ASSERT_TRUE(exec(*one, "INSERT INTO shared VALUES (7)").ok());
  EXPECT_EQ(row_count(*two, "shared"), 1);

  TestDatabase other(GetParam());
  EXPECT_NE(other.name(), db.name());
  auto three = storage::open_database(other.storage_config());
  // Fresh: the table exists only in the first database.
  EXPECT_TRUE(exec(*three, "CREATE TABLE shared(n INTEGER)").ok());
  EXPECT_EQ(row_count(*three, "shared"), 0);
}

TEST_P(TestDatabaseTest, IsGoneAfterTheTestEvenWithAConnectionOpen) {
  std::string name;
  std::string server_url;
  std::unique_ptr<storage::Database> kept;
  {
    TestDatabase db(GetParam());
    name = db.name();
    server_url = db.server_url();
    kept = storage::open_database(db.storage_config());
    ASSERT_TRUE(kept->ping().ok());
  }
  if (GetParam() == DatabaseKind::kSqlite) {
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(name).parent_path()));
    return;
  }
  // Dropped WITH (FORCE) in the background, soon, despite `kept`'s sessions.
  EXPECT_TRUE(eventually(
      [&] {
        return postgres_query(server_url, "SELECT count(*) FROM pg_database WHERE datname = '" +
                                              name + "'") == "0";
      },
      30s, 100ms));
  EXPECT_EQ(postgres_query(server_url, "SELECT current_database()"), "postgres");
}

ORDERFLOW_ON_BOTH_DATABASES(TestDatabaseTest);

// Tests over broker and database: the instance is named broker then database, and a
// …Postgres instance is wired to the shared server (its TestDatabase would throw otherwise).
class BackendParamTest : public ::testing::TestWithParam<BackendParam> {};

TEST_P(BackendParamTest, InstanceIsNamedBrokerThenDatabaseAndHasItsDatabase) {
  std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  EXPECT_EQ(test_name.substr(test_name.rfind('/') + 1), backend_param_name(GetParam()));
  TestDatabase db(GetParam().database);
  EXPECT_TRUE(storage::open_database(db.storage_config())->ping().ok());
}

ORDERFLOW_ON_BACKENDS(BackendParamTest, {kEmbedded, kSqlite}, {kEmbedded, kPostgres});

TEST(DatabaseKindTest, NamesRoundTrip) {
  for (auto kind : {DatabaseKind::kSqlite, DatabaseKind::kPostgres}) {
    EXPECT_EQ(database_kind_from_name(database_kind_name(kind)), kind);
  }
  EXPECT_EQ(database_kind_name(DatabaseKind::kPostgres), "Postgres");
  EXPECT_THROW(database_kind_from_name("Mysql"), std::invalid_argument);
}

}  // namespace
}  // namespace orderflow::testing
