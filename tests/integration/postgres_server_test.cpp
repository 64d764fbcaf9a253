// PostgresServer (tools/cli/postgres_server.h): a real private server in a temp dir, through its
// whole life in one test (initdb costs ~2 s; one server for the file).
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "orderflow/observability/logging.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_database.h"
#include "postgres_server.h"

namespace orderflow::cli {
namespace {

namespace fs = std::filesystem;
using orderflow::testing::eventually;
using orderflow::testing::TempDir;
using namespace std::chrono_literals;

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using orderflow::testing::postgres_connects;
using orderflow::testing::postgres_query;

Connection connect(const std::string& url) { return {PQconnectdb(url.c_str()), &PQfinish}; }

// Exited: no such process, or a zombie (an orphan waits for whoever reaps it, e.g. init).
bool gone(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto state = line.rfind(") ");
  return state == std::string::npos || line.at(state + 2) == 'Z';
}

PostgresServerOptions options_in(const TempDir& dir) {
  PostgresServerOptions options;
  options.data_dir = dir.path().string();
  options.max_connections = 20;
  options.stop_grace = 5s;
  return options;
}

class PostgresServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Only the URL may carry the password: no fallback from the environment or a passfile.
    unsetenv("PGPASSWORD");
    setenv("PGPASSFILE", dir_.file("no-passfile").c_str(), 1);
  }
  TempDir dir_;
  std::shared_ptr<spdlog::logger> logger_ =
      observability::make_logger("postgres-server-test", {testing::test_log_level(), "text"});
};

TEST_F(PostgresServerTest, LivesThroughStopKillRestartAndATakenPortKeepingPortAndData) {
  auto server = std::make_unique<PostgresServer>(options_in(dir_), logger_);
  server->start();
  const int port = server->port();
  ASSERT_GT(port, 0);
  ASSERT_GT(server->pid(), 0);
  EXPECT_EQ(server->url("orders"),
            "postgresql://orderflow@127.0.0.1:" + std::to_string(port) + "/orders");
  EXPECT_EQ(server->url("orders").find(server->password()), std::string::npos);

  // The password is random, kept owner-only, and required over TCP.
  auto password_file = dir_.path() / "postgres" / "password";
  struct stat st {};
  ASSERT_EQ(stat(password_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_GE(server->password().size(), 32u);
  EXPECT_TRUE(postgres_connects(server->url_with_password("postgres")));
  EXPECT_FALSE(postgres_connects(server->url("postgres")));
  EXPECT_FALSE(postgres_connects("postgresql://orderflow:wrong@127.0.0.1:" + std::to_string(port) +
                                 "/postgres"));
  // Durability is what the tests measure: never fsync=off.
  EXPECT_EQ(postgres_query(server->url_with_password("postgres"), "SHOW fsync"), "on");
  EXPECT_EQ(postgres_query(server->url_with_password("postgres"), "SHOW max_connections"), "20");
  EXPECT_EQ(postgres_query(server->url_with_password("postgres"), "SHOW server_encoding"), "UTF8");

  // ensure_database: idempotent, and two racing callers both succeed.
  server->ensure_database("orders");
  server->ensure_database("orders");
  for (int round = 0; round < 3; ++round) {
    std::string name = "raced_" + std::to_string(round);
    std::exception_ptr errors[2];
    std::thread a([&] {
      try {
        server->ensure_database(name);
      } catch (...) {
        errors[0] = std::current_exception();
      }
    });
    std::thread b([&] {
      try {
        server->ensure_database(name);
      } catch (...) {
        errors[1] = std::current_exception();
      }
    });
    a.join();
    b.join();
    for (auto& error : errors) EXPECT_FALSE(error) << "racing ensure_database threw";
    EXPECT_EQ(postgres_query(server->url_with_password("postgres"),
                             "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'"),
              "1");
  }
  auto orders = server->url_with_password("orders");
  postgres_query(orders, "CREATE TABLE kept(id INTEGER PRIMARY KEY)");
  postgres_query(orders, "INSERT INTO kept VALUES (1)");

  // A stopped server refuses connections; a new start on the same dir has the port and data.
  server->stop();
  EXPECT_EQ(server->pid(), -1);
  EXPECT_FALSE(postgres_connects(orders));
  server = std::make_unique<PostgresServer>(options_in(dir_), logger_);
  server->start();
  EXPECT_EQ(server->port(), port);
  EXPECT_EQ(server->url_with_password("orders"), orders);
  EXPECT_EQ(postgres_query(orders, "SELECT count(*) FROM kept"), "1");

  // kill -9 of the postmaster (with a session open) is seen by reap(); start() recovers.
  auto session = connect(orders);
  ASSERT_EQ(PQstatus(session.get()), CONNECTION_OK);
  pid_t killed = server->pid();
  ASSERT_EQ(kill(killed, SIGKILL), 0);
  std::optional<int> exit;
  ASSERT_TRUE(eventually([&] { return (exit = server->reap()).has_value(); }, 10s));
  EXPECT_TRUE(WIFSIGNALED(*exit) && WTERMSIG(*exit) == SIGKILL);
  EXPECT_EQ(server->pid(), -1);
  EXPECT_FALSE(server->reap().has_value());
  // The session's backend outlived its postmaster: reap() ended it (it would hold the shared
  // memory that a new postmaster needs).
  pid_t backend = PQbackendPID(session.get());
  ASSERT_GT(backend, 0);
  EXPECT_TRUE(eventually([&] { return gone(backend); }, 5s));
  server->start();
  EXPECT_NE(server->pid(), killed);
  postgres_query(orders, "INSERT INTO kept VALUES (2)");
  EXPECT_EQ(postgres_query(orders, "SELECT count(*) FROM kept"), "2");

  // restart(): a new postmaster, the same port and data.
  pid_t before = server->pid();
  server->restart();
  EXPECT_NE(server->pid(), before);
  EXPECT_EQ(server->port(), port);
  EXPECT_EQ(postgres_query(orders, "SELECT count(*) FROM kept"), "2");

  // Its port taken meanwhile: start() fails with postgres' reason, and works once it is free.
  server->stop();
  int blocker = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;  // the server's closed connections linger in TIME_WAIT on the port
  setsockopt(blocker, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ASSERT_EQ(bind(blocker, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(blocker, 1), 0);
  try {
    server->start();
    ADD_FAILURE() << "start() on a taken port must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos) << e.what();
  }
  EXPECT_EQ(server->pid(), -1);
  close(blocker);
  server->start();
  EXPECT_EQ(postgres_query(orders, "SELECT count(*) FROM kept"), "2");

  server.reset();  // stops it
  EXPECT_FALSE(postgres_connects(orders));
}

TEST(PostgresBinariesTest, DebianDirectoryIsFoundWithoutPath) {
  // CI has no symlinks in PATH: the server binaries are found in /usr/lib/postgresql/<v>/bin.
  const char* saved = std::getenv("PATH");
  std::string path = saved != nullptr ? saved : "";
  setenv("PATH", "/usr/bin:/bin", 1);
  std::string dir;
  EXPECT_NO_THROW(dir = default_postgres_bin_dir());
  setenv("PATH", path.c_str(), 1);
  EXPECT_TRUE(fs::exists(fs::path(dir) / "initdb")) << dir;
  EXPECT_TRUE(fs::exists(fs::path(dir) / "postgres")) << dir;
}

}  // namespace
}  // namespace orderflow::cli
