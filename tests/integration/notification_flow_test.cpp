// Integration tests of the notification service's consuming side: embedded broker in process, a
// real ConsumerRunner, NotificationService and SqlNotificationRepository on SQLite or PostgreSQL.
// Seeds 000 (idempotency, fail- users, retry → DLQ), 001 (ORDER_CREATED → 알림, backlog after a
// restart) and ARCHITECTURE.md invariant 4 (one notification per (event, user)).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
#include "adapters/notifier/log_notifier.h"
#include "adapters/storage/sql_notification_repository.h"
#include "adapters/templates/template_file.h"
#include "app/notification_service.h"
#include "domain/notification.h"
#include "domain/order.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/uuid.h"
#include "orderflow/config/config.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/auth_tokens.h"
#include "orderflow/testing/backend_param.h"
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
    service_ = std::make_unique<NotificationService>(
        *repository_, load_templates(templates_file(), "ko"), std::vector<Notifier*>{faulty_.get()},
        clock_, group_);
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
  NotificationService service(repository, load_templates(templates_file(), "ko"), {&log}, clock,
                              group);
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
  bool all_stored = eventually([&] { return total_notifications() == kEvents; }, kWait);
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
    ASSERT_TRUE(eventually([&] { return count_of("erin") == 1; }, kWait));
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
  for (const auto& id : ids) EXPECT_TRUE(processed(id));
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
// dead-lettered (no notification), the later record of the same key is parked behind it
// (KEY_PARKED) and events of other keys are still notified.
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
  EXPECT_EQ(count_of("fail-user-1"), 0);
  EXPECT_FALSE(processed(event_id_of(failing))) << "nothing stored for the failed event";
  EXPECT_EQ(total_notifications(), 4);
}

}  // namespace
}  // namespace orderflow::notification
