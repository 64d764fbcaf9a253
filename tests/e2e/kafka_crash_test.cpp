// e2e crash recovery on the real 3-node Kafka cluster (issues 9 and 10): under 100 orders/s,
// kill -9 inventory-service and then payment-service (restarted by the supervisor); the group
// coordinator of a real broker rejoins them, they resume from the committed offsets the
// cluster kept, and the four invariants hold.
#include "crash_scenario.h"

namespace orderflow::testing {
namespace {

using namespace crash;  // NOLINT(google-build-using-namespace): the scenario vocabulary

TEST(KafkaCrashTest, KilledConsumersAreRestartedAndResumeFromTheClustersOffsets) {
  TempDir dir;
  SystemOptions on_kafka;
  on_kafka.up_args = {"--broker", "kafka"};
  on_kafka.up_timeout = 240s;  // three JVMs on two shared cores
  RunningSystem system(overrides_for(dir), on_kafka);
  auto before = stock_totals(system);
  Load load(system, kLoadFor);
  ASSERT_TRUE(load.reached(kRatePerSecond * 4));
  kill_and_await_restart(system, "inventory-service");
  ASSERT_TRUE(load.reached(kRatePerSecond * 10));
  kill_and_await_restart(system, "payment-service");
  for (const auto* s : {"inventory-service", "payment-service"}) {
    ASSERT_TRUE(eventually([&] { return ready(system, s); }, 60s, 100ms))
        << s << " not ready after its restart:\n"
        << system.output();
  }
  load.join();
  expect_invariants(system, load, before);
  EXPECT_EQ(system.stop(), 0) << system.output();
}

}  // namespace
}  // namespace orderflow::testing
