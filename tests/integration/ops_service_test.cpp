// Integration tests of the ops-service: embedded broker in process, the real dead-letter
// handler on a ConsumerRunner with the DLT pattern subscription, SqlDeadLetterStore on SQLite
// or PostgreSQL, and the HTTP routes driven through Router::dispatch (docs/dlq.md).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/http/console_routes.h"
#include "adapters/http/dlq_routes.h"
#include "adapters/kafka/dead_letter_handler.h"
#include "adapters/metrics/dlq_gauges.h"
#include "adapters/metrics/group_lag_gauges.h"
#include "adapters/storage/sql_dead_letter_store.h"
#include "app/dlq_service.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/uuid.h"
#include "orderflow/http/router.h"
#include "orderflow/http/server.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/auth_tokens.h"
#include "orderflow/testing/backend_param.h"
#include "orderflow/testing/broker_param.h"
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

// The message of an error body; "" for any other body.
std::string error_message(const Reply& reply) {
  return reply.body.contains("error") ? reply.body["error"].value("message", "") : "";
}

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

  /// Stores a dead letter of key "K" (group "g", original offset 1: replayable) through the
  /// DLT handler, as the consumer does; returns the DLT record.
  messaging::ConsumedRecord store_dead_letter() {
    messaging::ConsumedRecord r;
    r.topic = dlt_;
    r.key = "K";
    r.headers = {{"dlq.consumer.group", "g"},
                 {"dlq.original.topic", original_},
                 {"dlq.original.offset", "1"}};
    auto handler = make_dead_letter_handler(*service_);
    handler(r);
    return r;
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
  auto r = store_dead_letter();
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

// Bad input: X-Actor becomes the audit trail's actor; one that is not 1 to 128 bytes of UTF-8
// text without control characters is 400 INVALID_FIELD, and nothing is replayed, discarded or
// audited (not even a dry run answers).
TEST_P(OpsServiceTest, AnInvalidActorIsRefusedAndChangesNothing) {
  store_dead_letter();
  auto id = std::to_string(call("GET", "/api/dlq").body["items"][0]["id"].get<int>());
  for (const std::string& bad :
       {std::string("alice\nFORGED 200 OK"), std::string("\x1b[31mred"), std::string("del\x7f"),
        std::string("\xff\xfe"), std::string(129, 'a'), std::string("nul\0byte", 8)}) {
    SCOPED_TRACE(json(http::printable(bad)).dump());
    const std::vector<std::pair<std::string, std::string>> actor{{"X-Actor", bad}};
    for (const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
             {"/api/dlq/" + id + "/replay", ""},
             {"/api/dlq/" + id + "/discard", ""},
             {"/api/dlq/replay", R"({"key":"K"})"},
             {"/api/dlq/discard", R"({"key":"K"})"},
             {"/api/dlq/replay", R"({"key":"K","dryRun":true})"}}) {
      auto refused = call("POST", path, {}, body, actor);
      EXPECT_EQ(refused.status, 400) << path << " " << refused.body.dump();
      EXPECT_EQ(refused.body["error"]["code"], "INVALID_FIELD") << path;
      EXPECT_NE(error_message(refused).find("X-Actor"), std::string::npos) << path;
    }
  }
  auto shown = call("GET", "/api/dlq/" + id).body;
  EXPECT_EQ(shown["status"], "NEW") << "the dead letter is still there";
  EXPECT_EQ(shown["replayCount"], 0);
  EXPECT_TRUE(shown["audit"].empty()) << shown["audit"].dump();

  // 128 bytes of UTF-8 text is an actor; so is no header ("api").
  const std::string longest = std::string(126, 'a') + "\xc3\xa9";
  auto replayed = call("POST", "/api/dlq/" + id + "/replay", {}, {}, {{"X-Actor", longest}});
  ASSERT_EQ(replayed.status, 200) << replayed.body.dump();
  EXPECT_EQ(replayed.body["replayCount"], 1) << "the refused requests replayed nothing";
  auto audit = call("GET", "/api/dlq/" + id).body["audit"];
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["actor"], longest);
}

