// /health/ready tells the truth (issue 9): draining, a silent broker and a member that lost its
// partitions make a service unready, each with a reason.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "orderflow/runtime/broker_monitor.h"
#include "orderflow/runtime/periodic_task.h"
#include "orderflow/runtime/service_status.h"
#include "orderflow/testing/fake_producer.h"

namespace orderflow::runtime {
namespace {

using namespace std::chrono_literals;

messaging::ConsumerStatus healthy_consumer() {
  messaging::ConsumerStatus c;
  c.running = true;
  c.joined = true;
  c.assigned_partitions = 3;
  c.session_timeout_ms = 6000;
  return c;
}

ReadinessFacts healthy() {
  ReadinessFacts f;
  f.consumer = healthy_consumer();
  f.broker_unreachable_for = 0ms;
  f.broker_grace = 5000ms;
  return f;
}

TEST(Readiness, HealthyServiceIsReadyWithoutReason) {
  auto r = evaluate_readiness(healthy());
  EXPECT_TRUE(r.ready);
  EXPECT_TRUE(r.reason.empty());
  EXPECT_EQ(r.details["intake"], "OPEN");
  EXPECT_EQ(r.details["broker"]["status"], "UP");
}

TEST(Readiness, EachFailingCheckNamesItsReason) {
  struct Case {
    const char* name;
    void (*mutate)(ReadinessFacts&);
    const char* reason_prefix;
  };
  const Case cases[] = {
      {"database", [](ReadinessFacts& f) { f.database_error = "disk I/O error"; }, "database"},
      {"draining", [](ReadinessFacts& f) { f.draining = true; }, "draining"},
      {"broker silent past the grace",
       [](ReadinessFacts& f) {
         f.broker_unreachable_for = 5001ms;
         f.broker_error = "timed out";
       },
       "broker unreachable for 5001 ms"},
      {"consumer stopped", [](ReadinessFacts& f) { f.consumer->running = false; }, "consumer is"},
      {"not joined", [](ReadinessFacts& f) { f.consumer->joined = false; }, "consumer has not"},
      {"offset reset", [](ReadinessFacts& f) { f.consumer->offset_resets = 1; }, "consumer offset"},
      {"no partition past the session timeout",
       [](ReadinessFacts& f) {
         f.consumer->assigned_partitions = 0;
         f.consumer->unassigned_ms = 6001;
       },
       "consumer holds no partition"},
  };
  for (const auto& c : cases) {
    auto facts = healthy();
    c.mutate(facts);
    auto r = evaluate_readiness(facts);
    EXPECT_FALSE(r.ready) << c.name;
    EXPECT_EQ(r.reason.rfind(c.reason_prefix, 0), 0u) << c.name << ": " << r.reason;
  }
}

TEST(Readiness, ShortSilencesAndRebalancesAreTolerated) {
  auto facts = healthy();
  facts.broker_unreachable_for = 5000ms;  // at the grace, not past it
  EXPECT_TRUE(evaluate_readiness(facts).ready);
  facts = healthy();
  facts.consumer->assigned_partitions = 0;
  facts.consumer->unassigned_ms = 6000;  // a rebalance under way
  EXPECT_TRUE(evaluate_readiness(facts).ready);
}

TEST(Readiness, FirstFailureIsTheReasonAndDetailsKeepEveryCheck) {
  auto facts = healthy();
  facts.draining = true;
  facts.broker_unreachable_for = 9000ms;
  auto r = evaluate_readiness(facts);
  EXPECT_EQ(r.reason.rfind("draining", 0), 0u) << r.reason;
  EXPECT_EQ(r.details["intake"], "DRAINING");
  EXPECT_EQ(r.details["broker"]["status"], "UNREACHABLE");
  EXPECT_EQ(r.details["broker"]["unreachableMs"], 9000);
}

// FirstRun::kAtStart runs the task at once on the task's thread (start() does not wait for it: the
// task below blocks until the test lets it go); the default waits one interval first.
TEST(PeriodicTaskTest, RunsRightAtStartOnlyWhenAsked) {
  std::promise<void> ran;
  std::promise<void> release;
  auto released = release.get_future().share();
  PeriodicTask at_start(
      1h,
      [&] {
        ran.set_value();
        released.wait();
      },
      PeriodicTask::FirstRun::kAtStart);
  at_start.start();
  EXPECT_EQ(ran.get_future().wait_for(10s), std::future_status::ready);
  release.set_value();
  at_start.stop();

  std::atomic<int> runs{0};
  PeriodicTask after_interval(1h, [&] { ++runs; });
  after_interval.start();
  after_interval.stop();
  EXPECT_EQ(runs, 0);
}

TEST(BrokerMonitorTest, CountsSilenceFromTheLastSuccessfulPing) {
  testing::FakeProducer producer;
  BrokerMonitor monitor(producer, 1h, 1s);  // pinged by hand below
  monitor.check();
  const auto t0 = BrokerMonitor::SteadyClock::now();
  EXPECT_EQ(monitor.unreachable_for(t0 + 10s), 0ms);
  producer.set_ping(unavailable("KAFKA_UNREACHABLE", "no metadata"));
  monitor.check();
  EXPECT_GE(monitor.unreachable_for(t0 + 10s), 10s);
  EXPECT_EQ(monitor.last_error(), "no metadata");
  producer.set_ping({});
  monitor.check();
  EXPECT_EQ(monitor.unreachable_for(t0 + 20s), 0ms);
  EXPECT_TRUE(monitor.last_error().empty());
}

}  // namespace
}  // namespace orderflow::runtime
