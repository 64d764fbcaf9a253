// Integration tests of the notification service's consuming side: embedded broker in process, a
// real ConsumerRunner, NotificationService and SqlNotificationRepository on SQLite or PostgreSQL.
// Seeds 000 (idempotency, fail- users, retry → DLQ), 001 (ORDER_CREATED → 알림, backlog after a
// restart) and ARCHITECTURE.md invariant 4 (one notification per (event, user)).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "adapters/http/notification_routes.h"
#include "adapters/kafka/event_handler.h"
#include "adapters/kafka/order_events.h"
#include "adapters/notifier/http_notifier.h"
#include "adapters/notifier/log_notifier.h"
#include "adapters/sink/http_data_platform_client.h"
#include "adapters/storage/sql_notification_repository.h"
#include "adapters/templates/template_file.h"
#include "app/notification_service.h"
#include "app/sink_service.h"
#include "domain/notification.h"
#include "domain/order.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/uuid.h"
#include "orderflow/config/config.h"
#include "orderflow/http/outbound.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/idempotency_store.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/observability/trace_context.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/auth_tokens.h"
#include "orderflow/testing/backend_param.h"
#include "orderflow/testing/outbound_servers.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_broker.h"

namespace orderflow::notification {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using observability::Outcome;
using orderflow::testing::eventually;
using orderflow::testing::unique_name;

constexpr auto kWait = 30s;
constexpr const char* kService = "notification-service";

std::string templates_file() {
  return config::default_config_dir() + "/notification-templates.yaml";
}

// `where`: the SQLite file's path or the PostgreSQL database's URL.
std::unique_ptr<storage::Database> open_notification_db(const std::string& where) {
  storage::StorageConfig cfg;
  if (where.starts_with("postgresql://")) {
    cfg.backend = "postgres";
    cfg.postgres_url = where;
  } else {
    cfg.sqlite_path = where;
  }
  auto db = storage::open_database(cfg);
  storage::migrate(*db, "inbox", messaging::Inbox::migrations());
  storage::migrate(*db, "notification", notification_migrations());
  return db;
}

// Same consumer settings for every member of a test's group. The session must outlast the
// embedded broker's initial rebalance delay (3 s; librdkafka 2.0's mock does not refresh a member
// while its JoinGroup waits), yet be short enough for the group to drop a killed member quickly.
messaging::KafkaConfig consumer_config(orderflow::testing::BrokerKind kind,
                                       const std::string& bootstrap, const std::string& client) {
  auto config = orderflow::testing::kafka_config_for(kind, bootstrap, client);
  config.consumer_properties["session.timeout.ms"] = "6000";
  config.consumer_properties["heartbeat.interval.ms"] = "500";
  return config;
}

/// How often the handler saw each eventId (header), thread-safe.
class Seen {
 public:
  void add(const std::string& event_id) {
    std::lock_guard lock(mutex_);
    ++calls_[event_id];
  }
  int calls(const std::string& event_id) const {
    std::lock_guard lock(mutex_);
    auto it = calls_.find(event_id);
    return it == calls_.end() ? 0 : it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> calls_;
};

// .../EmbeddedSqlite, .../KafkaSqlite, .../EmbeddedPostgres.
class NotificationFlowTest : public ::testing::TestWithParam<orderflow::testing::BackendParam> {
 protected:
  void SetUp() override {
    topic_ = unique_name("orders");
    group_ = unique_name("notification-service");
    broker_.create_topic(topic_, 3);
    // Real Kafka creates no topic on its own (the embedded broker would).
    broker_.create_topic(topic_ + ".dlt", 3);
    db_path_ = database_.is_postgres() ? database_.url() : database_.name();
    db_ = open_notification_db(db_path_);
    repository_ = std::make_unique<SqlNotificationRepository>(*db_);
    log_notifier_ = std::make_unique<LogNotifier>(logger_);
    faulty_ = std::make_unique<FaultInjectingNotifier>(*log_notifier_, "fail-");
    store_ = messaging::make_database_idempotency_store(*db_);
    service_ = std::make_unique<NotificationService>(
        *repository_, load_templates(templates_file(), "ko"), std::vector<Notifier*>{faulty_.get()},
        clock_, group_, *store_);
    producer_ = messaging::make_kafka_producer(broker_.kafka_config("flow-producer"), logger_);
  }

  void TearDown() override {
    for (auto& r : runners_) r->stop();
  }

  messaging::ConsumerOptions options() const {
    messaging::ConsumerOptions o;
    o.service = kService;
    o.group_id = group_;
    o.topics = {topic_};
    o.concurrency = 3;
    o.retry.max_attempts = 3;
    o.retry.backoff = 1ms;
    o.commit_interval = 50ms;
    return o;
  }

  /// A started runner with the service's real handler (counting what it is offered).
  messaging::ConsumerRunner& start_runner(messaging::ConsumerOptions o) {
    auto handler = make_event_handler(*service_);
    auto runner = std::make_unique<messaging::ConsumerRunner>(
        consumer_config(GetParam().broker, broker_.bootstrap_servers(), "flow-consumer"),
        std::move(o),
        [this, handler](const messaging::ConsumedRecord& r) {
          seen_.add(messaging::find_header(r.headers, "eventId").value_or(""));
          return handler(r);
        },
        metrics_, logger_, clock_, *parked_keys_);
    runner->start();
    runners_.push_back(std::move(runner));
    return *runners_.back();
  }
  messaging::ConsumerRunner& start_runner() { return start_runner(options()); }

  void produce(messaging::OutgoingRecord record) {
    auto report = producer_->send_sync(std::move(record), 10s);
    ASSERT_TRUE(report.ok()) << report.error().message;
  }

