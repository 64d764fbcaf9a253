// Start-up topic creation (issue 10 item 3, "Bad input and faults"): a broker that does not
// answer does not stop a service's start-up; the attempt is retried in the background. The
// refusal of a topic by a real cluster is tested in e2e/kafka_cluster_test.cpp.
#include <gtest/gtest.h>

#include <chrono>

#include "orderflow/config/config.h"
#include "orderflow/observability/logging.h"
#include "orderflow/runtime/topic_provisioner.h"
#include "orderflow/testing/support.h"

namespace orderflow::runtime {
namespace {

using namespace std::chrono_literals;

config::ServiceConfig unreachable_cluster() {
  auto source = config::Source::load("", {}, {"kafka.bootstrap_servers=127.0.0.1:1"});
  config::Reader reader(source);
  auto c = config::read_service_config(reader, "order-service", 8080);
  reader.finish();
  return c;
}

TEST(TopicProvisionerTest, AnUnreachableBrokerDoesNotStopStartUpAndIsRetried) {
  auto cfg = unreachable_cluster();
  ASSERT_TRUE(cfg.create_topics);
  auto logger = observability::make_logger("topics-test", {testing::test_log_level(), "text"});
  TopicProvisioner topics(cfg, logger, 300ms, 50ms);
  auto started = std::chrono::steady_clock::now();
  EXPECT_NO_THROW(topics.start());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_FALSE(topics.done());
  auto stopping = std::chrono::steady_clock::now();
  topics.stop();  // ends the retries without waiting for the cluster
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 5s);
  EXPECT_FALSE(topics.done());
}

TEST(TopicProvisionerTest, CreationOffIsDoneWithoutAsking) {
  auto cfg = unreachable_cluster();
  cfg.create_topics = false;
  auto logger = observability::make_logger("topics-test", {testing::test_log_level(), "text"});
  TopicProvisioner topics(cfg, logger, 300ms, 50ms);
  auto started = std::chrono::steady_clock::now();
  topics.start();
  EXPECT_TRUE(topics.done());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 100ms);
}

}  // namespace
}  // namespace orderflow::runtime
