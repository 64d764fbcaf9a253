// Integration tests of the ops-service: embedded broker in process, the real dead-letter
// handler on a ConsumerRunner with the DLT pattern subscription, SqlDeadLetterStore on SQLite
// or PostgreSQL, and the HTTP routes driven through Router::dispatch (docs/dlq.md).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "adapters/http/dlq_routes.h"
#include "adapters/kafka/dead_letter_handler.h"
#include "adapters/metrics/dlq_gauges.h"
#include "adapters/metrics/group_lag_gauges.h"
#include "adapters/storage/sql_dead_letter_store.h"
#include "app/dlq_service.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/uuid.h"
#include "orderflow/http/router.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/auth_tokens.h"
#include "orderflow/testing/backend_param.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_broker.h"
#include "orderflow/testing/test_database.h"

namespace orderflow::ops {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using orderflow::testing::eventually;
using orderflow::testing::ReadRecord;
using orderflow::testing::TopicReader;
using orderflow::testing::unique_name;

constexpr auto kWait = 30s;

struct Reply {
  int status = 0;
  json body;
};

// .../EmbeddedSqlite, .../KafkaSqlite, .../EmbeddedPostgres.
class OpsServiceTest : public ::testing::TestWithParam<orderflow::testing::BackendParam> {
 protected:
  void SetUp() override {
    original_ = unique_name("orders");
    // A DLT suffix of this test alone: on the shared Kafka cluster the ops consumer's pattern
    // subscription (^.*<suffix>$) must not see the DLTs of other tests.
    dlt_suffix_ = "." + new_uuid().substr(0, 8) + ".dlt";
    dlt_ = original_ + dlt_suffix_;
    broker_.create_topic(original_, 3);
    broker_.create_topic(dlt_, 3);
    db_ = storage::open_database(database_.storage_config());
    storage::migrate(*db_, "ops", dead_letter_migrations());
    store_ = std::make_unique<SqlDeadLetterStore>(*db_);
    producer_ = messaging::make_kafka_producer(broker_.kafka_config("ops-test-producer"), logger_);
    gauges_ = std::make_unique<DlqGauges>(metrics_);
    service_ = std::make_unique<DlqService>(*store_, *producer_, clock_,
                                            [this] { gauges_->refresh(*service_); });
    add_dlq_routes(router_, *service_);
  }

  void TearDown() override {
    if (consumer_) consumer_->stop();
  }

  void start_consumer() {
    messaging::ConsumerOptions o;
    o.service = "ops-service";
    o.group_id = unique_name("ops-service");
    o.topics = dlt_subscription(dlt_suffix_);
    o.concurrency = 2;
    o.retry.backoff = 10ms;
    auto kafka = broker_.kafka_config("ops-test-consumer");
    kafka.consumer_properties["session.timeout.ms"] = "6000";
    kafka.consumer_properties["heartbeat.interval.ms"] = "500";
    kafka.consumer_properties["topic.metadata.refresh.interval.ms"] = "500";
    consumer_ = std::make_unique<messaging::ConsumerRunner>(
        kafka, o, make_dead_letter_handler(*service_), metrics_, logger_, clock_, *parked_keys_);
    consumer_->start();
  }

  /// Writes a DLT record the way the consumer runner does (kcat-like headers).
  void produce_dlt(const std::string& key, int original_offset, const std::string& group,
                   const std::string& event_id, bool with_dlq_headers = true) {
    messaging::OutgoingRecord r;
    r.topic = dlt_;
    r.key = key;
    r.value = R"({"eventId":")" + event_id + R"(","orderId":1})";
    r.headers = {{"eventId", event_id}, {"eventType", "ORDER_CREATED"}, {"source", "order"}};
    if (with_dlq_headers) {
      messaging::Headers dlq = {
          {"dlq.service", group},
          {"dlq.consumer.group", group},
          {"dlq.original.topic", original_},
          {"dlq.original.partition", "1"},
          {"dlq.original.offset", std::to_string(original_offset)},
          {"dlq.error.timestamp", "2026-11-21T10:15:30.123Z"},
          {"dlq.error.class", "kUnavailable:CHANNEL_FAILURE"},
          {"dlq.error.message", "boom " + event_id},
          {"dlq.error.stacktrace", "attempt 1"},
          {"dlq.attempts", "3"},
          {"dlq.reason", original_offset == 0 ? "RETRIES_EXHAUSTED" : "KEY_PARKED"}};
      r.headers.insert(r.headers.end(), dlq.begin(), dlq.end());
    }
    ASSERT_TRUE(producer_->send_sync(std::move(r), 10s).ok());
  }