  /// An ORDER_CREATED record as the order service's event (flat JSON, key = orderId).
  messaging::OutgoingRecord order_created(std::int64_t order_id, const std::string& user,
                                          const std::string& total = "25800",
                                          std::string event_id = {}) {
    messaging::EventMeta meta{event_id.empty() ? new_uuid() : std::move(event_id), "ORDER_CREATED",
                              1, format_iso8601(clock_.now())};
    json payload = {{"orderId", order_id},
                    {"userId", user},
                    {"totalAmount", total},
                    {"currency", "KRW"},
                    {"items", json::array()}};
    return {topic_, std::to_string(order_id), messaging::encode_event(meta, payload),
            messaging::standard_headers(meta, "order-service")};
  }

  static std::string event_id_of(const messaging::OutgoingRecord& r) {
    return messaging::find_header(r.headers, "eventId").value_or("");
  }

  std::vector<Notification> notifications_of(const std::string& user) {
    auto page = repository_->list_by_user(user, 0, 100);
    EXPECT_TRUE(page.ok()) << page.error().message;
    return page.ok() ? page->items : std::vector<Notification>{};
  }
  std::int64_t count_of(const std::string& user) {
    auto page = repository_->list_by_user(user, 0, 1);
    return page.ok() ? page->total : -1;
  }
  std::int64_t total_notifications() {
    std::int64_t n = -1;
    auto r = db_->read([&](storage::Tx& tx) -> Result<void> {
      auto rows = tx.query("SELECT COUNT(*) FROM notifications");
      if (!rows) return rows.error();
      n = rows.value().at(0).integer(0);
      return {};
    });
    return r.ok() ? n : -1;
  }
  bool processed(const std::string& event_id) {
    auto r = repository_->already_processed(group_, event_id);
    return r.ok() && r.value();
  }
  double count(Outcome outcome, const std::string& event_type = "ORDER_CREATED") const {
    return metrics_.message_count(topic_, event_type, outcome);
  }

  orderflow::testing::TestBroker broker_{GetParam().broker};
  orderflow::testing::TestDatabase database_{GetParam().database};
  observability::Metrics metrics_{kService};
  std::shared_ptr<spdlog::logger> logger_ =
      observability::make_logger("notification-flow-test", {"warn", "text"});
  SystemClock clock_;
  std::string topic_;
  std::string group_;
  std::string db_path_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<SqlNotificationRepository> repository_;
  std::unique_ptr<LogNotifier> log_notifier_;
  std::unique_ptr<FaultInjectingNotifier> faulty_;
  std::unique_ptr<messaging::IdempotencyStore> store_;
  std::unique_ptr<NotificationService> service_;
  std::unique_ptr<messaging::Producer> producer_;
  Seen seen_;
  std::unique_ptr<messaging::ParkedKeyStore> parked_keys_ =
      messaging::make_memory_parked_key_store();
  std::vector<std::unique_ptr<messaging::ConsumerRunner>> runners_;
};

ORDERFLOW_ON_BACKENDS(NotificationFlowTest, {kEmbedded, kSqlite}, {kKafka, kSqlite},
                      {kEmbedded, kPostgres});

// (a) Seed 001: ORDER_CREATED → one notification per event for its user.
TEST_P(NotificationFlowTest, OrderCreatedEventsBecomeNotificationsForTheirUser) {
  std::vector<messaging::OutgoingRecord> records = {
      order_created(101, "alice", "25800"), order_created(102, "alice", "200"),
      order_created(103, "alice", "12900"), order_created(201, "bob", "5000"),
      order_created(202, "bob", "0.5")};
  start_runner();
  for (const auto& r : records) produce(r);

  ASSERT_TRUE(eventually([&] { return count_of("alice") == 3 && count_of("bob") == 2; }, kWait))
      << "alice " << count_of("alice") << ", bob " << count_of("bob");
  EXPECT_TRUE(eventually([&] { return count(Outcome::kProcessed) == 5; }));

  auto alice = notifications_of("alice");
  ASSERT_EQ(alice.size(), 3u);
  std::map<std::int64_t, Notification> by_order;
  for (const auto& n : alice) by_order[n.order_id] = n;
  ASSERT_EQ(by_order.size(), 3u);
  EXPECT_EQ(by_order.at(101).message, "주문이 생성되었습니다. 주문번호: 101, 금액: 25800원");
  EXPECT_EQ(by_order.at(102).message, "주문이 생성되었습니다. 주문번호: 102, 금액: 200원");
  EXPECT_EQ(by_order.at(101).type, "ORDER_CREATED");
  EXPECT_EQ(by_order.at(101).user_id, "alice");
  EXPECT_EQ(by_order.at(101).source_event_id, event_id_of(records[0]));
  ASSERT_EQ(by_order.at(101).deliveries.size(), 1u);
  EXPECT_EQ(by_order.at(101).deliveries[0].channel, "log");
  EXPECT_EQ(by_order.at(101).deliveries[0].status, "DELIVERED");
  for (const auto& r : records) EXPECT_TRUE(processed(event_id_of(r)));
  EXPECT_EQ(total_notifications(), 5);
  EXPECT_EQ(count(Outcome::kDuplicate), 0);
}

// Issue 12: GET /api/notifications with bearer tokens (auth.mode required): a token lists only
// its user's notifications, asking for another user is 403 except for an admin, and no or a bad
// token is 401. With optional, a request without a token names its user as before.
TEST_P(NotificationFlowTest, HttpListsOnlyTheTokensUsersNotifications) {
  using orderflow::testing::bearer;
  using orderflow::testing::test_token;
  start_runner();
  produce(order_created(301, "alice", "100"));
  produce(order_created(302, "bob", "200"));
  ASSERT_TRUE(eventually([&] { return count_of("alice") == 1 && count_of("bob") == 1; }, kWait));

  http::Router router;
  add_notification_routes(router, *service_);
  auto list = [&](const http::Authenticator& auth,
                  std::vector<std::pair<std::string, std::string>> headers,
                  std::map<std::string, std::string> query = {}) {
    http::Request req;
    req.method = "GET";
    req.path = "/api/notifications";
    req.headers = std::move(headers);
    req.query = std::move(query);
    return router.dispatch(req, &auth).response;
  };
  auto users = [](const http::Response& r) {
    std::set<std::string> out;
    auto body = json::parse(r.body);  // outlives the loop (a temporary's member would not)
    for (const auto& item : body["items"]) out.insert(item["userId"].get<std::string>());
    return out;
  };
  http::Authenticator required(orderflow::testing::test_auth_config(), clock_);
  EXPECT_EQ(list(required, {}).status, 401);
  EXPECT_EQ(list(required, {{"X-User-Id", "alice"}}).status, 401);
  EXPECT_EQ(list(required, {bearer(orderflow::testing::badly_signed_token("alice"))}).status, 401);
  auto alice = list(required, {bearer(test_token("alice"))});
  ASSERT_EQ(alice.status, 200) << alice.body;
  EXPECT_EQ(users(alice), std::set<std::string>{"alice"});
  EXPECT_EQ(list(required, {bearer(test_token("alice"))}, {{"userId", "bob"}}).status, 403);
  auto admin = list(required, {bearer(test_token("ops", {"admin"}))}, {{"userId", "bob"}});
  ASSERT_EQ(admin.status, 200) << admin.body;
  EXPECT_EQ(users(admin), std::set<std::string>{"bob"});

  http::Authenticator optional(orderflow::testing::test_auth_config(http::AuthMode::kOptional),
                               clock_);
  EXPECT_EQ(users(list(optional, {{"X-User-Id", "bob"}})), std::set<std::string>{"bob"});
  EXPECT_EQ(users(list(optional, {bearer(test_token("alice")), {"X-User-Id", "bob"}})),
            std::set<std::string>{"alice"});
}

// The order service's own ORDER_CREATED record is what the notification service understands.
TEST_P(NotificationFlowTest, TheOrderServicesRecordIsNotified) {
  order::Order o;
  o.id = 12345;
  o.user_id = "42";
  o.total_amount = Decimal::from_integer(25800);
  o.currency = "KRW";
  o.items.push_back({"ABC-001", 2, Decimal::from_integer(12900)});
  o.created_at = clock_.now();
  auto record = order::order_created_record(o, topic_, "order-service", "");
  EXPECT_EQ(record.key, "12345");
  start_runner();
  produce(record);
  ASSERT_TRUE(eventually([&] { return count_of("42") == 1; }, kWait));
  auto n = notifications_of("42");
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].message, "주문이 생성되었습니다. 주문번호: 12345, 금액: 25800원");
  EXPECT_EQ(n[0].order_id, 12345);
  EXPECT_EQ(n[0].source_event_id, event_id_of(record));
}

