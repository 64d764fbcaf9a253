#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <string>

#include "orderflow/messaging/producer.h"
#include "orderflow/observability/logging.h"
#include "orderflow/testing/broker_param.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_broker.h"

namespace orderflow::messaging {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::unique_name;

// Tests that need no broker (nothing listens at 127.0.0.1:1).
class KafkaProducerOfflineTest : public ::testing::Test {
 protected:
  /// send() and the report it gets (within 10 s, else a failure).
  static Result<DeliveryReport> report_of(Producer& producer, OutgoingRecord record) {
    std::promise<Result<DeliveryReport>> reported;
    producer.send(std::move(record),
                  [&](const Result<DeliveryReport>& r) { reported.set_value(r); });
    auto future = reported.get_future();
    if (future.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "no delivery report within 10 s";
      return internal_error("NO_REPORT", "no delivery report");
    }
    return future.get();
  }

  std::shared_ptr<spdlog::logger> logger_ =
      observability::make_logger("producer-test", {"error", "text"});
};

// On both brokers: .../Embedded and .../Kafka.
class KafkaProducerTest : public ::testing::TestWithParam<testing::BrokerKind> {
 protected:
  KafkaConfig config(const std::map<std::string, std::string>& properties = {}) {
    KafkaConfig c = broker_.kafka_config("producer-test");
    for (const auto& [key, value] : properties) c.properties[key] = value;
    return c;
  }
  testing::TestBroker broker_{GetParam()};
  std::shared_ptr<spdlog::logger> logger_ =
      observability::make_logger("producer-test", {"error", "text"});
};
ORDERFLOW_ON_BOTH_BROKERS(KafkaProducerTest);

TEST_P(KafkaProducerTest, SendSyncReturnsPartitionAndOffset) {
  auto topic = unique_name("orders");
  broker_.create_topic(topic, 3);
  auto producer = make_kafka_producer(config(), logger_);
  auto first = producer->send_sync({topic, "order-1", "v1", {{"eventId", "e1"}}}, 10s);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = producer->send_sync({topic, "order-1", "v2", {}}, 10s);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_GE(first->partition, 0);
  EXPECT_LT(first->partition, 3);
  EXPECT_EQ(second->partition, first->partition) << "same key, same partition";
  EXPECT_EQ(second->offset, first->offset + 1);
  EXPECT_TRUE(eventually([&] { return producer->in_flight() == 0; }));
}

TEST_P(KafkaProducerTest, AsyncSendReportsEveryRecordOnceAndFlushWaits) {
  auto topic = unique_name("orders");
  broker_.create_topic(topic, 3);
  auto producer = make_kafka_producer(config(), logger_);
  constexpr int kRecords = 500;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < kRecords; ++i) {
    producer->send({topic, "order-" + std::to_string(i % 17), "value-" + std::to_string(i), {}},
                   [&](const Result<DeliveryReport>& r) { (r.ok() ? ok : failed)++; });
  }
  ASSERT_TRUE(producer->flush(20s).ok());
  EXPECT_EQ(ok.load(), kRecords);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_TRUE(eventually([&] { return producer->in_flight() == 0; }));
}

TEST_P(KafkaProducerTest, DeliveryTimeoutIsUnavailable) {
  // A record that cannot be delivered within message.timeout.ms. On Kafka: a topic that does not
  // exist (the test cluster has auto.create.topics.enable=false). The embedded broker
  // auto-creates any topic a client names (even with allow.auto.create.topics=false), so there a
  // broker that keeps refusing Produce requests stands in for it (README "The embedded broker
  // and its limits").
  auto topic = unique_name("orders");
  if (!broker_.is_kafka()) {
    broker_.create_topic(topic, 1);
    constexpr int kProduceApi = 0;
    constexpr int kNotEnoughReplicas = 19;  // retriable: the producer keeps trying
    broker_.embedded().fail_requests(kProduceApi, 1000, kNotEnoughReplicas);
  }
  auto producer = make_kafka_producer(config({{"message.timeout.ms", "300"}}), logger_);
  auto r = producer->send_sync({topic, "k", "v", {}}, 10s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable) << r.error().message;
  EXPECT_TRUE(eventually([&] { return producer->in_flight() == 0; }));
}

