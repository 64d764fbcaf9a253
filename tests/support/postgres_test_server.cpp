// orderflow-test-postgres: the private PostgreSQL server that one ctest run shares between its
// tests labelled `postgres` (tests/CMakeLists.txt registers `start` as the setup of the fixture
// postgres_server and `stop` as its cleanup).
//
//   orderflow-test-postgres start --dir DIR [--max-lifetime-s 7200]
//   orderflow-test-postgres stop --dir DIR
//
// `start` forks a daemon (own session, output to DIR/harness.log, pid in DIR/server.pid) that
// owns a PostgresServer on a fresh DIR (cluster in DIR/postgres, log in DIR/logs/postgres.log),
// writes the superuser's URL with its password to DIR/url (mode 0600, tests only) once the
// server accepts connections, keeps a few spare databases ready for TestDatabase to claim, and
// stops the server on SIGTERM, when postgres exits, or after the maximum lifetime (an interrupted
// ctest run leaves no server behind for long; postgres also gets a fast shutdown when the daemon
// dies). `start` returns once DIR/url exists (exit 0) or the daemon failed (exit 1, with the end of
// its log). `stop` sends SIGTERM and waits for the daemon to be gone.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include "fixture_daemon.h"
#include "orderflow/observability/logging.h"
#include "orderflow/testing/test_database.h"
#include "postgres_server.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kStopTimeout = 30s;
// Enough for the tests of ctest -j2 to find one ready: each test takes a database at its start.
constexpr int kSpareDatabases = 3;

constexpr const char* kUsage = "orderflow-test-postgres start|stop --dir DIR [--max-lifetime-s S]";

int serve(const orderflow::testing::FixtureCommand& args,
          const orderflow::testing::FixtureDaemon& daemon, const sigset_t& stop_signals) {
  auto logger = orderflow::observability::make_logger("test-postgres", {"info", "text"});
  orderflow::cli::PostgresServerOptions options;
  options.data_dir = daemon.dir.string();
  // The data is thrown away (the next start wipes the dir).
  options.stop_grace = 5s;
  orderflow::cli::PostgresServer server(options, logger);
  server.start();
  auto url = server.url_with_password("postgres");
  std::atomic<bool> stopping{false};
  std::thread spares(
      [&] { orderflow::testing::keep_spare_databases(url, kSpareDatabases, stopping); });
  orderflow::testing::write_ready_file(daemon, url + "\n");
  int code = orderflow::testing::serve_until_stopped(
      stop_signals, std::chrono::seconds(args.number("--max-lifetime-s", 7200)), [&] {
        auto gone = server.reap();
        if (gone) logger->error("postgres exited; stopping the test server");
        return gone.has_value();
      });
  fs::remove(daemon.dir / daemon.ready_file);
  stopping = true;
  spares.join();
  server.stop();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = orderflow::testing::parse_fixture_command(argc, argv, {"--max-lifetime-s"}, kUsage);
  if (!args) return 2;
  orderflow::testing::FixtureDaemon daemon{
      "orderflow-test-postgres", "test postgres server", args->dir, "server.pid", "url", true};
  if (args->command == "stop") return orderflow::testing::stop_fixture_daemon(daemon, kStopTimeout);
  return orderflow::testing::start_fixture_daemon(
      daemon, [&](const sigset_t& stop_signals) { return serve(*args, daemon, stop_signals); });
}