// (b) Seed 000: the same event twice (same eventId) notifies once; the second is a duplicate.
TEST_P(NotificationFlowTest, SameEventTwiceNotifiesOnce) {
  auto record = order_created(300, "carol");
  auto id = event_id_of(record);
  start_runner();
  produce(record);
  produce(record);
  ASSERT_TRUE(eventually([&] { return seen_.calls(id) >= 2; }, kWait)) << seen_.calls(id);
  ASSERT_TRUE(eventually([&] { return count(Outcome::kDuplicate) >= 1; }, kWait));
  EXPECT_EQ(count(Outcome::kProcessed), 1);
  EXPECT_EQ(count_of("carol"), 1);
  EXPECT_EQ(total_notifications(), 1);
}

// A record with a new eventId but the same order is a new event and is notified.
TEST_P(NotificationFlowTest, SameOrderWithANewEventIdIsANewEvent) {
  start_runner();
  produce(order_created(400, "dan"));
  produce(order_created(400, "dan"));
  ASSERT_TRUE(eventually([&] { return count_of("dan") == 2; }, kWait));
  EXPECT_EQ(count(Outcome::kDuplicate), 0);
}

// (c) A consumer killed after its DB commit but before its offset commit: the records come
// again to the next member and create no duplicate notification.
//
// The killed consumer runs in a child process (this binary, filtered to
// NotificationCrashChild.Consume) on the same database, with a commit interval of an hour;
// it is SIGKILLed once all its notifications are stored.
constexpr const char* kChildEnv = "ORDERFLOW_NOTIFICATION_CRASH_CHILD";

TEST(NotificationCrashChild, Consume) {
  const char* spec = std::getenv(kChildEnv);
  if (spec == nullptr) GTEST_SKIP() << "helper of the crash test, runs in a child process";
  std::string s = spec;  // kind|bootstrap|topic|group|db
  auto next = [&s] {
    auto bar = s.find('|');
    std::string part = s.substr(0, bar);
    s = bar == std::string::npos ? "" : s.substr(bar + 1);
    return part;
  };
  auto kind = orderflow::testing::broker_kind_from_name(next());
  std::string bootstrap = next(), topic = next(), group = next(), db_path = next();
  auto logger = observability::make_logger("notification-crash-child", {"warn", "text"});
  observability::Metrics metrics(kService);
  SystemClock clock;
  auto db = open_notification_db(db_path);
  SqlNotificationRepository repository(*db);
  LogNotifier log(logger);
  auto store = messaging::make_database_idempotency_store(*db);
  NotificationService service(repository, load_templates(templates_file(), "ko"), {&log}, clock,
                              group, *store);
  messaging::ConsumerOptions o;
  o.service = kService;
  o.group_id = group;
  o.topics = {topic};
  o.commit_interval = 1h;  // no offset is committed before the kill
  auto parked_keys = messaging::make_memory_parked_key_store();
  messaging::ConsumerRunner runner(consumer_config(kind, bootstrap, "crash-child"), o,
                                   make_event_handler(service), metrics, logger, clock,
                                   *parked_keys);
  runner.start();
  std::mutex forever;
  std::condition_variable never;
  std::unique_lock lock(forever);
  never.wait(lock, [] { return false; });  // until the parent kills it
}

