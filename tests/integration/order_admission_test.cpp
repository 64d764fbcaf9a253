// Admission control of order-service on its outbox backlog, through HTTP on a real socket: with
// the relay unable to publish, POST /api/orders is refused with 503 OVERLOADED + Retry-After
// once outbox.max_backlog events wait, nothing refused is written, everything accepted stays in
// the DB and the outbox, and intake reopens once the broker takes the backlog.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http/order_routes.h"
#include "adapters/storage/sql_order_repository.h"
#include "app/order_service.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/decimal.h"
#include "orderflow/http/client.h"
#include "orderflow/http/router.h"
#include "orderflow/http/server.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/outbox.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/backend_param.h"
#include "orderflow/testing/broker_param.h"
#include "orderflow/testing/row_count.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_broker.h"
#include "orderflow/testing/test_database.h"

namespace orderflow::order {
namespace {

using namespace std::chrono_literals;
using orderflow::testing::eventually;
using orderflow::testing::unique_name;

constexpr std::int64_t kMaxBacklog = 3;
const std::string kOrderBody = R"({"userId":42,"items":[{"sku":"ABC-001","qty":1}]})";

/// A port nothing listens on (bound, then closed).
std::uint16_t closed_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(
      ioc, {boost::asio::ip::make_address("127.0.0.1"), std::uint16_t{0}});
  return acceptor.local_endpoint().port();
}

std::optional<std::string> header_of(const http::Response& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return value;
    }
  }
  return std::nullopt;
}

class OrderAdmission : public ::testing::Test {
 protected:
  /// Wires order-service as main.cpp does, with the producer configured by `kafka`, on a new
  /// database of `database`.
  void start(messaging::KafkaConfig kafka, bool start_relay,
             orderflow::testing::DatabaseKind database) {
    database_ = std::make_unique<orderflow::testing::TestDatabase>(database);
    db_ = storage::open_database(database_->storage_config());
    storage::migrate(*db_, "outbox", messaging::Outbox::migrations());
    storage::migrate(*db_, "inbox", messaging::Inbox::migrations());
    storage::migrate(*db_, "order", order_migrations());

    kafka.client_id = "order-admission-test";
    // Deliveries to a dead broker fail within a second instead of five minutes.
    kafka.producer_properties["message.timeout.ms"] = "1000";
    producer_ = messaging::make_kafka_producer(kafka, logger_);
    store_ = messaging::make_outbox_store(*db_);
    messaging::RelayOptions relay_options;
    relay_options.poll_interval = 50ms;
    relay_options.delivery_timeout = 2000ms;
    relay_ = std::make_unique<messaging::OutboxRelay>(*store_, *producer_, relay_options, metrics_,
                                                      logger_);
    backlog_ = std::make_unique<messaging::OutboxBacklog>(*db_, kMaxBacklog, metrics_);
    repository_ = std::make_unique<SqlOrderRepository>(*db_, topic_, "order-service", [this] {
      backlog_->appended();
      relay_->notify();
    });
    service_ = std::make_unique<OrderService>(*repository_, catalog_, clock_, "order-service",
                                              [this] { return backlog_->admit(); });
    add_order_routes(router_, *service_, [] { return true; });
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<http::Server>(options, router_, metrics_, logger_);
    server_->start();
    if (start_relay) relay_->start();
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (relay_) relay_->stop();
  }

  Result<http::Response> post_order() {
    return http::request("127.0.0.1", server_->port(), "POST", "/api/orders", kOrderBody);
  }

  std::int64_t count(const std::string& table) {
    return orderflow::testing::row_count(*db_, table);
  }

