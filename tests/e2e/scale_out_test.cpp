// e2e scale-out (issue 11, item 6): two instances of every service in one consumer group each,
// on PostgreSQL (`orderflow up --storage postgres --replicas 2`), the brief's invariants checked
// after each scenario: (a) orders posted to both order-service instances all end correctly;
// (b) one inventory-service instance killed with SIGKILL under a steady load: the group
// rebalances, the survivor takes over, nothing is lost and nothing takes effect twice.
#include "crash_scenario.h"

namespace orderflow::testing {
namespace {

using namespace crash;  // NOLINT(google-build-using-namespace): the scenario vocabulary

constexpr int kRate = 50;  // orders/s, spread over both order-service instances
constexpr const char* kServices[] = {"order-service", "inventory-service", "payment-service",
                                     "notification-service", "ops-service"};

SystemOptions two_instances_each(DatabaseKind storage) {
  SystemOptions options;
  options.storage = storage;
  options.replicas = 2;
  // Ten services joining five groups in pairs, and creating their databases, take longer.
  options.up_timeout = 120s;
  return options;
}

// Partitions the consumer of `instance` holds (/health/ready: details.consumer).
int assigned_partitions(const RunningSystem& system, const std::string& instance) {
  auto r = system.call(instance, "GET", "/health/ready");
  if (r.status != 200 || !r.body.is_object()) return -1;
  return r.body["details"]["consumer"].value("assignedPartitions", -1);
}

// Run by DatabaseKind so that the …/Postgres name brings the ctest run's shared server.
class ScaleOutTest : public ::testing::TestWithParam<DatabaseKind> {};

TEST_P(ScaleOutTest, TwoInstancesOfEveryServiceShareTheWorkAndEveryOrderEndsCorrectly) {
  TempDir dir;
  RunningSystem system(overrides_for(dir), two_instances_each(GetParam()));
  for (const std::string service : kServices) {
    ASSERT_EQ(system.instances(service), (std::vector<std::string>{service, service + "-2"}));
    // One group per service whose partitions both of its instances share.
    for (const auto& instance : system.instances(service)) {
      EXPECT_TRUE(eventually([&] { return assigned_partitions(system, instance) > 0; }, 30s))
          << instance << " holds no partition of its group";
    }
  }
  auto before = stock_totals(system);
  Load load(system, 10s, kRate, system.instances("order-service"));
  load.join();
  for (const auto& instance : system.instances("order-service")) {
    EXPECT_GT(load.accepted_by()[instance], 0) << instance << " accepted no order";
  }
  // Of the 500 due: the load falls behind its pace when the two cores are busy (91 in 6 s,
  // seen beside a benchmark); 100 still take every saga path ten times.
  expect_invariants(system, load, before, 100);
  EXPECT_EQ(system.stop(), 0) << system.output();
}

TEST_P(ScaleOutTest, KilledInventoryInstanceIsTakenOverWithoutLossOrDuplicateEffects) {
  auto options = two_instances_each(GetParam());
  // The killed instance is restarted only after the test: until then the survivor alone must
  // do the whole group's work.
  options.system_yaml = "supervision:\n  backoff_initial_ms: 300000\n  backoff_max_ms: 300000\n";
  TempDir dir;
  RunningSystem system(overrides_for(dir), options);
  auto before = stock_totals(system);
  // inventory.v1's consumers read orders.v1 and payments.v1: 3 partitions each.
  constexpr int kInventoryPartitions = 6;
  ASSERT_TRUE(
      eventually([&] { return assigned_partitions(system, "inventory-service-2") > 0; }, 30s));
  Load load(system, 16s, kRate, system.instances("order-service"));
  ASSERT_TRUE(load.reached(kRate * 3));
  pid_t victim = pid_of(system, "inventory-service-2");
  ASSERT_GT(victim, 0);
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  // The group notices after the member's session timeout (6 s with the embedded profile).
  EXPECT_TRUE(eventually(
      [&] { return assigned_partitions(system, "inventory-service") == kInventoryPartitions; }, 30s,
      100ms))
      << "the survivor did not take over every partition:\n"
      << system.output();
  EXPECT_EQ(pid_of(system, "inventory-service-2"), -1) << "restarted before the load ended";
  load.join();
  // Of the 800 due; at least 100 after the kill.
  expect_invariants(system, load, before, kRate * 5);
  EXPECT_EQ(system.stop(), 0) << system.output();
}

INSTANTIATE_TEST_SUITE_P(, ScaleOutTest, ::testing::Values(DatabaseKind::kPostgres),
                         DatabaseKindParamName());

// One SQLite file per service cannot take two instances' outbox relays: refused before anything
// starts, with the way out in the message.
TEST(ScaleOutRefusalTest, SeveralInstancesOnSqliteAreRefused) {
  SystemOptions options;
  options.replicas = 2;
  try {
    RunningSystem system({}, options);
    FAIL() << "orderflow up ran two instances of every service on SQLite";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--storage postgres"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace orderflow::testing