  Reply call(const std::string& method, const std::string& path,
             std::map<std::string, std::string> query = {}, const std::string& body = {},
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request req;
    req.method = method;
    req.path = path;
    req.query = std::move(query);
    req.body = body;
    req.headers = std::move(headers);
    auto resp = router_.dispatch(req, auth_.get()).response;
    return {resp.status, json::parse(resp.body, nullptr, false)};
  }

  std::int64_t total(std::map<std::string, std::string> query = {}) {
    return call("GET", "/api/dlq", std::move(query)).body.value("total", -1);
  }

  bool has_header(const ReadRecord& r, const std::string& key, const std::string& value) {
    return messaging::find_header(r.headers, key) == value;
  }

  std::shared_ptr<spdlog::logger> logger_ =
      observability::make_logger("ops-test", {"warn", "text"});
  orderflow::testing::TestBroker broker_{GetParam().broker};
  orderflow::testing::TestDatabase database_{GetParam().database};
  std::string original_;
  std::string dlt_suffix_;
  std::string dlt_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<SqlDeadLetterStore> store_;
  std::unique_ptr<messaging::Producer> producer_;
  observability::Metrics metrics_{"ops-service"};
  SystemClock clock_;
  std::unique_ptr<DlqGauges> gauges_;
  std::unique_ptr<DlqService> service_;
  std::unique_ptr<messaging::ParkedKeyStore> parked_keys_ =
      messaging::make_memory_parked_key_store();
  std::unique_ptr<messaging::ConsumerRunner> consumer_;
  http::Router router_;
  std::unique_ptr<http::Authenticator> auth_;  ///< set by a test: requests are authenticated
};

ORDERFLOW_ON_BACKENDS(OpsServiceTest, {kEmbedded, kSqlite}, {kKafka, kSqlite},
                      {kEmbedded, kPostgres});

TEST_P(OpsServiceTest, StoresDeadLettersAndListsThemWithFiltersAndPages) {
  start_consumer();
  produce_dlt("k1", 0, "notification-service", "e1");
  produce_dlt("k2", 0, "inventory-service", "e2");
  produce_dlt("k3", 0, "notification-service", "e3", /*with_dlq_headers=*/false);
  ASSERT_TRUE(eventually([&] { return total() == 3; }, kWait));

  auto all = call("GET", "/api/dlq");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(all.body["limit"], 50);
  EXPECT_EQ(all.body["offset"], 0);
  // Newest first.
  auto items = all.body["items"];
  ASSERT_EQ(items.size(), 3u);
  EXPECT_GT(items[0]["id"].get<int>(), items[1]["id"].get<int>());

  EXPECT_EQ(total({{"group", "notification-service"}}), 1);
  EXPECT_EQ(total({{"topic", original_}}), 2);
  EXPECT_EQ(total({{"topic", dlt_}}), 0);  // topic filters on the ORIGINAL topic
  EXPECT_EQ(total({{"key", "k2"}}), 1);
  EXPECT_EQ(total({{"status", "NEW"}}), 3);
  EXPECT_EQ(total({{"status", "REPLAYED"}}), 0);
  EXPECT_EQ(call("GET", "/api/dlq", {{"status", "BOGUS"}}).status, 400);

  auto page = call("GET", "/api/dlq", {{"limit", "2"}, {"offset", "2"}});
  EXPECT_EQ(page.body["items"].size(), 1u);
  EXPECT_EQ(page.body["total"], 3);
  // Found by schemathesis (issue 14): an offset beyond int was narrowed (2^32 became 0) and
  // answered the first page again.
  for (const std::string beyond : {"2147483648", "4294967296", "9223372036854775807"}) {
    auto past = call("GET", "/api/dlq", {{"offset", beyond}});
    ASSERT_EQ(past.status, 200) << beyond;
    EXPECT_TRUE(past.body["items"].empty()) << beyond << ": " << past.body.dump();
    EXPECT_EQ(past.body["total"], 3);
    EXPECT_EQ(past.body["offset"].dump(), beyond);
  }

  auto one = call("GET", "/api/dlq", {{"key", "k1"}}).body["items"][0];
  EXPECT_EQ(one["consumerGroup"], "notification-service");
  EXPECT_EQ(one["originalTopic"], original_);
  EXPECT_EQ(one["originalPartition"], 1);
  EXPECT_EQ(one["originalOffset"], 0);
  EXPECT_EQ(one["errorClass"], "kUnavailable:CHANNEL_FAILURE");
  EXPECT_EQ(one["errorMessage"], "boom e1");
  EXPECT_EQ(one["attempts"], 3);
  EXPECT_EQ(one["reason"], "RETRIES_EXHAUSTED");
  EXPECT_EQ(one["eventId"], "e1");
  EXPECT_EQ(one["eventType"], "ORDER_CREATED");
  EXPECT_EQ(one["status"], "NEW");
  EXPECT_EQ(one["dltTopic"], dlt_);

  // A record another tool wrote: stored, diagnostics empty.
  auto foreign = call("GET", "/api/dlq", {{"key", "k3"}}).body["items"][0];
  EXPECT_EQ(foreign["consumerGroup"], "");
  EXPECT_EQ(foreign["originalTopic"], "");
  EXPECT_TRUE(foreign["originalOffset"].is_null());
  EXPECT_EQ(foreign["eventId"], "e3");

  auto show = call("GET", "/api/dlq/" + std::to_string(one["id"].get<int>()));
  EXPECT_EQ(show.status, 200);
  EXPECT_TRUE(show.body["audit"].empty());
  EXPECT_EQ(call("GET", "/api/dlq/99999").status, 404);
  EXPECT_NE(metrics_.serialize().find("orderflow_dlq_messages"), std::string::npos);
}

TEST_P(OpsServiceTest, RedeliveredDltRecordIsStoredOnce) {
  auto handler = make_dead_letter_handler(*service_);
  messaging::ConsumedRecord r;
  r.topic = dlt_;
  r.partition = 2;
  r.offset = 7;
  r.key = "k";
  r.value = "{}";
  r.headers = {{"dlq.consumer.group", "g"}, {"dlq.original.topic", original_}};
  EXPECT_EQ(handler(r).outcome, messaging::HandlerOutcome::kProcessed);
  EXPECT_EQ(handler(r).outcome, messaging::HandlerOutcome::kProcessed);
  EXPECT_EQ(total(), 1);
  r.offset = 8;
  EXPECT_EQ(handler(r).outcome, messaging::HandlerOutcome::kProcessed);
  EXPECT_EQ(total(), 2);
}

TEST_P(OpsServiceTest, ReplayRepublishesInOriginalOrderThenUnparks) {
  TopicReader reader(broker_.bootstrap_servers(), original_);
  start_consumer();
  // Key K dead-lettered once, then two records parked behind it; another key is independent.
  produce_dlt("K", 0, "notification-service", "e-first");
  produce_dlt("K", 5, "notification-service", "e-second");
  produce_dlt("K", 9, "notification-service", "e-third");
  produce_dlt("other", 0, "notification-service", "e-other");
  ASSERT_TRUE(eventually([&] { return total() == 4; }, kWait));

  auto second = call("GET", "/api/dlq", {{"key", "K"}}).body["items"][1];  // newest first
  ASSERT_EQ(second["eventId"], "e-second");
  auto reply = call("POST", "/api/dlq/" + std::to_string(second["id"].get<int>()) + "/replay", {},
                    {}, {{"X-Actor", "alice"}});
  ASSERT_EQ(reply.status, 200) << reply.body.dump();
  EXPECT_EQ(reply.body["status"], "REPLAYED");
  EXPECT_EQ(reply.body["replayCount"], 1);
  EXPECT_EQ(reply.body["replayedIds"].size(), 3u);

  ASSERT_TRUE(eventually([&] { return reader.poll().size() >= 4; }, kWait));
  const auto& got = reader.poll();
  ASSERT_EQ(got.size(), 4u);
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i].key, "K");
    EXPECT_EQ(got[i].value, R"({"eventId":")" + *messaging::find_header(got[i].headers, "eventId") +
                                R"(","orderId":1})");
    EXPECT_TRUE(has_header(got[i], "dlq.replay.count", "1"));
    EXPECT_TRUE(has_header(got[i], "dlq.replay.group", "notification-service"));
    EXPECT_FALSE(messaging::find_header(got[i].headers, "dlq.reason").has_value());
    EXPECT_FALSE(messaging::find_header(got[i].headers, "dlq.original.topic").has_value());
    order.push_back(*messaging::find_header(got[i].headers, "eventId"));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"e-first", "e-second", "e-third"}));
  EXPECT_EQ(got[3].key, "K");
  EXPECT_TRUE(got[3].value.empty());
  EXPECT_TRUE(has_header(got[3], "dlq.control", "UNPARK"));
  EXPECT_TRUE(has_header(got[3], "dlq.consumer.group", "notification-service"));
  EXPECT_TRUE(has_header(got[3], "dlq.parked.count", "3"));
  EXPECT_EQ(got[3].partition, got[0].partition);

  EXPECT_EQ(total({{"status", "REPLAYED"}}), 3);
  EXPECT_EQ(total({{"status", "NEW"}}), 1);  // the other key was not touched
  auto shown = call("GET", "/api/dlq/" + std::to_string(second["id"].get<int>()));
  ASSERT_EQ(shown.body["audit"].size(), 1u);
  EXPECT_EQ(shown.body["audit"][0]["action"], "REPLAY");
  EXPECT_EQ(shown.body["audit"][0]["actor"], "alice");

  // Replaying again counts on.
  auto again = call("POST", "/api/dlq/" + std::to_string(second["id"].get<int>()) + "/replay");
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.body["replayCount"], 2);
  EXPECT_EQ(again.body["replayedIds"].size(), 1u);
  ASSERT_TRUE(eventually([&] { return reader.poll().size() >= 6; }, kWait));
  EXPECT_TRUE(has_header(reader.poll()[4], "dlq.replay.count", "2"));
  EXPECT_EQ(call("GET", "/api/dlq/" + std::to_string(second["id"].get<int>())).body["audit"].size(),
            2u);
}