  /// Keys (order ids) of the unsent outbox rows, oldest first.
  std::vector<std::string> outbox_keys() {
    std::vector<std::string> keys;
    auto r = db_->read([&](storage::Tx& tx) -> Result<void> {
      auto rows = tx.query("SELECT record_key FROM outbox WHERE sent_at IS NULL ORDER BY id");
      if (!rows) return rows.error();
      for (const auto& row : *rows) keys.push_back(row.text(0));
      return {};
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return keys;
  }

  /// POSTs kMaxBacklog orders (all 201) and returns their ids.
  std::vector<std::string> fill_backlog() {
    std::vector<std::string> ids;
    for (int i = 0; i < kMaxBacklog; ++i) {
      auto created = post_order();
      EXPECT_TRUE(created.ok()) << created.error().message;
      if (!created.ok()) return ids;
      EXPECT_EQ(created->status, 201) << created->body;
      ids.push_back(std::to_string(nlohmann::json::parse(created->body)["orderId"].get<int>()));
    }
    return ids;
  }

  void expect_overloaded(const Result<http::Response>& response) {
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->status, 503) << response->body;
    EXPECT_EQ(header_of(*response, "Retry-After"), "1");
    EXPECT_EQ(nlohmann::json::parse(response->body)["error"]["code"], "OVERLOADED")
        << response->body;
  }

  double backlog_refusals() {
    auto text = metrics_.serialize();
    const std::string series =
        R"(orderflow_http_rejected_total{service="order-service",reason="outbox_backlog"} )";
    auto at = text.find(series);
    return at == std::string::npos ? 0 : std::stod(text.substr(at + series.size()));
  }

  std::string topic_ = unique_name("orders");
  std::unique_ptr<orderflow::testing::TestDatabase> database_;
  observability::Metrics metrics_{"order-service"};
  std::shared_ptr<spdlog::logger> logger_ =
      observability::make_logger("order-admission-test", {"off", "text"});
  ManualClock clock_;
  Catalog catalog_{"KRW", {{"ABC-001", "Wireless Mouse", Decimal::parse("12900").value(), 1000}}};
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<messaging::Producer> producer_;
  std::unique_ptr<messaging::OutboxStore> store_;
  std::unique_ptr<messaging::OutboxRelay> relay_;
  std::unique_ptr<messaging::OutboxBacklog> backlog_;
  std::unique_ptr<SqlOrderRepository> repository_;
  std::unique_ptr<OrderService> service_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

class OrderAdmissionTest : public OrderAdmission,
                           public ::testing::WithParamInterface<orderflow::testing::DatabaseKind> {
};
ORDERFLOW_ON_BOTH_DATABASES(OrderAdmissionTest);

TEST_P(OrderAdmissionTest, BrokerDownRefusesNewOrdersAtMaxBacklogAndKeepsTheAcceptedOnes) {
  start(orderflow::testing::kafka_config_for(orderflow::testing::BrokerKind::kEmbedded,
                                             "127.0.0.1:" + std::to_string(closed_port())),
        /*start_relay=*/true, GetParam());
  auto accepted = fill_backlog();
  ASSERT_EQ(accepted.size(), static_cast<std::size_t>(kMaxBacklog));

  expect_overloaded(post_order());
  EXPECT_EQ(backlog_refusals(), 1);

  // Nothing refused was written; everything accepted waits in the outbox for the broker.
  EXPECT_EQ(count("orders"), kMaxBacklog);
  EXPECT_EQ(outbox_keys(), accepted);

  // The relay keeps failing (it does not even send: without the broker's cluster id it cannot
  // tell whether history must go first): later recounts still see the backlog, and refuse.
  EXPECT_EQ(producer_->in_flight(), 0);
  auto before = backlog_refusals();
  ASSERT_TRUE(eventually([&] {
    auto again = post_order();
    return again.ok() && again->status == 503 && backlog_refusals() >= before + 3;
  }));
  EXPECT_EQ(count("orders"), kMaxBacklog);
  EXPECT_EQ(outbox_keys(), accepted);

  // Reads are not refused.
  auto read = http::request("127.0.0.1", server_->port(), "GET", "/api/orders/" + accepted[0]);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->status, 200);
}

// .../EmbeddedSqlite, .../KafkaSqlite and .../EmbeddedPostgres.
class OrderAdmissionOnBrokerTest
    : public OrderAdmission,
      public ::testing::WithParamInterface<orderflow::testing::BackendParam> {};
ORDERFLOW_ON_BACKENDS(OrderAdmissionOnBrokerTest, {kEmbedded, kSqlite}, {kKafka, kSqlite},
                      {kEmbedded, kPostgres});

TEST_P(OrderAdmissionOnBrokerTest, IntakeReopensOnceTheRelayPublishesTheBacklog) {
  orderflow::testing::TestBroker broker(GetParam().broker);
  broker.create_topic(topic_);
  start(broker.kafka_config(), /*start_relay=*/false, GetParam().database);
  auto accepted = fill_backlog();
  ASSERT_EQ(accepted.size(), static_cast<std::size_t>(kMaxBacklog));
  expect_overloaded(post_order());
  EXPECT_EQ(outbox_keys(), accepted);

  relay_->start();
  // Rows leave the outbox only once the broker acknowledged them.
  ASSERT_TRUE(eventually([&] { return outbox_keys().empty(); }, 20s));
  ASSERT_TRUE(eventually([&] {
    auto created = post_order();
    return created.ok() && created->status == 201;
  }));
  EXPECT_EQ(count("orders"), kMaxBacklog + 1);
}

}  // namespace
}  // namespace orderflow::order
