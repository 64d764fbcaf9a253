// TestDatabase (tests/support test_database.h): a fresh database per test on the shared
// PostgreSQL server (fixture postgres_server), shared by every StorageConfig it hands out, gone
// after the test; a file in a temp dir on SQLite.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "orderflow/storage/database.h"
#include "orderflow/testing/backend_param.h"
#include "orderflow/testing/test_database.h"

namespace orderflow::testing {
namespace {

class TestDatabaseTest : public ::testing::TestWithParam<DatabaseKind> {};

TEST_P(TestDatabaseTest, ConfigsShareOneFreshDatabaseDroppedAfterTheTest) {
  std::string server_url;
  std::string name;
  {
    TestDatabase db(GetParam());
    server_url = db.server_url();
    name = db.name();
    auto first = db.storage_config();
    auto second = db.storage_config();
    EXPECT_EQ(first.backend, "postgres");
    ASSERT_EQ(first.postgres_url, second.postgres_url);
    EXPECT_EQ(first.postgres_url, db.url());
    // Fresh: no tables of its own.
    EXPECT_EQ(postgres_query(first.postgres_url,
                             "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
              "0");
    postgres_query(first.postgres_url, "CREATE TABLE shared(n INTEGER)");
    postgres_query(first.postgres_url, "INSERT INTO shared VALUES (7)");
    EXPECT_EQ(postgres_query(second.postgres_url, "SELECT n FROM shared"), "7");
    EXPECT_EQ(postgres_query(server_url, "SELECT current_database()"), "postgres");
    // A second TestDatabase is another database.
    TestDatabase other(DatabaseKind::kPostgres);
    EXPECT_NE(other.name(), name);
    EXPECT_EQ(
        postgres_query(other.url(), "SELECT count(*) FROM pg_tables WHERE tablename = 'shared'"),
        "0");
  }
  // Dropped in the background, soon.
  EXPECT_TRUE(eventually(
      [&] {
        return postgres_query(server_url, "SELECT count(*) FROM pg_database WHERE datname = '" +
                                              name + "'") == "0";
      },
      std::chrono::seconds(30), std::chrono::milliseconds(100)));
}

INSTANTIATE_TEST_SUITE_P(, TestDatabaseTest, ::testing::Values(DatabaseKind::kPostgres),
                         DatabaseKindParamName());

TEST(TestDatabaseSqliteTest, ConfigsNameOneFileInATempDirRemovedAfterTheTest) {
  std::string path;
  {
    TestDatabase db(DatabaseKind::kSqlite);
    path = db.name();
    auto first = db.storage_config();
    EXPECT_EQ(first.backend, "sqlite");
    EXPECT_EQ(first.sqlite_path, db.storage_config().sqlite_path);
    EXPECT_TRUE(db.url().empty());
    auto database = storage::open_database(first);
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(path).parent_path()));
}

// Tests over broker and database: the instance is named broker then database, and a
// …Postgres instance is wired to the shared server (its TestDatabase would throw otherwise).
class BackendParamTest : public ::testing::TestWithParam<BackendParam> {};

TEST_P(BackendParamTest, InstanceIsNamedBrokerThenDatabaseAndHasItsDatabase) {
  std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  EXPECT_EQ(test_name.substr(test_name.rfind('/') + 1), backend_param_name(GetParam()));
  TestDatabase db(GetParam().database);
  EXPECT_EQ(db.storage_config().backend,
            GetParam().database == DatabaseKind::kPostgres ? "postgres" : "sqlite");
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
