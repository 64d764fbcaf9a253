// A real 3-node Apache Kafka cluster (KRaft) as `orderflow up --broker kafka` starts it: topics
// through the Admin API, acks=all + lz4 produce, kcat consume with headers, and records kept
// across a restart on the same data dir. Needs Java and scripts/install-kafka.sh (make deps).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "kafka_cluster.h"
#include "orderflow/config/config.h"
#include "orderflow/config/kafka_profile.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/messaging/topic_admin.h"
#include "orderflow/observability/logging.h"
#include "orderflow/runtime/topic_provisioner.h"
#include "orderflow/testing/support.h"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using orderflow::testing::eventually;
namespace messaging = orderflow::messaging;

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  pclose(pipe);
  return out;
}

// Every record of `topic` as "key|headers|value" lines, read with kcat (a second client).
std::string kcat_read(const std::string& bootstrap, const std::string& topic) {
  return run("timeout 30 kcat -b " + bootstrap + " -C -t " + topic +
             " -o beginning -e -q -f '%k|%h|%s\\n' 2>/dev/null");
}

std::uintmax_t segment_bytes(const fs::path& log_dir, const std::string& topic) {
  std::uintmax_t total = 0;
  for (const auto& partition : fs::directory_iterator(log_dir)) {
    if (partition.path().filename().string().rfind(topic + "-", 0) != 0) continue;
    for (const auto& file : fs::directory_iterator(partition.path())) {
      if (file.path().extension() == ".log") total += fs::file_size(file.path());
    }
  }
  return total;
}

long long seconds_since(std::chrono::steady_clock::time_point from) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               from)
             .count() /
         1000;
}

TEST(KafkaCluster, CreatesTopicsProducesLz4AndKeepsRecordsAcrossARestart) {
  auto logger = orderflow::observability::make_logger(
      "kafka-cluster-test", {orderflow::testing::test_log_level(), "text"});
  orderflow::testing::TempDir dir;
  orderflow::cli::KafkaClusterOptions options;
  options.data_dir = dir.file("data");
  options.brokers = 3;

  auto started = std::chrono::steady_clock::now();
  std::string bootstrap;
  {
    orderflow::cli::KafkaCluster cluster(options, logger);
    cluster.start();
    bootstrap = cluster.bootstrap_servers();
    std::cout << "[kafka] 3 brokers up (first start, formatted) in " << seconds_since(started)
              << " s at " << bootstrap << std::endl;
    ASSERT_EQ(cluster.pids().size(), 3u);

    int rf = messaging::default_replication_factor(3);
    ASSERT_EQ(rf, 3);
    std::vector<messaging::TopicSpec> topics;
    for (std::string name : {"orders.v1", "inventory.v1", "payments.v1"}) {
      for (const auto& t : {name, name + ".dlt"}) {
        topics.push_back({t, 3, rf, {{"min.insync.replicas", "2"}}});
      }
    }
    messaging::KafkaConfig kafka;
    kafka.bootstrap_servers = bootstrap;
    orderflow::config::apply_kafka_profile(orderflow::config::load_kafka_profile("cluster"), kafka);
    auto created = messaging::ensure_topics(kafka, topics, 60s, logger);
    ASSERT_EQ(created.size(), 6u);
    for (const auto& t : created) EXPECT_TRUE(t.created) << t.name;
    // A second call finds them; a different partition count is reported, not changed.
    topics[0].partitions = 5;
    auto again = messaging::ensure_topics(kafka, topics, 60s, logger);
    for (const auto& t : again) EXPECT_FALSE(t.created) << t.name;
    EXPECT_EQ(again[0].partitions, 3);
    // Too few brokers for the replication factor: the error names the topic.
    try {
      messaging::ensure_topics(kafka, {{"too-replicated.v1", 1, 5, {}}}, 30s, logger);
      ADD_FAILURE() << "replication factor 5 on 3 brokers was accepted";
    } catch (const messaging::TopicAdminError& e) {
      EXPECT_NE(std::string(e.what()).find("too-replicated.v1"), std::string::npos) << e.what();
    }

    // A service's start-up creation (topics.create): the six topics of its own names, RF 3 on
    // 3 brokers; a replication factor the cluster cannot have stops start-up naming the topic.
    {
      auto source = orderflow::config::Source::load(
          "", {}, {"kafka.bootstrap_servers=" + bootstrap, "topics.orders=svc-orders"});
      orderflow::config::Reader reader(source);
      auto cfg = orderflow::config::read_service_config(reader, "order-service", 8080);
      orderflow::runtime::TopicProvisioner provisioner(cfg, logger, 30s);
      ASSERT_NO_THROW(provisioner.start());
      EXPECT_TRUE(provisioner.done());
      auto found =
          messaging::ensure_topics(kafka, orderflow::runtime::service_topics(cfg, 3), 30s, logger);
      for (const auto& t : found) EXPECT_FALSE(t.created) << t.name << " was not created before";
      cfg.topics.orders = "svc-over-replicated";
      cfg.replication_factor = 5;
      orderflow::runtime::TopicProvisioner refused(cfg, logger, 30s);
      try {
        refused.start();
        ADD_FAILURE() << "replication factor 5 on 3 brokers did not stop start-up";
      } catch (const messaging::TopicAdminError& e) {
        EXPECT_FALSE(e.retryable());
        EXPECT_NE(std::string(e.what()).find("svc-over-replicated"), std::string::npos) << e.what();
      }
    }

    // acks=all, idempotent (the producer's settings), lz4 (the cluster profile's) with headers.
    auto producer = messaging::make_kafka_producer(kafka, logger);
    const std::string value(2000, 'x');
    auto sent = producer->send_sync(
        {"orders.v1", "order-42", value, {{"eventType", "OrderCreated"}, {"eventId", "e-1"}}}, 60s);
    ASSERT_TRUE(sent.ok()) << sent.error().message;
    std::string line = "order-42|eventType=OrderCreated,eventId=e-1|" + value + "\n";
    ASSERT_TRUE(eventually([&] { return kcat_read(bootstrap, "orders.v1") == line; }, 60s, 500ms))
        << kcat_read(bootstrap, "orders.v1");
    // Compressed on the broker: 2000 bytes of 'x' take far less than 2000 bytes in the
    // segment of each replica (with Kafka 4 and librdkafka 2.0.2 they were sent uncompressed).
    auto node1 = fs::path(options.data_dir) / "kafka" / "node-1" / "data";
    EXPECT_LT(segment_bytes(node1, "orders.v1"), 1000u);
    producer.reset();
    auto stopping = std::chrono::steady_clock::now();
    cluster.stop();
    std::cout << "[kafka] stopped in " << seconds_since(stopping) << " s" << std::endl;
    for (auto pid : cluster.pids()) EXPECT_EQ(pid, -1);
  }

  // A second start on the same data dir: same ports, same cluster, the record still there.
  auto restarted = std::chrono::steady_clock::now();
  orderflow::cli::KafkaCluster cluster(options, logger);
  cluster.start();
  std::cout << "[kafka] restarted in " << seconds_since(restarted) << " s" << std::endl;
  EXPECT_EQ(cluster.bootstrap_servers(), bootstrap);
  std::string line = "order-42|eventType=OrderCreated,eventId=e-1|" + std::string(2000, 'x') + "\n";
  EXPECT_TRUE(eventually([&] { return kcat_read(bootstrap, "orders.v1") == line; }, 60s, 500ms))
      << kcat_read(bootstrap, "orders.v1");
  cluster.stop();
  std::cout << "[kafka] whole test " << seconds_since(started) << " s" << std::endl;
}

}  // namespace