// Issue 12: with auth.mode required the ops API needs a token with the admin role; a refused
// action changes nothing, and the audit trail names the token's subject, not X-Actor.
TEST_P(OpsServiceTest, TheOpsApiNeedsAnAdminToken) {
  using orderflow::testing::bearer;
  using orderflow::testing::test_token;
  store_dead_letter();
  auth_ = std::make_unique<http::Authenticator>(orderflow::testing::test_auth_config(), clock_);
  const auto admin = bearer(test_token("alice", {"admin"}));
  auto id =
      std::to_string(call("GET", "/api/dlq", {}, {}, {admin}).body["items"][0]["id"].get<int>());
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {}, {bearer(orderflow::testing::badly_signed_token("alice"))}}) {
    EXPECT_EQ(call("GET", "/api/dlq", {}, {}, headers).status, 401);
    EXPECT_EQ(call("POST", "/api/dlq/" + id + "/discard", {}, {}, headers).status, 401);
  }
  // Bad input: a well-signed admin token whose sub is no user id (a control character, too
  // long) is not valid here: 401 INVALID_TOKEN, and its sub never becomes an audit actor.
  for (const std::string& sub :
       {std::string("alice\nuser:root"), std::string("\x1b[2Jalice"), std::string(129, 'a')}) {
    // mint_hs256 refuses such a sub, so libjwt signs it directly.
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto forged = bearer(orderflow::testing::sign_token(
        {{"sub", sub}, {"roles", {"admin"}}, {"iat", now}, {"nbf", now}, {"exp", now + 3600}},
        JWT_ALG_HS256, orderflow::testing::kTestAuthSecret));
    for (const auto& path : {"/api/dlq/" + id + "/discard", std::string("/api/dlq/discard")}) {
      auto refused = call("POST", path, {}, R"({"key":"K"})", {forged});
      EXPECT_EQ(refused.status, 401) << refused.body.dump();
      EXPECT_EQ(refused.body["error"]["code"], "INVALID_TOKEN");
      EXPECT_NE(error_message(refused).find("'sub'"), std::string::npos) << refused.body.dump();
    }
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

// lag.group_ids (orderflow up: each service's real consumer.group_id) renames a watched group;
// groups it does not name keep theirs; an empty id drops the group (a sink that is not enabled).
TEST(OpsLagGroupsTest, GroupIdsRenameTheWatchedGroups) {
  config::TopicsConfig topics;
  topics.orders = "orders.v1";
  auto groups = lag_groups(
      {{"notification-service", "orders"}, {"audit", "orders"}, {"data-platform-sink", "orders"}},
      topics,
      {{"notification-service", "notification-service.e2e-1"},
       {"ops-service", "x"},
       {"data-platform-sink", ""}});
  EXPECT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups["notification-service.e2e-1"], std::vector<std::string>{"orders.v1"});
  EXPECT_EQ(groups["audit"], std::vector<std::string>{"orders.v1"});
}

using Headers = std::vector<std::pair<std::string, std::string>>;

// The console API (console_routes.h) on a router, for one broker (or none: the proxy).
class ConsoleApi {
 public:
  explicit ConsoleApi(const messaging::KafkaConfig& kafka,
                      std::map<std::string, std::vector<std::string>> groups = {},
                      std::vector<std::string> event_topics = {}, std::int64_t scan_limit = 10000)
      : browser_(kafka), probe_(kafka), lag_(probe_, std::move(groups), metrics_, logger_) {
    ConsoleSettings settings;
    settings.endpoints_file = dir_.file("endpoints.json");
    settings.event_topics = std::move(event_topics);
    settings.scan_limit = scan_limit;
    settings.kafka_timeout = 10s;
    settings.proxy_timeout = 2s;
    add_console_routes(router_, browser_, lag_, settings);
  }

  Reply call(const std::string& path, std::map<std::string, std::string> query = {},
             Headers headers = {}, std::string* content_type = nullptr) {
    http::Request req;
    req.method = "GET";
    req.path = path;
    req.query = std::move(query);
    req.headers = std::move(headers);
    auto resp = router_.dispatch(req, auth_.get()).response;
    if (content_type != nullptr) *content_type = resp.content_type;
    return {resp.status, json::parse(resp.body, nullptr, false)};
  }

