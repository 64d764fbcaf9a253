// The PostgreSQL backend across a restart of its server (a private PostgresServer in a temp
// dir, not the run's shared one): while the server is down every call fails fast as retryable
// and ping() fails (/health/ready answers 503); once it is back the same Database works again
// without being reopened (issue 11, "PostgreSQL down while running").
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "orderflow/observability/logging.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/row_count.h"
#include "orderflow/testing/support.h"
#include "postgres_server.h"

namespace orderflow::storage {
namespace {

using namespace std::chrono_literals;
using orderflow::testing::eventually;
using orderflow::testing::TempDir;

Result<void> insert(Database& db, std::int64_t id) {
  return db.write([id](Tx& tx) -> Result<void> {
    auto r = tx.exec("INSERT INTO events(id) VALUES (?)", {id});
    if (!r) return r.error();
    return {};
  });
}

TEST(PostgresRestartTest, CallsFailRetryableWhileTheServerIsDownAndWorkAgainWhenItIsBack) {
  TempDir dir;
  cli::PostgresServerOptions options;
  options.data_dir = dir.path().string();
  options.max_connections = 20;
  auto server = std::make_unique<cli::PostgresServer>(
      options, observability::make_logger("restart-test", {testing::test_log_level(), "text"}));
  server->start();
  server->ensure_database("app");
  StorageConfig config;
  config.backend = "postgres";
  config.postgres_url = server->url_with_password("app");
  config.pool_size = 2;
  auto db = open_database(config);
  migrate(*db, "test",
          std::vector<Migration>{{.version = 1,
                                  .name = "events",
                                  .sql = "CREATE TABLE events(id BIGINT PRIMARY KEY)",
                                  .postgres_sql = {}}});
  ASSERT_TRUE(insert(*db, 1).ok());

  server->stop();
  const auto before = std::chrono::steady_clock::now();
  auto down = insert(*db, 2);
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(down.error().retryable()) << down.error().message;
  auto ping = db->ping();
  ASSERT_FALSE(ping.ok());
  EXPECT_TRUE(ping.error().retryable()) << ping.error().message;
  // Connection refused is immediate: a handler's retry budget is not eaten by timeouts.
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);

  server->start();
  EXPECT_TRUE(eventually([&] { return db->ping().ok(); }, 10s, 50ms));
  auto back = insert(*db, 2);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(orderflow::testing::row_count(*db, "events"), 2);
}

}  // namespace
}  // namespace orderflow::storage