TEST_P(KafkaProducerTest, WarmUpLoadsTopicMetadataAndReportsAnUnreachableBroker) {
  auto topic = unique_name("orders");
  broker_.create_topic(topic, 3);
  auto producer = make_kafka_producer(config(), logger_);
  auto warm = producer->warm_up({topic}, 5s);
  ASSERT_TRUE(warm.ok()) << warm.error().message;
  auto sent = producer->send_sync({topic, "order-1", "v", {}}, 5s);
  EXPECT_TRUE(sent.ok());

  auto offline = make_kafka_producer(KafkaConfig{"127.0.0.1:1", "producer-test", {}}, logger_);
  auto start = std::chrono::steady_clock::now();
  auto cold = offline->warm_up({topic}, 300ms);
  ASSERT_FALSE(cold.ok());
  EXPECT_EQ(cold.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(cold.error().code, "KAFKA_METADATA");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "bounded by its timeout";
}

TEST_F(KafkaProducerOfflineTest, SendSyncGivesUpAfterItsTimeout) {
  auto producer = make_kafka_producer(
      KafkaConfig{"127.0.0.1:1", "producer-test", {{"message.timeout.ms", "60000"}}}, logger_);
  auto r = producer->send_sync({"t", "k", "v", {}}, 50ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(r.error().code, "DELIVERY_TIMEOUT");
}

TEST_F(KafkaProducerOfflineTest, UnreachableBrokerIsUnavailable) {
  KafkaConfig c;
  c.bootstrap_servers = "127.0.0.1:1";  // nothing listens there
  c.properties = {{"message.timeout.ms", "300"}};
  auto producer = make_kafka_producer(c, logger_);
  auto r = report_of(*producer, {"t", "k", "v", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
}

TEST_P(KafkaProducerTest, TooLargeRecordIsInvalidInputReportedThroughTheCallback) {
  auto topic = unique_name("orders");
  broker_.create_topic(topic, 1);
  auto producer = make_kafka_producer(config({{"message.max.bytes", "1000"}}), logger_);
  std::atomic<bool> called_inline{true};
  std::promise<Result<DeliveryReport>> reported;
  bool in_send = true;
  producer->send({topic, "k", std::string(5000, 'x'), {}}, [&](const Result<DeliveryReport>& r) {
    called_inline = in_send;
    reported.set_value(r);
  });
  in_send = false;
  auto future = reported.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  auto r = future.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidInput) << r.error().message;
  EXPECT_FALSE(called_inline.load()) << "local failures are reported on the delivery thread";
  EXPECT_TRUE(eventually([&] { return producer->in_flight() == 0; }));
}

TEST_P(KafkaProducerTest, FullLocalQueueIsRetriedThenReported) {
  auto topic = unique_name("orders");
  broker_.create_topic(topic, 1);
  auto producer = make_kafka_producer(
      config({{"queue.buffering.max.messages", "10"}, {"linger.ms", "0"}}), logger_);
  constexpr int kRecords = 200;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < kRecords; ++i) {
    producer->send({topic, "k", "v" + std::to_string(i), {}},
                   [&](const Result<DeliveryReport>& r) { (r.ok() ? ok : failed)++; });
  }
  ASSERT_TRUE(producer->flush(20s).ok());
  EXPECT_EQ(ok.load() + failed.load(), kRecords);
  EXPECT_EQ(ok.load(), kRecords) << "a briefly full queue drains within the retry window";
}

// Issue 15: the queue is bounded (the Kafka profiles set queue.buffering.max.*), and a queue
// that stays full (broker unreachable) ends the send in a retryable error naming the bound.
TEST_F(KafkaProducerOfflineTest, QueueThatStaysFullIsARetryableQueueFullError) {
  auto producer = make_kafka_producer(
      KafkaConfig{"127.0.0.1:1",
                  "producer-test",
                  {{"queue.buffering.max.messages", "1"}, {"message.timeout.ms", "60000"}}},
      logger_);
  producer->send({"t", "k", "first", {}}, [](const Result<DeliveryReport>&) {});
  auto r = report_of(*producer, {"t", "k", "second", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(r.error().code, "KAFKA_QUEUE_FULL");
  EXPECT_NE(r.error().message.find("queue.buffering.max.messages=1"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(producer->in_flight(), 1) << "the first record is still queued";
}

TEST_F(KafkaProducerOfflineTest, InvalidConfigurationThrows) {
  EXPECT_THROW(make_kafka_producer(KafkaConfig{}, logger_), std::runtime_error);
  EXPECT_THROW(
      make_kafka_producer(KafkaConfig{"127.0.0.1:1", "producer-test", {{"no.such.property", "1"}}},
                          logger_),
      std::runtime_error);
  EXPECT_THROW(
      make_kafka_producer(
          KafkaConfig{"127.0.0.1:1", "producer-test", {{"compression.type", "bogus"}}}, logger_),
      std::runtime_error);
}

TEST_F(KafkaProducerOfflineTest, DestroyingWithRecordsInFlightStillReportsEachOnce) {
  KafkaConfig c;
  c.bootstrap_servers = "127.0.0.1:1";
  std::atomic<int> reports{0};
  {
    auto producer = make_kafka_producer(c, logger_);
    for (int i = 0; i < 5; ++i) {
      producer->send({"t", "k", "v", {}}, [&](const Result<DeliveryReport>&) { ++reports; });
    }
  }
  EXPECT_EQ(reports.load(), 5);
}

}  // namespace
}  // namespace orderflow::messaging