TEST_P(NotificationFlowTest, ConsumerKilledAfterDbCommitBeforeOffsetCommitCreatesNoDuplicate) {
  constexpr int kEvents = 12;
  std::vector<std::string> ids;
  for (int i = 0; i < kEvents; ++i) {
    auto r = order_created(500 + i, "user-" + std::to_string(i % 4));
    ids.push_back(event_id_of(r));
    produce(std::move(r));
  }

  // Everything exec needs is built before fork: a threaded process may only make
  // async-signal-safe calls between fork and exec.
  std::string spec = orderflow::testing::broker_kind_name(GetParam().broker) + "|" +
                     broker_.bootstrap_servers() + "|" + topic_ + "|" + group_ + "|" + db_path_;
  std::vector<std::string> env_strings{std::string(kChildEnv) + "=" + spec};
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = "notification-crash-child";
  std::string arg1 = "--gtest_filter=NotificationCrashChild.Consume";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execve("/proc/self/exe", argv, envp.data());
    _exit(127);
  }
  // Stored, delivered and marked in the inbox (the mark is the last step).
  bool all_stored = eventually(
      [&] {
        return std::all_of(ids.begin(), ids.end(), [&](const auto& id) { return processed(id); });
      },
      kWait);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(all_stored) << "the child stored " << total_notifications();
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child must die by the kill, not exit";
  std::map<std::string, std::int64_t> before;
  for (int u = 0; u < 4; ++u)
    before["user-" + std::to_string(u)] = count_of("user-" + std::to_string(u));

  // The next member of the group gets every record again: all duplicates, nothing new. The
  // group first waits for the killed member's session to expire.
  start_runner();
  ASSERT_TRUE(eventually([&] { return count(Outcome::kDuplicate) >= kEvents; }, 2 * kWait))
      << "redelivered " << count(Outcome::kDuplicate);
  for (const auto& id : ids) EXPECT_GE(seen_.calls(id), 1) << id;
  EXPECT_EQ(count(Outcome::kProcessed), 0);
  EXPECT_EQ(total_notifications(), kEvents);
  for (const auto& [user, n] : before) EXPECT_EQ(count_of(user), n) << user;
}

// (d) Seed 001 "Consumer 재시작 후 백로그 처리": a consumer that was down processes the whole
// backlog produced meanwhile when it comes back.
TEST_P(NotificationFlowTest, RestartedConsumerProcessesTheBacklog) {
  auto first = order_created(600, "erin");
  {
    auto& runner = start_runner();
    produce(first);
    ASSERT_TRUE(eventually([&] { return processed(event_id_of(first)); }, kWait));
    runner.stop();
  }
  constexpr int kBacklog = 20;
  std::vector<std::string> ids;
  for (int i = 0; i < kBacklog; ++i) {
    auto r = order_created(700 + i, "frank");
    ids.push_back(event_id_of(r));
    produce(std::move(r));
  }
  EXPECT_EQ(count_of("frank"), 0) << "nobody consumes while the consumer is down";

  start_runner();
  ASSERT_TRUE(eventually([&] { return count_of("frank") == kBacklog; }, kWait))
      << count_of("frank");
  for (const auto& id : ids) EXPECT_TRUE(eventually([&] { return processed(id); })) << id;
  EXPECT_EQ(count_of("erin"), 1);
  EXPECT_EQ(total_notifications(), kBacklog + 1);
  EXPECT_EQ(seen_.calls(event_id_of(first)), 1) << "committed on stop: not redelivered";
  EXPECT_EQ(count(Outcome::kDuplicate), 0);
}

// (e) A malformed value does not stop the consumer.
TEST_P(NotificationFlowTest, MalformedValueDoesNotStopTheConsumer) {
  start_runner();
  // The first malformed record dead-letters and parks key 800 (docs/dlq.md), so the other bad
  // records of that key follow it to the DLT; a valid event on another key still flows.
  const std::string key = "800";
  messaging::EventMeta meta{new_uuid(), "ORDER_CREATED", 1, format_iso8601(clock_.now())};
  produce({topic_, key, "this is not JSON", messaging::standard_headers(meta, "order-service")});
  produce({topic_, key, "", {}});
  messaging::EventMeta no_order{new_uuid(), "ORDER_CREATED", 1, format_iso8601(clock_.now())};
  produce({topic_, key, messaging::encode_event(no_order, {{"userId", "gina"}}),
           messaging::standard_headers(no_order, "order-service")});
  produce(order_created(801, "gina"));

  ASSERT_TRUE(eventually([&] { return count_of("gina") == 1; }, kWait));
  // Two carry eventType ORDER_CREATED in their headers; the empty one has none ("unknown").
  EXPECT_TRUE(eventually(
      [&] { return count(Outcome::kDlq) == 2 && count(Outcome::kDlq, "unknown") == 1; }, kWait))
      << count(Outcome::kDlq) << " " << count(Outcome::kDlq, "unknown");
  EXPECT_EQ(count(Outcome::kRetry), 0) << "a malformed record is not retried";
  EXPECT_FALSE(processed(meta.event_id));
  EXPECT_FALSE(processed(no_order.event_id));
  EXPECT_EQ(total_notifications(), 1);
}

