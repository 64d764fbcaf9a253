#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "orderflow/messaging/record.h"
#include "orderflow/testing/support.h"

struct rd_kafka_s;

namespace orderflow::testing {

/// Which broker a broker test runs on: the embedded one (librdkafka mock cluster, in process)
/// or the real Kafka cluster that the ctest run shares (orderflow-test-cluster).
enum class BrokerKind { kEmbedded, kKafka };

/// "Embedded" or "Kafka": the suffix of a parametrised test's name (…/Embedded, …/Kafka), by
/// which tests/CMakeLists.txt gives the Kafka runs the label `kafka` and the cluster fixture.
std::string broker_kind_name(BrokerKind kind);
/// GoogleTest prints test parameters with this (e.g. in --gtest_list_tests).
inline void PrintTo(BrokerKind kind, std::ostream* out) { *out << broker_kind_name(kind); }

/// Environment variable naming the file that holds the shared cluster's bootstrap string
/// (set by tests/CMakeLists.txt on every test labelled `kafka`).
inline constexpr const char* kKafkaBootstrapFileEnv = "ORDERFLOW_TEST_KAFKA_BOOTSTRAP_FILE";

/// The shared real cluster's bootstrap string, read from the file named by
/// ORDERFLOW_TEST_KAFKA_BOOTSTRAP_FILE; "" when that variable is unset (the test binary was not
/// started by ctest with the kafka_cluster fixture). Throws std::runtime_error when the variable
/// is set but the file is missing or empty (the fixture failed).
std::string shared_kafka_bootstrap();

/// A KafkaConfig for the broker of `kind` at `bootstrap` (e.g. in a child process that got the
/// bootstrap string from its parent): the profile of its kind applied, "embedded" for the mock,
/// "cluster" for real Kafka.
messaging::KafkaConfig kafka_config_for(BrokerKind kind, const std::string& bootstrap,
                                        const std::string& client_id = "");
/// BrokerKind from its name ("Embedded" or "Kafka"); throws std::invalid_argument otherwise.
BrokerKind broker_kind_from_name(const std::string& name);

/// Creates `topics` (each with `partitions` partitions, replication factor 3,
/// min.insync.replicas 2) on the real cluster at `bootstrap` through the Admin API
/// (messaging::ensure_topics); existing ones are fine. Throws std::runtime_error on failure.
void create_kafka_topics(const std::string& bootstrap, const std::vector<std::string>& topics,
                         int partitions = 3);

/// A broker for one test. Embedded: a fresh EmbeddedBroker (3 mock brokers) owned by this
/// object. Kafka: the shared 3-node cluster; nothing is created or removed on it except
/// through create_topic(), so each test must use unique topic and group names
/// (unique_name()). Not thread-safe.
class TestBroker {
 public:
  /// Throws std::runtime_error for kKafka when shared_kafka_bootstrap() is "" or fails.
  explicit TestBroker(BrokerKind kind);
  ~TestBroker();
  TestBroker(const TestBroker&) = delete;
  TestBroker& operator=(const TestBroker&) = delete;

  [[nodiscard]] BrokerKind kind() const { return kind_; }
  [[nodiscard]] bool is_kafka() const { return kind_ == BrokerKind::kKafka; }
  [[nodiscard]] std::string bootstrap_servers() const;
  /// A KafkaConfig for this broker (bootstrap_servers, client_id) with the profile of its kind
  /// applied: "embedded" for the mock, "cluster" for real Kafka.
  [[nodiscard]] messaging::KafkaConfig kafka_config(const std::string& client_id = "") const;
  /// Creates `topic` with `partitions` partitions: the mock's API on the embedded broker, the
  /// Admin API (messaging::ensure_topics, replication factor 3, min.insync.replicas 2) on
  /// Kafka, waiting until the topic is created. Throws std::runtime_error on failure.
  void create_topic(const std::string& topic, int partitions = 3);
  /// The embedded broker, for mock-only features (fail_requests). Throws std::logic_error on
  /// Kafka: a test that needs it runs embedded only.
  EmbeddedBroker& embedded();

 private:
  BrokerKind kind_;
  std::unique_ptr<EmbeddedBroker> embedded_;
  std::string bootstrap_;
};

/// A record read back by TopicReader.
struct ReadRecord {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  messaging::Headers headers;
};

/// Reads partitions 0..partitions-1 of `topic` at `bootstrap` from the beginning without a
/// group (sees control records, which a ConsumerRunner hides). Not thread-safe.
class TopicReader {
 public:
  TopicReader(const std::string& bootstrap, const std::string& topic, int partitions = 3);
  ~TopicReader();
  TopicReader(const TopicReader&) = delete;
  TopicReader& operator=(const TopicReader&) = delete;
  /// Polls briefly and appends what arrived; returns everything read so far, in the order
  /// read (per partition, offset order).
  const std::vector<ReadRecord>& poll();

 private:
  rd_kafka_s* rk_ = nullptr;
  std::vector<ReadRecord> records_;
};

}  // namespace orderflow::testing
