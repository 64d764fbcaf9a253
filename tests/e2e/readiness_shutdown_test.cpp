// e2e (issue 9): /health/ready tells the truth about a stopped broker and a drain, and a
// service whose broker is gone still stops within timeouts.drain_ms.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>

#include "orderflow/testing/system_under_test.h"

namespace orderflow::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kServices[] = {"order-service", "inventory-service", "payment-service",
                                     "notification-service", "ops-service"};
constexpr auto kDrainBudget = 3000ms;

SystemOptions short_drain() {
  SystemOptions o;
  o.system_yaml = "timeouts:\n  drain_ms: " + std::to_string(kDrainBudget.count()) + "\n";
  return o;
}

class ReadinessShutdownTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Never leave the broker stopped: the system's own stop needs it.
    if (auto pid = broker_pid(); pid > 0) kill(pid, SIGCONT);
  }
  pid_t broker_pid() const {
    auto pids = system_.pids();
    return pids.count("orderflow-broker") != 0 ? pids.at("orderflow-broker") : -1;
  }
  RunningSystem::Reply ready(const std::string& service) const {
    return system_.call(service, "GET", "/health/ready");
  }

  RunningSystem system_{{}, short_drain()};
};

// A SIGSTOPped broker keeps its connections open and answers nothing: every service must say
// so within health.broker_unreachable_ms (5 s) plus a probe, and recover when it continues.
TEST_F(ReadinessShutdownTest, StoppedBrokerMakesEveryServiceUnreadyUntilItContinues) {
  for (const auto* s : kServices) ASSERT_EQ(ready(s).status, 200) << s << ready(s).raw;
  pid_t broker = broker_pid();
  ASSERT_GT(broker, 0);
  ASSERT_EQ(kill(broker, SIGSTOP), 0);
  for (const auto* s : kServices) {
    RunningSystem::Reply last;
    EXPECT_TRUE(eventually(
        [&] {
          last = ready(s);
          return last.status == 503 &&
                 last.body.value("reason", "").find("broker unreachable") != std::string::npos;
        },
        15s, 100ms))
        << s << ": " << last.raw;
  }
  ASSERT_EQ(kill(broker, SIGCONT), 0);
  for (const auto* s : kServices) {
    EXPECT_TRUE(eventually([&] { return ready(s).status == 200; }, 20s, 100ms))
        << s << ": " << ready(s).raw;
  }
}

TEST_F(ReadinessShutdownTest, DrainingServiceIsNotReady) {
  ASSERT_EQ(ready("notification-service").status, 200);
  ASSERT_EQ(system_.call("notification-service", "POST", "/admin/drain").status, 200);
  auto r = ready("notification-service");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body.value("reason", "").rfind("draining", 0), 0u) << r.raw;
  EXPECT_EQ(r.body["details"]["intake"], "DRAINING");
}

// Without a broker a final commit, a group leave or a flush would wait far longer than the
// budget; the service logs what it was doing and exits at the deadline.
TEST_F(ReadinessShutdownTest, ServiceWithoutBrokerStopsWithinItsDrainBudget) {
  // Traffic first, so the services have offsets to commit and outbox rows in flight.
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(system_
                  .call("order-service", "POST", "/api/orders",
                        R"({"userId":"stop-)" + std::to_string(i) +
                            R"(","items":[{"sku":"ABC-001","qty":1}]})")
                  .status,
              201);
  }
  pid_t broker = broker_pid();
  ASSERT_EQ(kill(broker, SIGSTOP), 0);
  for (const auto* name : {"payment-service", "inventory-service", "order-service"}) {
    pid_t pid = system_.pids().at(name);
    auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(kill(pid, SIGTERM), 0);
    // The supervisor reaps it (and starts a new one): gone from the process table, a new pid.
    ASSERT_TRUE(eventually([&] { return kill(pid, 0) != 0; }, kDrainBudget + 10s, 20ms))
        << name << " did not stop";
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, kDrainBudget + 1500ms)
        << name << " took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
        << " ms";
  }
}

}  // namespace
}  // namespace orderflow::testing
