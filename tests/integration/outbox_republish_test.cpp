// Broker loss repaired from the outbox (issue 9): sent rows are retained for a window, a new
// cluster id makes the relay publish that history again in id order before newer rows, and
// rows older than the window are purged.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include "orderflow/messaging/outbox.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/broker_param.h"
#include "orderflow/testing/fake_producer.h"
#include "orderflow/testing/row_count.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_broker.h"
#include "orderflow/testing/test_database.h"

namespace orderflow::messaging {
namespace {

using namespace std::chrono_literals;
using orderflow::testing::EmbeddedBroker;
using orderflow::testing::FakeProducer;
using orderflow::testing::TempDir;

OutgoingRecord event(const std::string& key, const std::string& event_id) {
  return {"orders.v1", key, R"({"eventId":")" + event_id + R"("})", {{"eventId", event_id}}};
}

class OutboxRepublishTest : public ::testing::TestWithParam<orderflow::testing::DatabaseKind> {
 protected:
  void SetUp() override {
    db_ = storage::open_database(database_.storage_config());
    storage::migrate(*db_, "outbox", Outbox::migrations());
  }

  void append(const OutgoingRecord& record) {
    ASSERT_TRUE(db_->write([&](storage::Tx& tx) { return Outbox::append(tx, record); }).ok());
  }

  std::int64_t rows_in_table() { return orderflow::testing::row_count(*db_, "outbox"); }

  /// Publishes every unsent row through a fresh relay (a service start) on `producer`.
  std::int64_t start_and_drain(Producer& producer, RelayOptions options) {
    auto store = make_outbox_store(*db_, options.retention, &clock_);
    OutboxRelay relay(*store, producer, options, metrics_, logger_, &clock_);
    auto left = relay.drain(10s);
    EXPECT_TRUE(left.ok()) << (left.ok() ? "" : left.error().message);
    return left.ok() ? left.value() : -1;
  }

  static RelayOptions retaining(std::chrono::milliseconds retention = 1h) {
    RelayOptions options;
    options.retention = retention;
    options.republish_rate = 0;  // unpaced unless a test asks for it
    return options;
  }