  void write_endpoints(const json& services) {
    std::ofstream(dir_.file("endpoints.json")) << json{{"services", services}}.dump();
  }
  void require_auth(const Clock& clock) {
    auth_ = std::make_unique<http::Authenticator>(orderflow::testing::test_auth_config(), clock);
  }
  GroupLagGauges& lag() { return lag_; }

 private:
  orderflow::testing::TempDir dir_;
  std::shared_ptr<spdlog::logger> logger_ = observability::make_logger("console", {"warn", "text"});
  observability::Metrics metrics_{"ops-service"};
  messaging::TopicBrowser browser_;
  messaging::GroupLagProbe probe_;
  GroupLagGauges lag_;
  http::Router router_;
  std::unique_ptr<http::Authenticator> auth_;
};

// .../Embedded, .../Kafka: the topic, record, event and lag routes against a broker.
class OpsConsoleTest : public ::testing::TestWithParam<orderflow::testing::BrokerKind> {
 protected:
  void SetUp() override {
    topic_ = unique_name("console.orders");
    broker_.create_topic(topic_, 3);
    producer_ = messaging::make_kafka_producer(broker_.kafka_config("console-producer"), logger_);
  }

  // Sends and returns the record's partition and offset.
  messaging::DeliveryReport send(const std::string& topic, const std::string& key,
                                 const std::string& value, messaging::Headers headers = {}) {
    auto report = producer_->send_sync({topic, key, value, std::move(headers)}, 10s);
    EXPECT_TRUE(report.ok()) << report.error().message;
    return report.ok() ? *report : messaging::DeliveryReport{};
  }

  // Consumes `count` records of topic_ as `group` (committing them) and stops; false if it did
  // not see them in time.
  bool consume(const std::string& group, int count) {
    std::atomic<int> seen{0};
    messaging::ConsumerOptions o;
    o.service = "console-test";
    o.group_id = group;
    o.topics = {topic_};
    SystemClock clock;
    auto parked = messaging::make_memory_parked_key_store();
    observability::Metrics metrics("console-test");
    messaging::ConsumerRunner runner(
        broker_.kafka_config("console-consumer"), o,
        [&](const messaging::ConsumedRecord&) {
          ++seen;
          return messaging::HandlerResult::processed();
        },
        metrics, logger_, clock, *parked);
    runner.start();
    bool done = eventually([&] { return seen >= count; }, kWait);
    runner.stop();
    return done;
  }

  std::shared_ptr<spdlog::logger> logger_ = observability::make_logger("console", {"warn", "text"});
  orderflow::testing::TestBroker broker_{GetParam()};
  std::string topic_;
  std::unique_ptr<messaging::Producer> producer_;
};

ORDERFLOW_ON_BOTH_BROKERS(OpsConsoleTest);