TEST_P(OpsServiceTest, ReplayAndDiscardErrors) {
  EXPECT_EQ(call("POST", "/api/dlq/4242/replay").status, 404);
  EXPECT_EQ(call("POST", "/api/dlq/4242/discard").status, 404);
  EXPECT_EQ(call("POST", "/api/dlq/abc/replay").status, 400);

  auto handler = make_dead_letter_handler(*service_);
  messaging::ConsumedRecord r;
  r.topic = dlt_;
  r.key = "K";
  r.headers = {
      {"dlq.consumer.group", "g"}, {"dlq.original.topic", original_}, {"dlq.original.offset", "1"}};
  handler(r);
  r.offset = 1;
  r.headers = {};  // written by another tool: nothing to replay to
  handler(r);
  auto items = call("GET", "/api/dlq").body["items"];
  auto foreign_id = std::to_string(items[0]["id"].get<int>());
  auto id = std::to_string(items[1]["id"].get<int>());
  EXPECT_EQ(call("POST", "/api/dlq/" + foreign_id + "/replay").status, 422);

  TopicReader reader(broker_.bootstrap_servers(), original_);
  auto discarded = call("POST", "/api/dlq/" + id + "/discard", {}, {}, {{"X-Actor", "bob"}});
  ASSERT_EQ(discarded.status, 200) << discarded.body.dump();
  EXPECT_EQ(discarded.body["status"], "DISCARDED");
  // The key's last NEW dead letter was discarded: the group may unpark it.
  ASSERT_TRUE(eventually([&] { return !reader.poll().empty(); }, kWait));
  EXPECT_TRUE(has_header(reader.poll()[0], "dlq.control", "UNPARK"));
  EXPECT_TRUE(has_header(reader.poll()[0], "dlq.parked.count", "1"));

  auto conflict = call("POST", "/api/dlq/" + id + "/replay");
  EXPECT_EQ(conflict.status, 409);
  EXPECT_TRUE(conflict.body["error"].contains("code"));
  EXPECT_EQ(call("POST", "/api/dlq/" + id + "/discard").status, 409);
  auto shown = call("GET", "/api/dlq/" + id).body;
  ASSERT_EQ(shown["audit"].size(), 1u);
  EXPECT_EQ(shown["audit"][0]["action"], "DISCARD");
  EXPECT_EQ(shown["audit"][0]["actor"], "bob");
}

