#include "orderflow/testing/test_broker.h"

#include <librdkafka/rdkafka.h>

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

TopicReader::TopicReader(const std::string& bootstrap, const std::string& topic, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", unique_name("reader").c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "fetch.wait.max.ms", "5", err, sizeof err);
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk_ == nullptr) throw std::runtime_error(std::string("TopicReader: ") + err);
  auto* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk_, parts);
  rd_kafka_topic_partition_list_destroy(parts);
}

TopicReader::~TopicReader() {
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

const std::vector<ReadRecord>& TopicReader::poll() {
  while (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 20)) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ReadRecord r;
      r.partition = m->partition;
      r.offset = m->offset;
      if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr) r.value.assign(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t i = 0;
             rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          r.headers.push_back(
              {name, value ? std::string(static_cast<const char*>(value), size) : ""});
        }
      }
      records_.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  return records_;
}

}  // namespace orderflow::testing