TEST_P(OpsConsoleTest, ListsTopicsAndPagesThroughAPartitionsRecords) {
  const std::string bad_utf8 = "caf\xC3(\xFF";
  messaging::DeliveryReport first;
  for (int i = 0; i < 5; ++i) {
    auto report = send(topic_, "k1", i == 4 ? bad_utf8 : "v" + std::to_string(i),
                       {{"eventType", "ORDER_CREATED"}, {"h" + bad_utf8, bad_utf8}});
    if (i == 0) first = report;
  }
  const int p = first.partition;
  const auto single = unique_name("console.single");
  broker_.create_topic(single, 1);
  send(single, "", "keyless");
  ConsoleApi api(broker_.kafka_config("console-browser"));

  auto topics = api.call("/api/topics");
  ASSERT_EQ(topics.status, 200) << topics.body.dump();
  json listed;
  std::vector<std::string> names;
  for (const auto& t : topics.body["topics"]) {
    names.push_back(t["name"]);
    if (t["name"] == topic_) listed = t;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_TRUE(std::none_of(names.begin(), names.end(),
                           [](const std::string& n) { return n.starts_with("__"); }));
  ASSERT_EQ(listed["partitions"].size(), 3u) << topics.body.dump();
  EXPECT_EQ(
      listed["partitions"][p],
      (json{{"partition", p}, {"beginOffset", first.offset}, {"endOffset", first.offset + 5}}));

  const auto records = "/api/topics/" + topic_ + "/records";
  auto page = api.call(records, {{"partition", std::to_string(p)}});
  ASSERT_EQ(page.status, 200) << page.body.dump();
  EXPECT_EQ(page.body["topic"], topic_);
  EXPECT_EQ(page.body["partition"], p);
  EXPECT_EQ(page.body["beginOffset"], first.offset);
  EXPECT_EQ(page.body["endOffset"], first.offset + 5);
  ASSERT_EQ(page.body["records"].size(), 5u);
  const auto& last = page.body["records"][4];
  EXPECT_EQ(last["offset"], first.offset + 4);
  EXPECT_EQ(last["key"], "k1");
  EXPECT_GT(last["timestamp"].get<std::int64_t>(), 1'700'000'000'000);
  EXPECT_EQ(page.body["records"][0]["value"], "v0");
  // Invalid UTF-8 is shown replaced (U+FFFD), never as raw bytes.
  const std::string replaced = last["value"];
  EXPECT_NE(replaced, bad_utf8);
  EXPECT_NE(replaced.find("\xEF\xBF\xBD"), std::string::npos);
  ASSERT_EQ(last["headers"].size(), 2u);
  EXPECT_EQ(last["headers"][0], (json{{"key", "eventType"}, {"value", "ORDER_CREATED"}}));
  EXPECT_EQ(last["headers"][1]["value"], replaced);

  auto from = [&](std::map<std::string, std::string> q) {
    q["partition"] = std::to_string(p);
    std::vector<std::int64_t> offsets;
    auto page = api.call(records, q);
    for (const auto& r : page.body["records"]) offsets.push_back(r["offset"]);
    return offsets;
  };
  const auto o = first.offset;
  EXPECT_EQ(from({{"offset", std::to_string(o + 1)}, {"limit", "2"}}),
            (std::vector<std::int64_t>{o + 1, o + 2}));
  EXPECT_EQ(from({{"limit", "2"}}), (std::vector<std::int64_t>{o + 3, o + 4}))
      << "without an offset: the last page";
  EXPECT_TRUE(from({{"offset", std::to_string(o + 5)}}).empty()) << "the end is a valid offset";

  auto beyond = api.call(records, {{"partition", std::to_string(p)}, {"offset", "99"}});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(beyond.body["error"]["code"], "OFFSET_OUT_OF_RANGE");
  EXPECT_EQ(beyond.body["error"]["validRange"], (json{{"begin", o}, {"end", o + 5}}));
  EXPECT_EQ(beyond.body["error"]["message"],
            "offset 99 is outside " + std::to_string(o) + ".." + std::to_string(o + 5));
  EXPECT_EQ(api.call(records, {{"partition", std::to_string(p)}, {"offset", "-1"}}).status, 416);

  auto keyless = api.call("/api/topics/" + single + "/records", {{"partition", "0"}});
  ASSERT_EQ(keyless.body["records"].size(), 1u) << keyless.body.dump();
  EXPECT_TRUE(keyless.body["records"][0]["key"].is_null());
  EXPECT_EQ(keyless.body["records"][0]["value"], "keyless");

  auto code = [&](const std::string& path, std::map<std::string, std::string> q) {
    auto r = api.call(path, std::move(q));
    return std::to_string(r.status) + " " + r.body["error"].value("code", "");
  };
  EXPECT_EQ(code(records, {{"partition", "3"}}), "404 UNKNOWN_PARTITION");
  EXPECT_EQ(code("/api/topics/" + unique_name("no-such") + "/records", {{"partition", "0"}}),
            "404 UNKNOWN_TOPIC");
  EXPECT_EQ(code(records, {}), "400 MISSING_PARTITION");
  EXPECT_EQ(code(records, {{"partition", "x"}}), "400 INVALID_PARTITION");
  EXPECT_EQ(code(records, {{"partition", "0"}, {"limit", "0"}}), "400 INVALID_LIMIT");
  EXPECT_EQ(code(records, {{"partition", "0"}, {"limit", "201"}}), "400 INVALID_LIMIT");
  EXPECT_EQ(code(records, {{"partition", "0"}, {"offset", "1x"}}), "400 INVALID_OFFSET");
}

// Every key's events are found in the partition the producer sent them to (the same
// partitioner), across the configured topics (a missing DLT is skipped), oldest first.
TEST_P(OpsConsoleTest, FindsTheEventsOfAKeyAcrossTopicsInOrder) {
  const auto payments = unique_name("console.payments");
  const auto dlt = topic_ + ".dlt";
  broker_.create_topic(payments, 3);
  broker_.create_topic(dlt, 3);
  const std::string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  std::vector<std::string> keys;
  for (int i = 0; i < 12; ++i) keys.push_back("order-" + std::to_string(i));
  for (const auto& key : keys) {
    send(topic_, key, R"({"n":1})", {{"eventType", "ORDER_CREATED"}, {"eventId", key + "-1"}});
  }
  const auto& k = keys[5];
  // Apart in time: the events are ordered by their timestamps (milliseconds).
  auto later = [] { std::this_thread::sleep_for(5ms); };
  later();
  send(payments, k, "{}",
       {{"eventType", "PAYMENT_COMPLETED"}, {"eventId", k + "-2"}, {"traceparent", traceparent}});
  later();
  send(dlt, k, "{}", {{"eventType", "PAYMENT_COMPLETED"}, {"eventId", k + "-3"}});
  later();
  send(topic_, k, "{}", {{"eventType", "ORDER_COMPLETED"}, {"eventId", k + "-4"}});

  ConsoleApi api(broker_.kafka_config("console-browser"), {},
                 {topic_, dlt, payments, unique_name("console.missing") + ".dlt"});
  for (const auto& key : keys) {
    if (key == k) continue;
    auto other = api.call("/api/events", {{"key", key}});
    ASSERT_EQ(other.status, 200) << other.body.dump();
    ASSERT_EQ(other.body["events"].size(), 1u) << key << ": " << other.body.dump();
    EXPECT_EQ(other.body["events"][0]["eventId"], key + "-1");
  }
  auto found = api.call("/api/events", {{"key", k}});
  ASSERT_EQ(found.status, 200) << found.body.dump();
  EXPECT_EQ(found.body["key"], k);
  const auto& events = found.body["events"];
  ASSERT_EQ(events.size(), 4u) << found.body.dump();
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e["eventId"]);
  EXPECT_EQ(ids, (std::vector<std::string>{k + "-1", k + "-2", k + "-3", k + "-4"}));
  EXPECT_EQ(events[1]["topic"], payments);
  EXPECT_EQ(events[1]["eventType"], "PAYMENT_COMPLETED");
  EXPECT_EQ(events[1]["traceId"], "0af7651916cd43dd8448eb211c80319c");
  EXPECT_TRUE(events[0]["traceId"].is_null());
  EXPECT_EQ(events[2]["topic"], dlt);
  EXPECT_EQ(events[3]["key"], k);
  EXPECT_EQ(events[3]["value"], "{}");
  EXPECT_TRUE(events[3].contains("offset") && events[3].contains("partition") &&
              events[3].contains("timestamp") && events[3].contains("headers"));

  EXPECT_EQ(api.call("/api/events", {{"key", "nobody"}}).body["events"], json::array());
  EXPECT_EQ(api.call("/api/events").status, 400);
  EXPECT_EQ(api.call("/api/events", {{"key", ""}}).body["error"]["code"], "MISSING_KEY");
}