// Issue 12: with auth.mode required the ops API needs a token with the admin role; a refused
// action changes nothing, and the audit trail names the token's subject, not X-Actor.
TEST_P(OpsServiceTest, TheOpsApiNeedsAnAdminToken) {
  using orderflow::testing::bearer;
  using orderflow::testing::test_token;
  auto handler = make_dead_letter_handler(*service_);
  messaging::ConsumedRecord r;
  r.topic = dlt_;
  r.key = "K";
  r.headers = {
      {"dlq.consumer.group", "g"}, {"dlq.original.topic", original_}, {"dlq.original.offset", "1"}};
  handler(r);
  auth_ = std::make_unique<http::Authenticator>(orderflow::testing::test_auth_config(), clock_);
  const auto admin = bearer(test_token("alice", {"admin"}));
  auto id =
      std::to_string(call("GET", "/api/dlq", {}, {}, {admin}).body["items"][0]["id"].get<int>());
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {}, {bearer(orderflow::testing::badly_signed_token("alice"))}}) {
    EXPECT_EQ(call("GET", "/api/dlq", {}, {}, headers).status, 401);
    EXPECT_EQ(call("POST", "/api/dlq/" + id + "/discard", {}, {}, headers).status, 401);
  }
  const auto user = bearer(test_token("7"));
  EXPECT_EQ(call("GET", "/api/dlq", {}, {}, {user}).status, 403);
  EXPECT_EQ(call("GET", "/api/dlq/" + id, {}, {}, {user}).status, 403);
  EXPECT_EQ(call("POST", "/api/dlq/" + id + "/discard", {}, {}, {user}).status, 403);
  EXPECT_EQ(call("POST", "/api/dlq/discard", {}, R"({"topic":"x","dryRun":true})", {user}).status,
            403);
  EXPECT_EQ(call("GET", "/api/dlq/" + id, {}, {}, {admin}).body["status"], "NEW")
      << "nothing changed for the refused requests";

  auto discarded =
      call("POST", "/api/dlq/" + id + "/discard", {}, {}, {admin, {"X-Actor", "mallory"}});
  ASSERT_EQ(discarded.status, 200) << discarded.body.dump();
  auto shown = call("GET", "/api/dlq/" + id, {}, {}, {admin}).body;
  ASSERT_EQ(shown["audit"].size(), 1u);
  EXPECT_EQ(shown["audit"][0]["actor"], "user:alice");
}