// (f) Seed 000 fault injection: a fail- user's channel throws; after max_attempts the event is
// dead-lettered (its notification stays stored with the FAILED delivery and its attempts), the
// later record of the same key is parked behind it (KEY_PARKED) and events of other keys are
// still notified.
TEST_P(NotificationFlowTest, FailUserIsRetriedThenGivenUpAndOthersStillNotified) {
  start_runner();
  auto failing = order_created(900, "fail-user-1", "5000");
  produce(failing);
  // One on the same key (same partition and worker, after the failing one), others elsewhere.
  messaging::OutgoingRecord same_key = order_created(900, "henry");
  produce(same_key);
  for (int i = 1; i <= 4; ++i) produce(order_created(900 + i, "henry"));

  ASSERT_TRUE(eventually([&] { return count_of("henry") == 4; }, kWait)) << count_of("henry");
  ASSERT_TRUE(eventually([&] { return count(Outcome::kDlq) >= 2; }, kWait));
  EXPECT_EQ(seen_.calls(event_id_of(failing)), 3) << "max_attempts 3";
  EXPECT_EQ(seen_.calls(event_id_of(same_key)), 0) << "a parked key's record skips the handler";
  EXPECT_EQ(count(Outcome::kRetry), 2);
  auto failed = notifications_of("fail-user-1");
  ASSERT_EQ(failed.size(), 1u);
  ASSERT_EQ(failed[0].deliveries.size(), 1u);
  EXPECT_EQ(failed[0].deliveries[0].status, "FAILED");
  EXPECT_EQ(failed[0].deliveries[0].attempts, 3);
  EXPECT_NE(failed[0].deliveries[0].last_error.find("CHANNEL_FAILURE"), std::string::npos);
  EXPECT_FALSE(processed(event_id_of(failing))) << "not marked: a replay delivers it";
  EXPECT_EQ(total_notifications(), 5);
}

// ---- Issue 13: channels over HTTP, the data-platform sink, the Redis idempotency store. ----
// Real servers: a local HTTP receiver (HttpReceiver) and Debian's redis-server (RedisServer).

IncomingEvent created_event(std::int64_t order_id, const std::string& user) {
  IncomingEvent e;
  e.event_id = new_uuid();
  e.event_type = "ORDER_CREATED";
  e.order_id = order_id;
  e.user_id = user;
  e.fields = {{"orderId", std::to_string(order_id)},
              {"userId", user},
              {"totalAmount", "25800"},
              {"currency", "KRW"}};
  return e;
}

// The service on SQLite with every HTTP channel on one receiver (and log), as main.cpp builds it.
class ChannelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = open_notification_db(dir_.file("notification.db"));
    repository_ = std::make_unique<SqlNotificationRepository>(*db_);
    store_ = messaging::make_database_idempotency_store(*db_);
    http::OutboundOptions options;
    options.total_timeout = 500ms;
    for (const char* name : {"webhook", "discord", "slack"}) {
      channels_.push_back(
          std::make_unique<HttpNotifier>(name, receiver_.url(name), payload_for(name), options));
    }
    channels_.push_back(std::make_unique<LogNotifier>(logger_));
    std::vector<Notifier*> notifiers;
    for (auto& c : channels_) notifiers.push_back(c.get());
    service_ =
        std::make_unique<NotificationService>(*repository_, load_templates(templates_file(), "en"),
                                              notifiers, clock_, "notification-service", *store_);
  }

  Notification only(const std::string& user) {
    auto page = repository_->list_by_user(user, 0, 10);
    EXPECT_TRUE(page.ok());
    EXPECT_EQ(page->items.size(), 1u);
    return page->items.empty() ? Notification{} : page->items[0];
  }
  static Delivery delivery(const Notification& n, const std::string& channel) {
    for (const auto& d : n.deliveries) {
      if (d.channel == channel) return d;
    }
    ADD_FAILURE() << "no delivery for " << channel;
    return {};
  }

  orderflow::testing::TempDir dir_;
  orderflow::testing::HttpReceiver receiver_;
  std::shared_ptr<spdlog::logger> logger_ =
      observability::make_logger("channels-test", {"warn", "text"});
  ManualClock clock_{Clock::TimePoint{std::chrono::milliseconds{1'767'225'600'000}}};
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<SqlNotificationRepository> repository_;
  std::unique_ptr<messaging::IdempotencyStore> store_;
  std::vector<std::unique_ptr<Notifier>> channels_;
  std::unique_ptr<NotificationService> service_;
};

