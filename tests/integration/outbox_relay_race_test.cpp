// Issue 11 item 2 with two instances: two OutboxRelays (two Database instances of one
// PostgreSQL database, one producer each, to the embedded broker) race over the rows of a few
// keys while a writer appends more. Read back from the topic: every row is published, each
// key's rows arrive in id order, and no row is published twice (no fault is injected, so a
// copy would mean that both relays claimed it).
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "orderflow/messaging/outbox.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/backend_param.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_broker.h"
#include "orderflow/testing/test_database.h"

namespace orderflow::messaging {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using orderflow::testing::eventually;

// One instance of a service's relay: its own pool on the shared database and its own producer.
struct RelayInstance {
  RelayInstance(const storage::StorageConfig& config, const KafkaConfig& kafka,
                observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger)
      : db(storage::open_database(config)),
        store(make_outbox_store(*db)),
        producer(make_kafka_producer(kafka, logger)),
        relay(*store, *producer, {.batch_size = 7, .poll_interval = 5ms, .delivery_timeout = 10s},
              metrics, logger) {}
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<OutboxStore> store;
  std::unique_ptr<Producer> producer;
  OutboxRelay relay;
};

class OutboxRelayRaceTest : public ::testing::TestWithParam<orderflow::testing::BackendParam> {
 protected:
  orderflow::testing::TestBroker broker_{GetParam().broker};
  orderflow::testing::TestDatabase database_{GetParam().database};
  observability::Metrics metrics_{"relay-race-test"};
  std::shared_ptr<spdlog::logger> logger_ = std::make_shared<spdlog::logger>(
      "relay-race-test", std::make_shared<spdlog::sinks::null_sink_mt>());
};

TEST_P(OutboxRelayRaceTest, TwoRelaysPublishEveryRowOnceInIdOrderPerKey) {
  constexpr int kKeys = 4;
  constexpr int kRowsPerKey = 60;
  const std::string topic = orderflow::testing::unique_name("relay-race");
  broker_.create_topic(topic, 3);
  auto config = database_.storage_config();
  auto writer = storage::open_database(config);
  storage::migrate(*writer, "outbox", Outbox::migrations());
  auto append = [&](int key, int seq) {
    std::string event_id = "k" + std::to_string(key) + "-" + std::to_string(seq);
    OutgoingRecord record{topic,
                          "k" + std::to_string(key),
                          json({{"eventId", event_id}, {"seq", seq}}).dump(),
                          {{"eventId", event_id}}};
    return writer->write([&](storage::Tx& tx) { return Outbox::append(tx, record); });
  };
  // A backlog first, so that both relays start on the same rows.
  for (int seq = 0; seq < kRowsPerKey / 2; ++seq) {
    for (int key = 0; key < kKeys; ++key) ASSERT_TRUE(append(key, seq).ok());
  }
  RelayInstance first(config, broker_.kafka_config("relay-1"), metrics_, logger_);
  RelayInstance second(config, broker_.kafka_config("relay-2"), metrics_, logger_);
  first.relay.start();
  second.relay.start();
  // Then rows appended while both publish (one writer: a key's ids follow its commits).
  for (int seq = kRowsPerKey / 2; seq < kRowsPerKey; ++seq) {
    for (int key = 0; key < kKeys; ++key) ASSERT_TRUE(append(key, seq).ok());
    first.relay.notify();
    second.relay.notify();
  }
  ASSERT_TRUE(eventually(
      [&] {
        auto pending = Outbox::pending(*writer);
        return pending.ok() && pending.value() == 0;
      },
      30s));
  // Stopped (each finishes its round) before the topic is read: any copy is sent by then.
  first.relay.stop();
  second.relay.stop();

  orderflow::testing::TopicReader reader(broker_.bootstrap_servers(), topic);
  const std::size_t expected = static_cast<std::size_t>(kKeys) * kRowsPerKey;
  ASSERT_TRUE(eventually([&] { return reader.poll().size() >= expected; }, 30s))
      << reader.poll().size() << " of " << expected << " read";
  const auto& records = reader.poll();

  std::map<std::string, std::vector<int>> by_key;  // per key in offset order: one partition
  for (const auto& r : records) by_key[r.key].push_back(json::parse(r.value)["seq"].get<int>());
  int duplicates = 0;
  ASSERT_EQ(by_key.size(), static_cast<std::size_t>(kKeys));
  for (const auto& [key, seqs] : by_key) {
    SCOPED_TRACE(key);
    std::vector<int> first_copies;
    std::vector<bool> seen(kRowsPerKey, false);
    for (int seq : seqs) {
      ASSERT_GE(seq, 0);
      ASSERT_LT(seq, kRowsPerKey);
      if (seen[seq]) {
        ++duplicates;
        continue;
      }
      seen[seq] = true;
      first_copies.push_back(seq);
    }
    std::vector<int> in_order(kRowsPerKey);
    for (int i = 0; i < kRowsPerKey; ++i) in_order[i] = i;
    EXPECT_EQ(first_copies, in_order) << "every row, in id order";
  }
  std::cout << "[ relays   ] " << records.size() << " records read for " << expected
            << " rows, duplicates: " << duplicates << "\n";
  EXPECT_EQ(duplicates, 0);
}

// PostgreSQL only: SQLite serves one instance (its relays are not meant to share a file).
ORDERFLOW_ON_BACKENDS(OutboxRelayRaceTest, {kEmbedded, kPostgres});

}  // namespace
}  // namespace orderflow::messaging