TEST_P(OpsServiceTest, BulkActionsNeedAFilterAndHonourDryRun) {
  auto handler = make_dead_letter_handler(*service_);
  for (int i = 0; i < 3; ++i) {
    messaging::ConsumedRecord r;
    r.topic = dlt_;
    r.offset = i;
    r.key = i == 2 ? "B" : "A";
    r.headers = {{"dlq.consumer.group", "g"},
                 {"dlq.original.topic", original_},
                 {"dlq.original.partition", "0"},
                 {"dlq.original.offset", std::to_string(i)}};
    handler(r);
  }
  EXPECT_EQ(call("POST", "/api/dlq/replay", {}, "{}").status, 400);
  EXPECT_EQ(call("POST", "/api/dlq/discard", {}, R"({"dryRun":true})").status, 400);
  EXPECT_EQ(call("POST", "/api/dlq/replay", {}, "not json").status, 400);

  auto dry = call("POST", "/api/dlq/replay", {}, R"({"group":"g","dryRun":true})");
  ASSERT_EQ(dry.status, 200);
  EXPECT_EQ(dry.body["matched"].size(), 3u);
  EXPECT_TRUE(dry.body["done"].empty());
  EXPECT_EQ(total({{"status", "NEW"}}), 3);

  auto discard = call("POST", "/api/dlq/discard", {}, R"({"key":"B"})");
  ASSERT_EQ(discard.status, 200);
  EXPECT_EQ(discard.body["done"].size(), 1u);

  TopicReader reader(broker_.bootstrap_servers(), original_);
  auto replay = call("POST", "/api/dlq/replay", {}, R"({"group":"g","status":"NEW"})");
  ASSERT_EQ(replay.status, 200) << replay.body.dump();
  EXPECT_EQ(replay.body["done"].size(), 2u);
  EXPECT_TRUE(replay.body["failed"].empty());
  EXPECT_EQ(total({{"status", "REPLAYED"}}), 2);
  EXPECT_EQ(total({{"status", "DISCARDED"}}), 1);
  // Discard of B sent one UNPARK; replay of A sends two records and one UNPARK.
  ASSERT_TRUE(eventually([&] { return reader.poll().size() >= 4; }, kWait));
  int unparks = 0;
  for (const auto& r : reader.poll()) unparks += has_header(r, "dlq.control", "UNPARK") ? 1 : 0;
  EXPECT_EQ(unparks, 2);
  EXPECT_NE(metrics_.serialize().find("status=\"REPLAYED\""), std::string::npos);
}

// lag.groups: topic roles of section `topics` become this system's topic names; other items
// are topic names as they are.
TEST(OpsLagGroupsTest, RolesBecomeTopicNamesAndAGroupNeedsATopic) {
  config::TopicsConfig topics;
  topics.orders = "orders.v1.x";
  topics.payments = "payments.v1.x";
  auto groups = lag_groups(
      {{"notification-service", "orders, payments"}, {"audit", " custom.topic ,orders"}}, topics);
  EXPECT_EQ(groups["notification-service"],
            (std::vector<std::string>{"orders.v1.x", "payments.v1.x"}));
  EXPECT_EQ(groups["audit"], (std::vector<std::string>{"custom.topic", "orders.v1.x"}));
  EXPECT_THROW(lag_groups({{"empty", " , "}}, topics), std::runtime_error);
}

}  // namespace
}  // namespace orderflow::ops