// Every channel gets one message in its service's own shape; each delivery is recorded.
TEST_F(ChannelsTest, EveryChannelGetsOneMessageInItsExactShape) {
  auto event = created_event(77, "alice");
  event.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto outcome = service_->handle(event);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome.value(), HandleOutcome::kNotified);
  ASSERT_EQ(receiver_.count("discord"), 1u);
  ASSERT_EQ(receiver_.count("slack"), 1u);
  ASSERT_EQ(receiver_.count("webhook"), 1u);
  auto n = only("alice");
  const std::string message = n.message;
  ASSERT_FALSE(message.empty());

  EXPECT_EQ(json::parse(receiver_.requests("discord")[0].body),
            json({{"content", message},
                  {"embeds",
                   {{{"title", "ORDER_CREATED"},
                     {"description", message},
                     {"fields",
                      {{{"name", "Order"}, {"value", "77"}, {"inline", true}},
                       {{"name", "User"}, {"value", "alice"}, {"inline", true}}}},
                     {"timestamp", "2026-01-01T00:00:00.000Z"}}}}}));
  EXPECT_EQ(json::parse(receiver_.requests("slack")[0].body),
            json({{"text", message},
                  {"blocks",
                   {{{"type", "section"},
                     {"text", {{"type", "mrkdwn"}, {"text", "*ORDER_CREATED*\n" + message}}}},
                    {{"type", "context"},
                     {"elements", {{{"type", "mrkdwn"}, {"text", "order 77 · user alice"}}}}}}}}));
  auto webhook = receiver_.requests("webhook")[0];
  auto body = json::parse(webhook.body);
  EXPECT_EQ(body["orderId"], 77);
  EXPECT_EQ(body["userId"], "alice");
  EXPECT_EQ(body["sourceEventId"], event.event_id);
  EXPECT_EQ(body["message"], message);
  EXPECT_EQ(webhook.header("Idempotency-Key"), event.event_id + ":alice");
  EXPECT_EQ(webhook.header("Content-Type"), "application/json");
  for (const char* channel : {"webhook", "discord", "slack"}) {
    EXPECT_EQ(receiver_.requests(channel)[0].header("traceparent"), event.traceparent)
        << channel << " continues the event's trace";
  }

  ASSERT_EQ(n.deliveries.size(), 4u);
  for (const auto& d : n.deliveries) {
    EXPECT_EQ(d.status, "DELIVERED") << d.channel;
    EXPECT_EQ(d.attempts, 1) << d.channel;
    EXPECT_EQ(d.http_status, d.channel == "log" ? 0 : 200) << d.channel;
    EXPECT_EQ(d.last_error, "") << d.channel;
  }
  // Redelivered: nothing sent again.
  EXPECT_EQ(service_->handle(event).value(), HandleOutcome::kDuplicate);
  EXPECT_EQ(receiver_.count(), 3u);
}

// A 5xx fails the event (retryable); the retry sends only the channel that failed.
TEST_F(ChannelsTest, ARetrySendsOnlyTheChannelsThatFailed) {
  receiver_.answer(503, "try later", 0, "slack");
  auto event = created_event(78, "bob");
  auto first = service_->handle(event);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(first.error().code, "HTTP_503");
  auto n = only("bob");
  EXPECT_EQ(delivery(n, "webhook").status, "DELIVERED");
  EXPECT_EQ(delivery(n, "discord").status, "DELIVERED");
  auto slack = delivery(n, "slack");
  EXPECT_EQ(slack.status, "FAILED");
  EXPECT_EQ(slack.http_status, 503);
  EXPECT_EQ(slack.attempts, 1);
  EXPECT_NE(slack.last_error.find("try later"), std::string::npos) << slack.last_error;
  auto seen = store_->seen("notification-service", event.event_id);
  ASSERT_TRUE(seen.ok());
  EXPECT_FALSE(seen.value()) << "not marked before every channel is done";

  receiver_.answer(200, "ok", 0, "slack");
  auto second = service_->handle(event);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second.value(), HandleOutcome::kNotified);
  EXPECT_EQ(receiver_.count("webhook"), 1u);
  EXPECT_EQ(receiver_.count("discord"), 1u);
  EXPECT_EQ(receiver_.count("slack"), 2u);
  n = only("bob");
  EXPECT_EQ(delivery(n, "slack").status, "DELIVERED");
  EXPECT_EQ(delivery(n, "slack").attempts, 2);
  EXPECT_EQ(delivery(n, "webhook").attempts, 1);
}

// A 4xx is a refusal: stored REJECTED with the status, never sent again; the event is done.
TEST_F(ChannelsTest, A4xxIsRecordedAndNotRetried) {
  receiver_.answer(404, "Unknown Webhook", 0, "discord");
  auto event = created_event(79, "carol");
  auto outcome = service_->handle(event);
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome.value(), HandleOutcome::kRejected);
  auto d = delivery(only("carol"), "discord");
  EXPECT_EQ(d.status, "REJECTED");
  EXPECT_EQ(d.http_status, 404);
  EXPECT_NE(d.last_error.find("Unknown Webhook"), std::string::npos) << d.last_error;
  EXPECT_EQ(service_->handle(event).value(), HandleOutcome::kDuplicate);
  EXPECT_EQ(receiver_.count("discord"), 1u);
}

// A channel that does not answer fails by its total timeout (retryable), not by waiting forever.
TEST_F(ChannelsTest, AStalledChannelTimesOut) {
  receiver_.stall(true);
  auto started = std::chrono::steady_clock::now();
  auto outcome = service_->handle(created_event(80, "dan"));
  auto took = std::chrono::steady_clock::now() - started;
  receiver_.stall(false);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(outcome.error().code, "HTTP_TIMEOUT");
  EXPECT_LT(took, 5s) << "three channels, 500 ms each";
  EXPECT_EQ(delivery(only("dan"), "webhook").status, "FAILED");
}

// A receiver's huge answer is cut at 64 KiB, not buffered whole.
TEST_F(ChannelsTest, AHugeResponseBodyIsCut) {
  receiver_.answer(400, "", 1024 * 1024);
  auto response = http::post(receiver_.url("webhook"), "{}", {}, http::OutboundOptions{});
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(response->body.size(), 64u * 1024);
  EXPECT_TRUE(response->truncated);
}

