// e2e: `orderflow up` supervises its children (issue 9): a service killed with SIGKILL comes
// back on the same port, the embedded broker killed brings every service back on a new one,
// a child that keeps dying makes `orderflow up` give up with a non-zero exit, and a second
// `orderflow up` runs on the data dir of one killed with all its children.
#include <gtest/gtest.h>
#include <signal.h>

#include "orderflow/testing/system_under_test.h"

namespace orderflow::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kServices[] = {"order-service", "inventory-service", "payment-service",
                                     "notification-service", "ops-service"};

// Short backoff so a restart does not dominate the test's time; the budget stays the default.
constexpr const char* kFastBackoff =
    "supervision:\n  backoff_initial_ms: 100\n  backoff_max_ms: 1000\n"
    "timeouts:\n  drain_ms: 5000\n";

bool ready(const RunningSystem& system, const std::string& service) {
  return system.call(service, "GET", "/health/ready").status == 200;
}

std::int64_t place(const RunningSystem& system, const std::string& user) {
  auto r = system.call("order-service", "POST", "/api/orders",
                       R"({"userId":")" + user + R"(","items":[{"sku":"ABC-001","qty":1}]})");
  EXPECT_EQ(r.status, 201) << r.raw;
  return r.status == 201 ? r.body["orderId"].get<std::int64_t>() : 0;
}

std::string status_of(const RunningSystem& system, std::int64_t id) {
  auto r = system.call("order-service", "GET", "/api/orders/" + std::to_string(id));
  return r.status == 200 ? r.body.value("status", "") : "";
}

// Waits until `name` runs under a pid other than `old_pid`; returns it (0 on timeout).
pid_t wait_new_pid(const RunningSystem& system, const std::string& name, pid_t old_pid,
                   std::chrono::milliseconds deadline = 30000ms) {
  pid_t pid = 0;
  eventually(
      [&] {
        auto pids = system.pids();
        auto it = pids.find(name);
        pid = it != pids.end() && it->second != old_pid ? it->second : 0;
        return pid != 0;
      },
      deadline, 50ms);
  return pid;
}

TEST(SupervisionTest, KilledServiceIsRestartedOnItsPortAndOrdersComplete) {
  RunningSystem system({}, {.system_yaml = kFastBackoff});
  auto port = system.endpoint("inventory-service").port;
  auto old_pid = system.pids().at("inventory-service");
  ASSERT_EQ(kill(old_pid, SIGKILL), 0);

  // Posted while the inventory is down: its ORDER_CREATED waits in Kafka for the new process.
  auto id = place(system, "supervised-1");
  ASSERT_NE(id, 0);
  auto new_pid = wait_new_pid(system, "inventory-service", old_pid);
  ASSERT_NE(new_pid, 0) << system.output();
  EXPECT_TRUE(eventually([&] { return ready(system, "inventory-service"); }, 30000ms, 50ms))
      << system.output();
  ASSERT_TRUE(system.reload_endpoints());
  EXPECT_EQ(system.endpoint("inventory-service").port, port);
  EXPECT_TRUE(eventually([&] { return status_of(system, id) == "COMPLETED"; }, 30000ms, 50ms))
      << "order " << id << " is " << status_of(system, id) << "\n"
      << system.output();
  EXPECT_EQ(system.restarts()["inventory-service"], 1);
  EXPECT_NE(system.output().find("inventory-service exited unexpectedly (signal SIGKILL)"),
            std::string::npos)
      << system.output();
  EXPECT_EQ(system.stop(), 0);
}

TEST(SupervisionTest, KilledBrokerIsReplacedAndEveryServiceRestartedOnIt) {
  RunningSystem system({}, {.system_yaml = kFastBackoff});
  auto old_bootstrap = system.bootstrap_servers();
  auto old_pids = system.pids();
  ASSERT_EQ(kill(old_pids.at("orderflow-broker"), SIGKILL), 0);

  ASSERT_NE(wait_new_pid(system, "orderflow-broker", old_pids.at("orderflow-broker")), 0)
      << system.output();
  // endpoints.json names the new broker once every service runs on it.
  EXPECT_TRUE(eventually(
      [&] { return system.reload_endpoints() && system.bootstrap_servers() != old_bootstrap; },
      60000ms, 50ms))
      << system.output();
  for (const std::string name : kServices) {
    EXPECT_NE(wait_new_pid(system, name, old_pids.at(name), 1000ms), 0) << name;
    EXPECT_TRUE(ready(system, name)) << name;
    EXPECT_EQ(system.restarts()[name], 1) << name;
  }
  auto id = place(system, "supervised-2");
  ASSERT_NE(id, 0);
  EXPECT_TRUE(eventually([&] { return status_of(system, id) == "COMPLETED"; }, 30000ms, 50ms))
      << "order " << id << " is " << status_of(system, id) << "\n"
      << system.output();
  EXPECT_EQ(system.stop(), 0);
}

TEST(SupervisionTest, ServiceThatKeepsDyingMakesUpGiveUp) {
  RunningSystem system(
      {}, {.system_yaml = "supervision:\n  max_restarts: 1\n  backoff_initial_ms: 100\n"});
  auto first = system.pids().at("payment-service");
  ASSERT_EQ(kill(first, SIGKILL), 0);
  auto second = wait_new_pid(system, "payment-service", first);
  ASSERT_NE(second, 0) << system.output();
  ASSERT_EQ(kill(second, SIGKILL), 0);

  int code = 0;
  ASSERT_TRUE(eventually([&] { return system.exited(&code); }, 60000ms, 50ms)) << system.output();
  EXPECT_NE(code, 0);
  EXPECT_NE(system.output().find("giving up on payment-service"), std::string::npos)
      << system.output();
}

TEST(SupervisionTest, UpRunsAgainOnTheDataDirOfOneKilledWithEverything) {
  RunningSystem first({}, {.system_yaml = kFastBackoff});
  auto id = place(first, "supervised-3");
  ASSERT_NE(id, 0);
  ASSERT_TRUE(eventually([&] { return status_of(first, id) == "COMPLETED"; }, 30000ms, 50ms));
  auto killed = first.pids();
  for (const auto& [name, pid] : killed) kill(pid, SIGKILL);
  ASSERT_TRUE(eventually([&] { return first.exited(); }, 10000ms, 50ms));

  RunningSystem second({}, {.data_dir = first.data_dir(), .system_yaml = kFastBackoff});
  EXPECT_EQ(status_of(second, id), "COMPLETED");
  EXPECT_NE(second.pids().at("orderflow"), killed.at("orderflow"));
  auto next = place(second, "supervised-3");
  ASSERT_NE(next, 0);
  EXPECT_TRUE(eventually([&] { return status_of(second, next) == "COMPLETED"; }, 30000ms, 50ms))
      << second.output();
  EXPECT_EQ(second.stop(), 0);
}

}  // namespace
}  // namespace orderflow::testing