// console.scan_limit: only that many of a partition's most recent records are looked at.
TEST_P(OpsConsoleTest, EventsScanOnlyTheMostRecentRecordsOfAPartition) {
  send(topic_, "k", "old");
  for (int i = 0; i < 3; ++i) send(topic_, "k", "new");
  ConsoleApi api(broker_.kafka_config("console-browser"), {}, {topic_}, 3);
  auto found = api.call("/api/events", {{"key", "k"}});
  ASSERT_EQ(found.status, 200) << found.body.dump();
  ASSERT_EQ(found.body["events"].size(), 3u);
  for (const auto& e : found.body["events"]) EXPECT_EQ(e["value"], "new");
}

TEST_P(OpsConsoleTest, LagPerGroupAndPartition) {
  const auto group = unique_name("console-group");
  const auto idle = unique_name("console-idle");
  std::set<int> partitions;
  for (int i = 0; i < 6; ++i)
    partitions.insert(send(topic_, "k" + std::to_string(i % 2), "v").partition);
  ASSERT_TRUE(consume(group, 6));
  std::map<int, int> produced;  // partition → records after the group stopped
  for (int i = 0; i < 4; ++i) ++produced[send(topic_, "k" + std::to_string(i % 2), "v").partition];

  ConsoleApi api(broker_.kafka_config("console-lag"), {{group, {topic_}}, {idle, {topic_}}});
  auto before = api.call("/api/lag");
  ASSERT_EQ(before.status, 200);
  ASSERT_EQ(before.body["groups"].size(), 2u);
  EXPECT_EQ(before.body["groups"][0]["error"]["code"], "NOT_READ_YET") << "a group not read";
  EXPECT_FALSE(before.body["groups"][0].contains("partitions"));

  json lag;
  ASSERT_TRUE(eventually(
      [&] {
        api.lag().refresh();
        lag = api.call("/api/lag").body;
        for (const auto& g : lag["groups"]) {
          if (g["group"] == group) return g.value("totalLag", -1) == 4;
        }
        return false;
      },
      kWait))
      << lag.dump();
  std::map<std::string, json> by_group;
  for (const auto& g : lag["groups"]) by_group[g["group"]] = g;
  const auto& watched = by_group[group];
  std::set<int> reported;
  for (const auto& p : watched["partitions"]) {
    reported.insert(p["partition"].get<int>());
    EXPECT_EQ(p["topic"], topic_);
    EXPECT_EQ(p["endOffset"].get<std::int64_t>() - p["committed"].get<std::int64_t>(), p["lag"]);
    EXPECT_EQ(p["lag"], produced[p["partition"].get<int>()]) << p.dump();
  }
  EXPECT_TRUE(std::includes(reported.begin(), reported.end(), partitions.begin(), partitions.end()))
      << "every partition the group consumed from: " << watched.dump();
  EXPECT_EQ(by_group[idle]["totalLag"], 0) << "a group that never committed: no partitions";
  EXPECT_EQ(by_group[idle]["partitions"], json::array());
}