// Redis: SET NX PX after the effect; the key expires; Redis down is a retryable error.
TEST(RedisIdempotencyStoreTest, MarksOnceExpiresAndIsRetryableWhenDown) {
  orderflow::testing::RedisServer redis;
  messaging::RedisOptions options;
  options.url = redis.url();
  options.key_prefix = unique_name("test:") + ":";
  options.ttl = 300ms;
  auto store = messaging::make_redis_idempotency_store(options);
  EXPECT_EQ(store->kind(), "redis");
  auto seen = store->seen("g", "e1");
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_FALSE(seen.value());
  ASSERT_TRUE(store->mark("g", "e1").ok());
  ASSERT_TRUE(store->mark("g", "e1").ok()) << "a second mark (NX) is no error";
  EXPECT_TRUE(store->seen("g", "e1").value());
  EXPECT_FALSE(store->seen("other-group", "e1").value()) << "keys are per group";
  EXPECT_TRUE(eventually([&] { return !store->seen("g", "e1").value(); }, 5s)) << "ttl_ms";

  redis.stop();
  auto down = store->seen("g", "e2");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(down.error().code, "REDIS_UNAVAILABLE");
  EXPECT_EQ(store->mark("g", "e2").error().kind, ErrorKind::kUnavailable);
  redis.start();
  auto back = store->seen("g", "e2");
  ASSERT_TRUE(back.ok()) << "reconnects: " << back.error().message;
}

// The sink with the Redis store: one POST per event with its Idempotency-Key; a repeat is a
// duplicate; Redis down fails the event (retryable) without calling the platform.
TEST(SinkServiceTest, SendsOncePerEventWithItsIdempotencyKeyAndRedisDownIsRetryable) {
  orderflow::testing::RedisServer redis;
  orderflow::testing::HttpReceiver receiver;
  messaging::RedisOptions options;
  options.url = redis.url();
  options.key_prefix = unique_name("sink:") + ":";
  auto store = messaging::make_redis_idempotency_store(options);
  HttpDataPlatformClient client(receiver.url("sink"), {});
  SinkService sink(client, *store, "data-platform-sink");
  CompletedOrder order{new_uuid(),
                       4242,
                       "erin",
                       "25800",
                       "KRW",
                       "2026-01-01T00:00:00.000Z",
                       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
  auto sent = sink.handle(order);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(sent.value(), SinkOutcome::kSent);
  EXPECT_EQ(sink.handle(order).value(), SinkOutcome::kDuplicate);
  ASSERT_EQ(receiver.count("sink"), 1u);
  auto got = receiver.requests("sink")[0];
  EXPECT_EQ(got.header("Idempotency-Key"), order.event_id);
  EXPECT_EQ(got.header("traceparent"), order.traceparent);
  EXPECT_EQ(json::parse(got.body), json({{"eventId", order.event_id},
                                         {"eventType", "ORDER_COMPLETED"},
                                         {"orderId", 4242},
                                         {"userId", "erin"},
                                         {"totalAmount", "25800"},
                                         {"currency", "KRW"},
                                         {"completedAt", "2026-01-01T00:00:00.000Z"}}));
  receiver.answer(422, "unknown order");
  order.event_id = new_uuid();
  auto refused = sink.handle(order);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kUnprocessable);
  EXPECT_EQ(refused.error().message, "data-platform sink answered HTTP 422: unknown order");

  redis.stop();
  receiver.answer(200);
  order.event_id = new_uuid();
  auto down = sink.handle(order);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(receiver.count("sink"), 2u) << "not called while the store is down";
}

// The parts of the outbound consumers' tests: an embedded broker with a fresh orders topic and
// its DLT, a receiver, a SQLite database with the inbox as the idempotency store.
struct OutboundConsumerParts {
  OutboundConsumerParts() {
    broker.create_topic(topic, 3);
    broker.create_topic(topic + ".dlt", 3);
  }
  std::unique_ptr<messaging::ConsumerRunner> runner(messaging::RecordHandler handler,
                                                    messaging::BatchTransaction* batch = nullptr) {
    messaging::ConsumerOptions o;
    o.service = kService;
    o.group_id = group;
    o.topics = {topic};
    o.retry.max_attempts = 3;
    o.retry.backoff = 1ms;
    o.commit_interval = 50ms;
    return std::make_unique<messaging::ConsumerRunner>(
        consumer_config(orderflow::testing::BrokerKind::kEmbedded, broker.bootstrap_servers(),
                        "outbound-consumer"),
        o, std::move(handler), metrics, logger, clock, *parked, batch);
  }
  /// Produces an order event of `type` keyed by `order_id` (in the trace `traceparent`, else a
  /// new one); returns its eventId.
  std::string produce(const std::string& type, std::int64_t order_id, const std::string& user,
                      const std::string& traceparent = {}) {
    messaging::EventMeta meta{new_uuid(), type, 1, format_iso8601(clock.now())};
    json payload = {{"orderId", order_id},
                    {"userId", user},
                    {"totalAmount", "100"},
                    {"currency", "KRW"},
                    {"items", json::array()}};
    auto report = producer->send_sync(
        {topic, std::to_string(order_id), messaging::encode_event(meta, payload),
         messaging::standard_headers(meta, "order-service", traceparent)},
        10s);
    EXPECT_TRUE(report.ok());
    return meta.event_id;
  }
  double count(const std::string& type, Outcome outcome) const {
    return metrics.message_count(topic, type, outcome);
  }

  orderflow::testing::TestBroker broker{orderflow::testing::BrokerKind::kEmbedded};
  orderflow::testing::HttpReceiver receiver;
  orderflow::testing::TempDir dir;
  std::string topic = unique_name("orders");
  std::string group = unique_name("outbound-group");
  std::unique_ptr<storage::Database> db = open_notification_db(dir.file("outbound.db"));
  std::unique_ptr<messaging::IdempotencyStore> store =
      messaging::make_database_idempotency_store(*db);
  std::shared_ptr<spdlog::logger> logger =
      observability::make_logger("outbound-test", {"warn", "text"});
  observability::Metrics metrics{kService};
  SystemClock clock;
  std::unique_ptr<messaging::ParkedKeyStore> parked = messaging::make_memory_parked_key_store();
  std::unique_ptr<messaging::Producer> producer =
      messaging::make_kafka_producer(broker.kafka_config("outbound-producer"), logger);
};

