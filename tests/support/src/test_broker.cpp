#include "orderflow/testing/test_broker.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "orderflow/config/kafka_profile.h"
#include "orderflow/messaging/topic_admin.h"
#include "orderflow/observability/logging.h"

namespace orderflow::testing {

namespace {
constexpr auto kCreateTopicTimeout = std::chrono::seconds(30);
constexpr int kClusterBrokers = 3;

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
