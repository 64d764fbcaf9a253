// e2e crash recovery (issue 9): under a steady load of ≥ 100 orders/s for ≥ 15 s, kill -9 one
// process (each service in turn, the embedded broker, or `orderflow up` with every child) and
// check the brief's four invariants afterwards: every accepted order terminal, stock conserved,
// COMPLETED charged once, CANCELLED net charge zero (refunds after a restart included), exactly
// one notification per (event, user).
#include "crash_scenario.h"

namespace orderflow::testing {
namespace {

using namespace crash;  // NOLINT(google-build-using-namespace): the scenario vocabulary

class CrashEachServiceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CrashEachServiceTest, KilledServiceIsRestartedAndNothingIsLostOrChargedWrongly) {
  TempDir dir;
  RunningSystem system(overrides_for(dir));
  auto before = stock_totals(system);
  Load load(system, kLoadFor);
  // A third of the way in: the backlog it misses must be processed after the restart.
  ASSERT_TRUE(load.reached(kRatePerSecond * 5));
  kill_and_await_restart(system, GetParam());
  ASSERT_TRUE(eventually([&] { return ready(system, GetParam()); }, 60s, 100ms))
      << GetParam() << " not ready after its restart:\n"
      << system.output();
  load.join();
  EXPECT_EQ(system.restarts()[GetParam()], 1);
  expect_invariants(system, load, before);
  EXPECT_EQ(system.stop(), 0) << system.output();
}

INSTANTIATE_TEST_SUITE_P(Services, CrashEachServiceTest,
                         ::testing::Values("order-service", "inventory-service", "payment-service",
                                           "notification-service", "ops-service"),
                         [](const auto& info) {
                           auto name = info.param;
                           std::erase(name, '-');
                           return name;
                         });

// The embedded broker is in memory: its death loses every record it held. The supervisor
// starts a new one and restarts the services on it; they see a new cluster id and publish
// their retained outbox history again, which the consumers' inboxes deduplicate.
TEST(CrashRecoveryTest, KilledEmbeddedBrokerIsReplacedAndTheOutboxHistoryRepairsTheLoss) {
  TempDir dir;
  RunningSystem system(overrides_for(dir));
  auto before = stock_totals(system);
  const auto old_bootstrap = system.bootstrap_servers();
  Load load(system, kLoadFor);
  ASSERT_TRUE(load.reached(kRatePerSecond * 5));
  kill_and_await_restart(system, "orderflow-broker");
  ASSERT_TRUE(eventually(
      [&] {
        if (!system.reload_endpoints() || system.bootstrap_servers() == old_bootstrap) {
          return false;
        }
        for (const auto* s : {"order-service", "inventory-service", "payment-service",
                              "notification-service", "ops-service"}) {
          if (!ready(system, s)) return false;
        }
        return true;
      },
      90s, 200ms))
      << "the services did not come back on the new broker:\n"
      << system.output();
  load.join();
  expect_invariants(system, load, before);
  EXPECT_EQ(system.stop(), 0) << system.output();
}

// A power cut: every process dies at once. A second `orderflow up` on the same data dir
// starts a new (empty) embedded broker; the services repair the loss from their outboxes.
TEST(CrashRecoveryTest, WholeSystemKilledAndStartedAgainOnTheSameDataDir) {
  TempDir dir;
  RunningSystem first(overrides_for(dir));
  auto before = stock_totals(first);
  Load load(first, kLoadFor);
  ASSERT_TRUE(load.reached(kRatePerSecond * 10));
  auto pids = first.pids();
  ASSERT_GE(pids.size(), 7u) << "orderflow, the broker and five services";
  for (const auto& [name, pid] : pids) kill(pid, SIGKILL);
  load.join();
  int code = 0;
  ASSERT_TRUE(eventually([&] { return first.exited(&code); }, 10s));

  SystemOptions again;
  again.data_dir = first.data_dir();
  RunningSystem second(overrides_for(dir), again);
  expect_invariants(second, load, before);
  EXPECT_EQ(second.stop(), 0) << second.output();
}

}  // namespace
}  // namespace orderflow::testing
