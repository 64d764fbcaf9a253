// Kafka profiles (issue 10 item 4): broker-dependent librdkafka tuning lives in
// config/kafka-profiles.yaml, chosen by kafka.profile; a service's own settings win.
#include <gtest/gtest.h>

#include <fstream>

#include "orderflow/config/config.h"
#include "orderflow/config/kafka_profile.h"
#include "orderflow/runtime/topic_provisioner.h"
#include "orderflow/testing/support.h"

namespace orderflow::config {
namespace {

ServiceConfig read(const std::vector<std::string>& overrides) {
  auto source = Source::load("", {}, overrides);
  Reader reader(source);
  auto c = read_service_config(reader, "order-service", 8080);
  reader.finish();
  return c;
}

TEST(KafkaProfileTest, BundledProfilesDifferWhereTheBrokersDo) {
  auto embedded = load_kafka_profile("embedded");
  auto cluster = load_kafka_profile("cluster");
  EXPECT_EQ(embedded.consumer.at("fetch.wait.max.ms"), "5");
  EXPECT_EQ(embedded.consumer.at("session.timeout.ms"), "6000");
  EXPECT_NE(cluster.consumer.at("fetch.wait.max.ms"), "5");
  EXPECT_EQ(embedded.producer.at("compression.type"), "lz4");
  EXPECT_TRUE(cluster.producer.contains("linger.ms"));
  // A bounded producer queue on both (librdkafka's default holds up to 1 GiB), and no
  // message.timeout.ms: outbox.delivery_timeout_ms sets it.
  for (const auto* p : {&embedded, &cluster}) {
    EXPECT_TRUE(p->producer.contains("queue.buffering.max.messages")) << p->name;
    EXPECT_TRUE(p->producer.contains("queue.buffering.max.kbytes")) << p->name;
    EXPECT_FALSE(p->producer.contains("message.timeout.ms")) << p->name;
  }
  // Guarantees are the library's, never a profile's.
  for (const auto* p : {&embedded, &cluster}) {
    for (const auto* key : {"acks", "enable.idempotence", "enable.auto.commit",
                            "enable.auto.offset.store", "partition.assignment.strategy"}) {
      EXPECT_FALSE(p->properties.contains(key) || p->consumer.contains(key) ||
                   p->producer.contains(key))
          << p->name << " sets " << key;
    }
  }
}

TEST(KafkaProfileTest, DefaultFollowsTheBootstrapAndAnExplicitOneWins) {
  auto embedded = read({});
  EXPECT_EQ(embedded.kafka_profile, "embedded");
  EXPECT_EQ(embedded.kafka.consumer_properties.at("fetch.wait.max.ms"), "5");
  EXPECT_FALSE(embedded.create_topics);  // the embedded broker creates its own

  auto cluster = read({"kafka.bootstrap_servers=k1:9092"});
  EXPECT_EQ(cluster.kafka_profile, "cluster");
  EXPECT_EQ(cluster.kafka.consumer_properties.at("fetch.wait.max.ms"),
            load_kafka_profile("cluster").consumer.at("fetch.wait.max.ms"));
  EXPECT_TRUE(cluster.create_topics);

  auto chosen =
      read({"kafka.bootstrap_servers=k1:9092", "kafka.profile=embedded", "topics.create=false"});
  EXPECT_EQ(chosen.kafka.producer_properties.at("linger.ms"), "1");
  EXPECT_FALSE(chosen.create_topics);

  auto none = read({"kafka.profile=none"});
  EXPECT_TRUE(none.kafka.consumer_properties.empty());
  // Only what the configuration itself sets (outbox.delivery_timeout_ms), no profile's tuning.
  EXPECT_EQ(none.kafka.producer_properties,
            (std::map<std::string, std::string>{{"message.timeout.ms", "30000"}}));
}

TEST(KafkaProfileTest, TheServicesOwnSettingsWinOnTheirSide) {
  auto c = read({"kafka.profile=embedded", "kafka.properties.linger.ms=20",
                 "kafka.consumer.session.timeout.ms=9000"});
  EXPECT_EQ(c.kafka.properties.at("linger.ms"), "20");
  EXPECT_FALSE(c.kafka.producer_properties.contains("linger.ms"));  // would override the 20
  EXPECT_EQ(c.kafka.consumer_properties.at("session.timeout.ms"), "9000");
  EXPECT_EQ(c.kafka.consumer_properties.at("fetch.wait.max.ms"), "5");

  // A shared profile key shadowed on one side still reaches the other side.
  KafkaProfile profile{"p", {{"socket.timeout.ms", "1000"}}, {}, {}};
  messaging::KafkaConfig kafka;
  kafka.consumer_properties = {{"socket.timeout.ms", "2000"}};
  apply_kafka_profile(profile, kafka);
  EXPECT_FALSE(kafka.properties.contains("socket.timeout.ms"));
  EXPECT_EQ(kafka.consumer_properties.at("socket.timeout.ms"), "2000");
  EXPECT_EQ(kafka.producer_properties.at("socket.timeout.ms"), "1000");
}

TEST(KafkaProfileTest, BadProfilesStopStartUpNamingTheProblem) {
  testing::TempDir dir;
  auto file = dir.file("profiles.yaml");
  std::ofstream(file) << "fast:\n  consumer:\n    fetch.wait.max.ms: \"1\"\n  typo: {}\n"
                      << "flat:\n  consumer: 5\n";
  try {
    load_kafka_profile("slow", file);
    ADD_FAILURE() << "an unknown profile was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no profile 'slow' (known: fast, flat)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(load_kafka_profile("fast", file), ConfigError);  // typo
  EXPECT_THROW(load_kafka_profile("flat", file), ConfigError);  // not a map
  EXPECT_THROW(load_kafka_profile("embedded", dir.file("missing.yaml")), ConfigError);
  EXPECT_THROW(read({"kafka.profile=fastest"}), ConfigError);
}

TEST(ServiceTopicsTest, EveryTopicAndItsDltWithReplicationFromTheClusterSize) {
  auto c = read({"topics.partitions=6", "topics.orders=o", "topics.dlt_suffix=.DLT"});
  auto one = runtime::service_topics(c, 1);
  ASSERT_EQ(one.size(), 6u);
  EXPECT_EQ(one[0].name, "o");
  EXPECT_EQ(one[1].name, "o.DLT");
  EXPECT_EQ(one[5].name, "payments.v1.DLT");
  EXPECT_EQ(one[0].partitions, 6);
  EXPECT_EQ(one[0].replication_factor, 1);
  EXPECT_EQ(one[0].configs.at("min.insync.replicas"), "1");
  auto five = runtime::service_topics(c, 5);
  EXPECT_EQ(five[3].replication_factor, 3);
  EXPECT_EQ(five[3].configs.at("min.insync.replicas"), "2");
  auto set = runtime::service_topics(
      read({"topics.replication_factor=2", "topics.min_insync_replicas=2"}), 5);
  EXPECT_EQ(set[0].replication_factor, 2);
  EXPECT_EQ(set[0].configs.at("min.insync.replicas"), "2");
}

}  // namespace
}  // namespace orderflow::config
