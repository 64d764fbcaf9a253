#include "orderflow/testing/test_broker.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "orderflow/config/kafka_profile.h"
#include "orderflow/messaging/topic_admin.h"
#include "orderflow/observability/logging.h"

namespace orderflow::testing {

namespace {
constexpr auto kCreateTopicTimeout = std::chrono::seconds(30);
constexpr int kClusterBrokers = 3;
constexpr int kMetadataTimeoutMs = 2000;

// Whether the broker at `address` (asked alone: a fresh client knows no other broker yet)
// reports every topic of `topics` with a leader for each partition.
bool broker_knows(const std::string& address, const std::vector<std::string>& topics) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", address.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err), rd_kafka_destroy);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return false;
  }
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(rk.get(), 1, nullptr, &metadata, kMetadataTimeoutMs) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return false;
  }
  std::size_t ready = 0;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const auto& topic = metadata->topics[t];
    bool wanted = false;
    for (const auto& name : topics) wanted = wanted || name == topic.topic;
    if (!wanted || topic.err != RD_KAFKA_RESP_ERR_NO_ERROR || topic.partition_cnt == 0) continue;
    bool led = true;
    for (int p = 0; p < topic.partition_cnt; ++p) led = led && topic.partitions[p].leader >= 0;
    if (led) ++ready;
  }
  rd_kafka_metadata_destroy(metadata);
  return ready == topics.size();
}
}  // namespace

std::string broker_kind_name(BrokerKind kind) {
  return kind == BrokerKind::kKafka ? "Kafka" : "Embedded";
}

std::string shared_kafka_bootstrap() {
  const char* file = std::getenv(kKafkaBootstrapFileEnv);
  if (file == nullptr || *file == '\0') return "";
  std::ifstream in(file);
  std::string bootstrap;
  std::getline(in, bootstrap);
  if (bootstrap.empty()) {
    throw std::runtime_error(std::string("no bootstrap in ") + file +
                             ": the shared Kafka cluster (orderflow-test-cluster) is not up");
  }
  return bootstrap;
}

TestBroker::TestBroker(BrokerKind kind) : kind_(kind) {
  if (kind_ == BrokerKind::kEmbedded) {
    embedded_ = std::make_unique<EmbeddedBroker>();
    bootstrap_ = embedded_->bootstrap_servers();
    return;
  }
  bootstrap_ = shared_kafka_bootstrap();
  if (bootstrap_.empty()) {
    throw std::runtime_error(
        std::string("a /Kafka test needs the shared cluster: run it through ctest (label kafka), "
                    "or start build/tests/orderflow-test-cluster start --dir DIR and set ") +
        kKafkaBootstrapFileEnv + "=DIR/bootstrap");
  }
}

TestBroker::~TestBroker() = default;

std::string TestBroker::bootstrap_servers() const { return bootstrap_; }

messaging::KafkaConfig kafka_config_for(BrokerKind kind, const std::string& bootstrap,
                                        const std::string& client_id) {
  messaging::KafkaConfig config;
  config.bootstrap_servers = bootstrap;
  config.client_id = client_id;
  config::apply_kafka_profile(
      config::load_kafka_profile(kind == BrokerKind::kKafka ? "cluster" : "embedded"), config);
  return config;
}

BrokerKind broker_kind_from_name(const std::string& name) {
  if (name == "Embedded") return BrokerKind::kEmbedded;
  if (name == "Kafka") return BrokerKind::kKafka;
  throw std::invalid_argument("no broker kind " + name);
}

messaging::KafkaConfig TestBroker::kafka_config(const std::string& client_id) const {
  return kafka_config_for(kind_, bootstrap_, client_id);
}

void create_kafka_topics(const std::string& bootstrap, const std::vector<std::string>& topics,
                         int partitions) {
  int replication = messaging::default_replication_factor(kClusterBrokers);
  std::map<std::string, std::string> configs{
      {"min.insync.replicas", std::to_string(messaging::default_min_insync_replicas(replication))}};
  std::vector<messaging::TopicSpec> specs;
  for (const auto& topic : topics) specs.push_back({topic, partitions, replication, configs});
  static auto logger = observability::make_logger("test-broker", {test_log_level(), "text"});
  messaging::ensure_topics(kafka_config_for(BrokerKind::kKafka, bootstrap, "test-topic-admin"),
                           specs, kCreateTopicTimeout, logger);
  // CreateTopics answers once the controller has the topics; each broker learns them a little
  // later. A consumer that subscribes meanwhile and asks a broker that does not know the topic
  // yet takes it for missing until its next metadata refresh (minutes): wait until every broker
  // knows them.
  std::vector<std::string> brokers;
  std::istringstream list(bootstrap);
  for (std::string address; std::getline(list, address, ',');) brokers.push_back(address);
  auto deadline = std::chrono::steady_clock::now() + kCreateTopicTimeout;
  for (const auto& address : brokers) {
    while (!broker_knows(address, topics)) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("broker " + address + " does not report the new topics in time");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

void TestBroker::create_topic(const std::string& topic, int partitions) {
  if (embedded_) {
    embedded_->create_topic(topic, partitions);
    return;
  }
  create_kafka_topics(bootstrap_, {topic}, partitions);
}

EmbeddedBroker& TestBroker::embedded() {
  if (!embedded_) throw std::logic_error("this test needs the embedded broker (a mock feature)");
  return *embedded_;
}

}  // namespace orderflow::testing