// The data-platform-sink consumer group on the embedded broker: commit after a 2xx, a 5xx
// retried (3 attempts) then dead-lettered, a 4xx dead-lettered at once with the status and body
// in dlq.error.message; other event types never reach the platform.
TEST(SinkConsumerTest, RetriesA5xxThenDeadLettersAndDeadLettersA4xxAtOnce) {
  OutboundConsumerParts parts;
  auto& receiver = parts.receiver;
  HttpDataPlatformClient client(receiver.url("sink"), {});
  SinkService sink(client, *parts.store, "data-platform-sink");
  auto runner = parts.runner(make_sink_handler(sink));
  auto dlq = [&] { return parts.count("ORDER_COMPLETED", Outcome::kDlq); };
  runner->start();

  parts.produce("ORDER_CREATED", 1, "u1");
  const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto ok_id = parts.produce("ORDER_COMPLETED", 1, "u1", parent);
  ASSERT_TRUE(eventually([&] { return receiver.count("sink") == 1; }, kWait));
  EXPECT_EQ(receiver.requests("sink")[0].header("Idempotency-Key"), ok_id);
  // Issue 14 item 6: the platform's call is a span of the record's trace.
  auto trace = receiver.requests("sink")[0].header("traceparent");
  EXPECT_EQ(observability::trace_id_of(trace), observability::trace_id_of(parent)) << trace;
  EXPECT_NE(trace, parent) << "a span of its own";
  EXPECT_EQ(json::parse(receiver.requests("sink")[0].body)["orderId"], 1);
  EXPECT_TRUE(eventually([&] { return parts.store->seen(sink.consumer_group(), ok_id).value(); }));

  receiver.answer(500, "down");
  auto failing_id = parts.produce("ORDER_COMPLETED", 2, "u1");
  ASSERT_TRUE(eventually([&] { return dlq() == 1; }, kWait));
  EXPECT_EQ(receiver.count("sink"), 4u) << "1 + 3 attempts";
  EXPECT_EQ(parts.count("ORDER_COMPLETED", Outcome::kRetry), 2);

  receiver.answer(400, "{\"error\":\"bad order\"}");
  auto refused_id = parts.produce("ORDER_COMPLETED", 3, "u1");
  ASSERT_TRUE(eventually([&] { return dlq() == 2; }, kWait));
  EXPECT_EQ(receiver.count("sink"), 5u) << "a 4xx is not retried";
  runner->stop();

  orderflow::testing::TopicReader reader(parts.broker.bootstrap_servers(), parts.topic + ".dlt");
  std::map<std::string, orderflow::testing::ReadRecord> letters;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& r : reader.poll()) {
          letters[messaging::find_header(r.headers, "eventId").value_or("")] = r;
        }
        return letters.size() == 2;
      },
      kWait));
  auto header = [&](const std::string& id, const char* name) {
    return messaging::find_header(letters.at(id).headers, name).value_or("<missing>");
  };
  EXPECT_EQ(header(failing_id, "dlq.reason"), "RETRIES_EXHAUSTED");
  EXPECT_EQ(header(failing_id, "dlq.consumer.group"), parts.group);
  EXPECT_EQ(header(refused_id, "dlq.error.message"),
            "data-platform sink answered HTTP 400: {\"error\":\"bad order\"}");
  EXPECT_FALSE(parts.store->seen(sink.consumer_group(), failing_id).value());
}

// main.cpp's consumer: batch transactions, and the channel calls handed off after them. While a
// channel stalls, the database's write lock is free (another write commits at once), and the
// event completes once the channel answers.
TEST(NotificationBatchTest, AStalledChannelHoldsNoDatabaseTransaction) {
  OutboundConsumerParts parts;
  auto& receiver = parts.receiver;
  SqlNotificationRepository repository(*parts.db);
  http::OutboundOptions outbound;
  outbound.total_timeout = 20s;
  HttpNotifier slack("slack", receiver.url("slack"), payload_for("slack"), outbound);
  NotificationService service(repository, load_templates(templates_file(), "en"), {&slack},
                              parts.clock, "notification-service", *parts.store);
  auto batch = messaging::make_database_batch(*parts.db);
  auto runner = parts.runner(make_event_handler(service), batch.get());
  auto event_id = parts.produce("ORDER_CREATED", 5, "ivy");
  receiver.stall(true);
  // Released before the runner stops: a failed assertion must not leave the call stuck.
  std::shared_ptr<void> release(nullptr, [&](void*) { receiver.stall(false); });
  runner->start();
  ASSERT_TRUE(eventually([&] { return receiver.count("slack") == 1; }, kWait));

  // The notification's row is committed (PENDING) and the write lock is free.
  auto page = repository.list_by_user("ivy", 0, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  ASSERT_EQ(page->items[0].deliveries.size(), 1u);
  EXPECT_EQ(page->items[0].deliveries[0].status, "PENDING");
  auto started = std::chrono::steady_clock::now();
  auto wrote = parts.store->mark("another-group", "some-event");
  ASSERT_TRUE(wrote.ok()) << wrote.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);

  receiver.stall(false);
  ASSERT_TRUE(eventually(
      [&] { return parts.store->seen("notification-service", event_id).value(); }, kWait));
  EXPECT_EQ(repository.list_by_user("ivy", 0, 10)->items[0].deliveries[0].status, "DELIVERED");
  EXPECT_TRUE(eventually([&] { return parts.count("ORDER_CREATED", Outcome::kProcessed) == 1; }));
  runner->stop();
}

}  // namespace
}  // namespace orderflow::notification