  orderflow::testing::TestDatabase database_{GetParam()};
  ManualClock clock_;
  std::unique_ptr<storage::Database> db_;
  observability::Metrics metrics_{"republish-test"};
  std::shared_ptr<spdlog::logger> logger_ = std::make_shared<spdlog::logger>(
      "republish-test", std::make_shared<spdlog::sinks::null_sink_mt>());
};

TEST_P(OutboxRepublishTest, NewClusterGetsTheRetainedHistoryInIdOrderBeforeNewerRows) {
  FakeProducer first;
  first.set_cluster_id(std::string("cluster-A"));
  for (int i = 1; i <= 5; ++i) append(event("k" + std::to_string(i % 2), "e" + std::to_string(i)));
  ASSERT_EQ(start_and_drain(first, retaining()), 0);
  ASSERT_EQ(first.acked().size(), 5u);
  EXPECT_EQ(rows_in_table(), 5) << "sent rows are retained";
  EXPECT_EQ(Outbox::pending(*db_).value(), 0);

  // The broker restarted empty: a new cluster id. A row written meanwhile comes after the
  // history, so no key's events are reordered.
  append(event("k1", "e6"));
  FakeProducer second;
  second.set_cluster_id(std::string("cluster-B"));
  ASSERT_EQ(start_and_drain(second, retaining()), 0);
  std::vector<std::string> ids;
  for (const auto& r : second.acked()) ids.push_back(r.headers.front().value);
  EXPECT_EQ(ids, (std::vector<std::string>{"e1", "e2", "e3", "e4", "e5", "e6"}));
  EXPECT_EQ(
      orderflow::testing::metric_value(metrics_.serialize(), "orderflow_outbox_republished_total"),
      5);
}

TEST_P(OutboxRepublishTest, SameClusterAfterARestartPublishesOnlyNewRows) {
  FakeProducer first;
  append(event("k", "e1"));
  ASSERT_EQ(start_and_drain(first, retaining()), 0);
  append(event("k", "e2"));
  FakeProducer again;  // same default cluster id
  ASSERT_EQ(start_and_drain(again, retaining()), 0);
  ASSERT_EQ(again.acked().size(), 1u);
  EXPECT_EQ(again.acked().front().headers.front().value, "e2");
}

TEST_P(OutboxRepublishTest, WithoutRetentionSentRowsAreDeletedAndNothingIsRepublished) {
  FakeProducer first;
  first.set_cluster_id(std::string("cluster-A"));
  append(event("k", "e1"));
  ASSERT_EQ(start_and_drain(first, RelayOptions{}), 0);
  EXPECT_EQ(rows_in_table(), 0);
  FakeProducer second;
  second.set_cluster_id(std::string("cluster-B"));
  append(event("k", "e2"));
  ASSERT_EQ(start_and_drain(second, RelayOptions{}), 0);
  ASSERT_EQ(second.acked().size(), 1u);
  EXPECT_EQ(second.acked().front().headers.front().value, "e2");
}

TEST_P(OutboxRepublishTest, NothingIsPublishedWhileTheClusterIdIsUnknown) {
  FakeProducer producer;
  producer.set_cluster_id(unavailable("KAFKA_CLUSTER_ID", "broker unreachable"));
  append(event("k", "e1"));
  auto store = make_outbox_store(*db_, 1h, &clock_);
  OutboxRelay relay(*store, producer, retaining(), metrics_, logger_, &clock_);
  auto round = relay.publish_batch();
  ASSERT_FALSE(round.ok());
  EXPECT_TRUE(round.error().retryable());
  EXPECT_TRUE(producer.attempts().empty());
  producer.set_cluster_id(std::string("cluster-A"));
  auto next = relay.publish_batch();
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next.value(), 1);
}

TEST_P(OutboxRepublishTest, HistoryIsPacedAtTheRepublishRate) {
  FakeProducer first;
  first.set_cluster_id(std::string("cluster-A"));
  for (int i = 0; i < 25; ++i) append(event("k", "e" + std::to_string(i)));
  ASSERT_EQ(start_and_drain(first, retaining()), 0);

  FakeProducer second;
  second.set_cluster_id(std::string("cluster-B"));
  auto options = retaining();
  options.republish_rate = 100;  // 10 rows per tenth of a second
  auto store = make_outbox_store(*db_, options.retention, &clock_);
  OutboxRelay relay(*store, second, options, metrics_, logger_, &clock_);
  std::vector<std::int64_t> rounds;
  for (int i = 0; i < 3; ++i) rounds.push_back(relay.publish_batch().value());
  EXPECT_EQ(rounds, (std::vector<std::int64_t>{10, 10, 5}));
  // Once the history is out, rows go at the full batch size again.
  for (int i = 0; i < 30; ++i) append(event("k", "n" + std::to_string(i)));
  EXPECT_EQ(relay.publish_batch().value(), 30);
}

TEST_P(OutboxRepublishTest, RowsOlderThanTheWindowArePurgedOldestFirst) {
  FakeProducer producer;
  append(event("k", "old1"));
  append(event("k", "old2"));
  ASSERT_EQ(start_and_drain(producer, retaining(1h)), 0);
  clock_.advance(2h);
  append(event("k", "young"));
  ASSERT_EQ(start_and_drain(producer, retaining(1h)), 0);
  append(event("k", "unsent"));
  auto store = make_outbox_store(*db_, 1h, &clock_);
  auto purged = store->purge_sent(clock_.now() - 1h, 100);
  ASSERT_TRUE(purged.ok()) << purged.error().message;
  EXPECT_EQ(purged.value(), 2);
  EXPECT_EQ(rows_in_table(), 2) << "the young sent row and the unsent row stay";
  EXPECT_EQ(store->purge_sent(clock_.now() - 1h, 100).value(), 0);
}

TEST_P(OutboxRepublishTest, RelayPurgesExpiredRowsOnItsOwn) {
  FakeProducer producer;
  append(event("k", "e1"));
  auto options = retaining(1h);
  options.purge_interval = 10ms;
  ASSERT_EQ(start_and_drain(producer, options), 0);
  clock_.advance(2h);
  auto store = make_outbox_store(*db_, options.retention, &clock_);
  OutboxRelay relay(*store, producer, options, metrics_, logger_, &clock_);
  relay.start();
  EXPECT_TRUE(orderflow::testing::eventually([&] { return rows_in_table() == 0; }));
  relay.stop();
}

// The real producer on each broker: one cluster id for every client of a cluster (the outbox
// relay compares it with the one it saw last; a change means a new, empty cluster), and ping()
// answers.
class KafkaProducerClusterTest : public ::testing::TestWithParam<orderflow::testing::BrokerKind> {};
ORDERFLOW_ON_BOTH_BROKERS(KafkaProducerClusterTest);

TEST_P(KafkaProducerClusterTest, EveryClientSeesTheSameClusterIdAndPingAnswers) {
  auto logger = std::make_shared<spdlog::logger>("cluster-test",
                                                 std::make_shared<spdlog::sinks::null_sink_mt>());
  orderflow::testing::TestBroker broker(GetParam());
  std::string ids[2];
  for (auto& id : ids) {
    auto producer = make_kafka_producer(broker.kafka_config("cluster-test"), logger);
    auto cluster = producer->cluster_id(5s);
    ASSERT_TRUE(cluster.ok()) << cluster.error().message;
    EXPECT_FALSE(cluster->empty());
    EXPECT_TRUE(producer->ping(2s).ok());
    id = cluster.value();
  }
  EXPECT_EQ(ids[0], ids[1]);
}

// The real producer against two embedded brokers: each reports its own cluster id, so a
// restarted embedded broker is recognised; ping() answers for a live broker only. Embedded only:
// it needs two clusters at once (the mock makes a new one per instance).
TEST(KafkaProducerCluster, EachEmbeddedBrokerHasItsOwnClusterIdAndPingTellsLiveFromDead) {
  auto logger = std::make_shared<spdlog::logger>("cluster-test",
                                                 std::make_shared<spdlog::sinks::null_sink_mt>());
  // Both alive at once: a broker restart is a new process, never the old one's memory.
  EmbeddedBroker brokers[2];
  std::string ids[2];
  for (int i = 0; i < 2; ++i) {
    auto& id = ids[i];
    auto producer = make_kafka_producer(
        orderflow::testing::kafka_config_for(orderflow::testing::BrokerKind::kEmbedded,
                                             brokers[i].bootstrap_servers(), ""),
        logger);
    auto cluster = producer->cluster_id(5s);
    ASSERT_TRUE(cluster.ok()) << cluster.error().message;
    EXPECT_FALSE(cluster->empty());
    EXPECT_TRUE(producer->ping(2s).ok());
    id = cluster.value();
  }
  EXPECT_NE(ids[0], ids[1]);

  KafkaConfig nowhere;
  nowhere.bootstrap_servers = "127.0.0.1:1";
  auto producer = make_kafka_producer(nowhere, logger);
  auto ping = producer->ping(300ms);
  ASSERT_FALSE(ping.ok());
  EXPECT_TRUE(ping.error().retryable());
}

ORDERFLOW_ON_BOTH_DATABASES(OutboxRepublishTest);

}  // namespace
}  // namespace orderflow::messaging
