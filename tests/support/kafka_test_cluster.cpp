// orderflow-test-cluster: the real Kafka cluster that one ctest run shares between its tests
// labelled `kafka` (tests/CMakeLists.txt registers `start` as the fixture setup and `stop` as
// its cleanup).
//
//   orderflow-test-cluster start --dir DIR [--brokers 3] [--max-lifetime-s 7200]
//   orderflow-test-cluster stop --dir DIR
//
// `start` forks a daemon (own session, output to DIR/harness.log, pid in DIR/cluster.pid) that
// owns a KafkaCluster on a fresh DIR, writes the bootstrap string to DIR/bootstrap once every
// broker answers, and stops the cluster on SIGTERM, when a JVM exits, or after the maximum
// lifetime (a ctest run that was interrupted before its cleanup leaves no JVMs behind for
// long). `start` returns once DIR/bootstrap exists (exit 0) or the daemon failed (exit 1, with
// the end of its log). `stop` sends SIGTERM and waits for the daemon to be gone.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>

#include "fixture_daemon.h"
#include "kafka_cluster.h"
#include "orderflow/observability/logging.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kStopTimeout = 60s;  // the daemon stops each JVM within its 30 s grace

constexpr const char* kUsage =
    "orderflow-test-cluster start|stop --dir DIR [--brokers N] [--max-lifetime-s S]";

int serve(const orderflow::testing::FixtureCommand& args,
          const orderflow::testing::FixtureDaemon& daemon, const sigset_t& stop_signals) {
  auto logger = orderflow::observability::make_logger("test-cluster", {"info", "text"});
  orderflow::cli::KafkaClusterOptions options;
  options.data_dir = daemon.dir.string();
  options.brokers = args.number("--brokers", 3);
  // The data is thrown away (the next start wipes the dir): no need to wait up to 30 s for
  // a controlled shutdown once the controller quorum is gone.
  options.stop_grace = 5s;
  orderflow::cli::KafkaCluster cluster(options, logger);
  cluster.start();
  orderflow::testing::write_ready_file(daemon, cluster.bootstrap_servers() + "\n");
  int code = orderflow::testing::serve_until_stopped(
      stop_signals, std::chrono::seconds(args.number("--max-lifetime-s", 7200)), [&] {
        auto gone = cluster.reap();
        if (gone) logger->error("kafka node {} exited; stopping the test cluster", gone->node);
        return gone.has_value();
      });
  fs::remove(daemon.dir / daemon.ready_file);
  cluster.stop();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = orderflow::testing::parse_fixture_command(argc, argv,
                                                        {"--brokers", "--max-lifetime-s"}, kUsage);
  if (!args) return 2;
  orderflow::testing::FixtureDaemon daemon{"orderflow-test-cluster", "test cluster", args->dir,
                                           "cluster.pid", "bootstrap"};
  if (args->command == "stop") return orderflow::testing::stop_fixture_daemon(daemon, kStopTimeout);
  return orderflow::testing::start_fixture_daemon(
      daemon, [&](const sigset_t& stop_signals) { return serve(*args, daemon, stop_signals); });
}
