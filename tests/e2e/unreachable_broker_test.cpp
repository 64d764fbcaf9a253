// e2e (issue 10, "Bad input and faults"): a service whose cluster is down at start-up starts
// anyway, answers /health/ready 503 naming the broker, accepts orders into its outbox, and
// stops on SIGTERM within its drain budget. The topic creation it owes (topics.create, on with
// an external bootstrap) does not block start-up: it is retried in the background.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>

#include "child_process.h"
#include "orderflow/http/client.h"
#include "orderflow/testing/support.h"

namespace orderflow::testing {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(UnreachableBrokerTest, OrderServiceStartsUnreadyNamingTheBrokerAndAcceptsOrders) {
  TempDir dir;
  const auto port_file = dir.file("order-service.port");
  const auto log = dir.file("order-service.log");
  pid_t pid =
      cli::spawn_child({std::string(ORDERFLOW_BIN_DIR) + "/order-service", "--config",
                        std::string(ORDERFLOW_SOURCE_DIR) + "/config/order-service.yaml",
                        "--data-dir", dir.path().string(), "--port", "0", "--port-file", port_file,
                        "--set", "kafka.bootstrap_servers=127.0.0.1:1", "--set",
                        "timeouts.drain_ms=3000", "--set", "health.broker_unreachable_ms=1000"},
                       log);
  ASSERT_TRUE(eventually([&] { return !read_file(port_file).empty(); }, 60s, 50ms))
      << read_file(log);
  auto address = read_file(port_file);
  auto port = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  auto call = [port](const std::string& method, const std::string& target,
                     const std::string& body = {}) {
    auto r = http::request("127.0.0.1", port, method, target, body,
                           {{"Content-Type", "application/json"}});
    return r.ok() ? r.value() : http::Response{0, r.error().message};
  };

  // Unready because of the broker (after health.broker_unreachable_ms), and it says so.
  std::string body;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = call("GET", "/health/ready");
        body = r.body;
        return r.status == 503 && body.find("broker unreachable") != std::string::npos;
      },
      30s, 200ms))
      << body;
  auto posted =
      call("POST", "/api/orders", R"({"userId":"u-1","items":[{"sku":"ABC-001","qty":1}]})");
  EXPECT_EQ(posted.status, 201) << posted.body;
  EXPECT_NE(read_file(log).find("topics not ensured; the broker does not answer, retrying"),
            std::string::npos);

  auto stopping = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_TRUE(eventually([&] { return waitpid(pid, &status, WNOHANG) == pid; }, 15s, 50ms))
      << read_file(log);
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 3000ms + 2s);
  // Past its budget with the accepted order unsent: it leaves it in the outbox for the next
  // start and says so (runtime::ShutdownDeadline, exit 75).
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 75);
  EXPECT_NE(read_file(log).find("unsent outbox rows are published on the next start"),
            std::string::npos)
      << read_file(log);
}

}  // namespace
}  // namespace orderflow::testing