// The lag is read right at start(), not one lag.interval_ms later: the console's first
// /api/lag after the ops-service starts already has the groups' partitions.
TEST_P(OpsConsoleTest, LagIsReadRightAtStartNotOneIntervalLater) {
  const auto group = unique_name("console-early");
  for (int i = 0; i < 3; ++i) send(topic_, "k" + std::to_string(i), "v");
  ASSERT_TRUE(consume(group, 3));
  ConsoleApi api(broker_.kafka_config("console-lag"), {{group, {topic_}}});
  api.lag().start(60s);  // the first refresh after an interval would come long after the wait
  json lag;
  EXPECT_TRUE(eventually(
      [&] {
        lag = api.call("/api/lag").body;
        return !lag["groups"][0].value("partitions", json::array()).empty();
      },
      20s))
      << lag.dump();
  EXPECT_EQ(lag["groups"][0]["totalLag"], 0) << lag.dump();
  api.lag().stop();
}

// The proxy to a real http::Server: status, Content-Type, body and the caller's Authorization go
// through unchanged; an unknown instance is 404, one that does not answer 503. With auth.mode
// required every console route needs an admin token. No broker: none of these routes asks one.
TEST(OpsConsoleProxyTest, ForwardsToAServiceInstanceAndNeedsAnAdminToken) {
  using orderflow::testing::bearer;
  using orderflow::testing::test_token;
  http::Router upstream_router;
  std::mutex mutex;
  std::optional<std::string> seen_auth;
  std::map<std::string, std::string> seen_query;
  std::string seen_path;
  upstream_router.add("GET", "/api/things/{id}", [&](const http::Request& req) {
    std::lock_guard lock(mutex);
    seen_auth = req.header("Authorization");
    seen_query = req.query;
    seen_path = req.path;
    http::Response r;
    r.status = req.path_param("id") == "missing" ? 404 : 203;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "thing " + req.path_param("id");
    return r;
  });
  observability::Metrics metrics("upstream");
  http::ServerOptions options;
  options.host = "127.0.0.1";
  options.threads = 2;
  http::Server upstream(options, upstream_router, metrics,
                        observability::make_logger("upstream", {"warn", "text"}));
  upstream.start();

  messaging::KafkaConfig nowhere;
  nowhere.bootstrap_servers = "127.0.0.1:1";
  ConsoleApi api(nowhere);
  EXPECT_EQ(api.call("/api/services").body, (json{{"services", json::array()}}))
      << "no endpoints file: no services";
  const auto dead = orderflow::testing::free_loopback_port();
  auto endpoint = [](std::uint16_t port) {
    auto url = "http://127.0.0.1:" + std::to_string(port);
    return json{{"host", "127.0.0.1"}, {"port", port}, {"url", url}};
  };
  api.write_endpoints(
      {{"thing-service", endpoint(upstream.port())}, {"dead-service", endpoint(dead)}});
  EXPECT_EQ(api.call("/api/services").body["services"],
            (json{{{"name", "dead-service"}, {"url", endpoint(dead)["url"]}},
                  {{"name", "thing-service"}, {"url", endpoint(upstream.port())["url"]}}}));

  SystemClock clock;
  api.require_auth(clock);
  const auto admin = bearer(test_token("alice", {"admin"}));
  std::string content_type;
  auto got = api.call("/svc/thing-service/api/things/a b", {{"q", "x&y=1"}, {"n", "2"}}, {admin},
                      &content_type);
  EXPECT_EQ(got.status, 203);
  EXPECT_EQ(content_type, "text/plain; charset=utf-8");
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(seen_path, "/api/things/a b");
    EXPECT_EQ(seen_query, (std::map<std::string, std::string>{{"q", "x&y=1"}, {"n", "2"}}));
    EXPECT_EQ(seen_auth, admin.second);
  }
  auto missing = api.call("/svc/thing-service/api/things/missing", {}, {admin});
  EXPECT_EQ(missing.status, 404) << "the upstream's status";

  auto code = [&](const std::string& path) {
    auto r = api.call(path, {}, {admin});
    return std::to_string(r.status) + " " + r.body["error"].value("code", "");
  };
  EXPECT_EQ(code("/svc/nobody/health/ready"), "404 UNKNOWN_SERVICE");
  EXPECT_EQ(code("/svc/dead-service/health/ready"), "503 SERVICE_UNAVAILABLE");

  // Bad input: an endpoints file that does not read as one is said so (it was read as no
  // instances, and an entry with a bad port was left out silently).
  api.write_endpoints({{"thing-service", endpoint(upstream.port())},
                       {"bad-service", {{"host", "127.0.0.1"}, {"port", "8080"}}}});
  for (const std::string path : {"/api/services", "/svc/thing-service/api/things/1"}) {
    auto broken = api.call(path, {}, {admin});
    EXPECT_EQ(broken.status, 503) << path;
    EXPECT_EQ(broken.body["error"].value("code", ""), "ENDPOINTS_INVALID") << path;
    EXPECT_NE(broken.body["error"].value("message", "").find("services.bad-service.port"),
              std::string::npos)
        << broken.body.dump();
  }
  api.write_endpoints({{"thing-service", endpoint(upstream.port())}});

  const auto user = bearer(test_token("7"));
  for (const std::string path : {"/api/services", "/svc/thing-service/api/things/1", "/api/topics",
                                 "/api/topics/t/records", "/api/events", "/api/lag"}) {
    EXPECT_EQ(api.call(path).status, 401) << path;
    EXPECT_EQ(api.call(path, {}, {user}).status, 403) << path;
  }
  EXPECT_EQ(api.call("/api/lag", {}, {admin}).status, 200);
  upstream.stop();
}

}  // namespace
}  // namespace orderflow::ops
