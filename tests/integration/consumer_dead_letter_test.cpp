#include <librdkafka/rdkafka.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "orderflow/common/clock.h"
#include "orderflow/common/uuid.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/backend_param.h"
#include "orderflow/testing/broker_param.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_broker.h"
#include "orderflow/testing/test_database.h"

namespace orderflow::messaging {
namespace {

using namespace std::chrono_literals;
using observability::Outcome;
using testing::eventually;
using testing::test_log_level;
using testing::unique_name;

constexpr auto kWait = 30s;

/// Records handed to a handler, thread-safe.
class Collected {
 public:
  void add(const ConsumedRecord& r) {
    std::lock_guard lock(mutex_);
    records_.push_back(r);
  }
  std::vector<ConsumedRecord> all() const {
    std::lock_guard lock(mutex_);
    return records_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return records_.size();
  }
  std::size_t count_id(const std::string& event_id) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : records_) n += find_header(r.headers, "eventId") == event_id ? 1 : 0;
    return n;
  }
  std::set<std::string> keys() const {
    std::lock_guard lock(mutex_);
    std::set<std::string> out;
    for (const auto& r : records_) out.insert(r.key);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<ConsumedRecord> records_;
};

std::string header(const ConsumedRecord& r, const std::string& name) {
  return find_header(r.headers, name).value_or("<missing>");
}

class DeadLetterFixture : public ::testing::Test {
 protected:
  explicit DeadLetterFixture(testing::BrokerKind broker) : broker_(broker) {}

  void SetUp() override { use_topic(unique_name("orders"), true); }

  /// Makes `topic` the test's topic (created with 3 partitions, and its DLT when `with_dlt`).
  void use_topic(const std::string& topic, bool with_dlt) {
    topic_ = topic;
    group_ = unique_name("group");
    broker_.create_topic(topic_, 3);
    if (with_dlt) broker_.create_topic(topic_ + ".dlt", 3);
    producer_ = make_kafka_producer(broker_.kafka_config("dlt-test-producer"), logger_);
  }

  KafkaConfig kafka() const {
    KafkaConfig c = broker_.kafka_config("dlt-test");
    // Kafka refuses a session timeout below its group.min.session.timeout.ms (6 s by default).
    c.consumer_properties["session.timeout.ms"] = broker_.is_kafka() ? "6000" : "4000";
    c.consumer_properties["heartbeat.interval.ms"] = "1000";
    // A DLT write the broker refuses fails in 1.5 s instead of librdkafka's 300 s default.
    c.producer_properties["message.timeout.ms"] = "1500";
    return c;
  }

  /// A runner's options with its clock and parked-key store (null: in memory, per runner).
  struct Setup {
    ConsumerOptions options;
    const Clock* clock = nullptr;
    ParkedKeyStore* store = nullptr;
  };

  Setup options(const Clock* clock, ParkedKeyStore* store = nullptr) const {
    ConsumerOptions o;
    o.service = "test-service";
    o.group_id = group_;
    o.topics = {topic_};
    o.concurrency = 2;
    o.retry.max_attempts = 3;
    o.retry.backoff = 2000ms;
    o.commit_interval = 50ms;
    return {std::move(o), clock, store};
  }

  std::unique_ptr<ConsumerRunner> runner(RecordHandler handler, Setup setup) {
    ParkedKeyStore* store = setup.store;
    if (store == nullptr) store = memory_stores_.emplace_back(make_memory_parked_key_store()).get();
    auto r = std::make_unique<ConsumerRunner>(
        kafka(), std::move(setup.options), std::move(handler), metrics_, logger_,
        setup.clock != nullptr ? *setup.clock : system_clock_, *store);
    r->start();
    return r;
  }

  /// A runner of another group reading the DLT into `into`.
  std::unique_ptr<ConsumerRunner> dlt_reader(Collected& into) {
    ConsumerOptions o;
    o.service = "dlt-reader";
    o.group_id = unique_name("dlt-reader");
    o.topics = {topic_ + ".dlt"};
    o.commit_interval = 50ms;
    return runner(
        [&into](const ConsumedRecord& r) {
          into.add(r);
          return HandlerResult::processed();
        },
        {std::move(o)});
  }

  /// Produces one event per key; returns the eventIds.
  std::vector<std::string> produce(const std::vector<std::string>& keys,
                                   const Headers& extra = {}) {
    std::vector<std::string> ids;
    for (const auto& key : keys) {
      EventMeta meta{new_uuid(), "ORDER_CREATED", 1, format_iso8601(SystemClock{}.now())};
      auto headers = standard_headers(meta, "test");
      headers.insert(headers.end(), extra.begin(), extra.end());
      auto sent =
          producer_->send_sync({topic_, key, encode_event(meta, {{"key", key}}), headers}, kWait);
      EXPECT_TRUE(sent.ok()) << sent.error().message;
      ids.push_back(meta.event_id);
    }
    return ids;
  }

  void produce_unpark(const std::string& key, std::int64_t resolved) {
    auto sent = producer_->send_sync({topic_,
                                      key,
                                      "",
                                      {{"dlq.control", "UNPARK"},
                                       {"dlq.consumer.group", group_},
                                       {"dlq.parked.count", std::to_string(resolved)}}},
                                     kWait);
    EXPECT_TRUE(sent.ok());
  }

  double count(Outcome outcome) const {
    return metrics_.message_count(topic_, "ORDER_CREATED", outcome);
  }

  testing::TestBroker broker_;
  observability::Metrics metrics_{"test"};
  std::shared_ptr<spdlog::logger> logger_ =
      observability::make_logger("dlt-test", {test_log_level(), "text"});
  std::unique_ptr<Producer> producer_;
  std::string topic_;
  std::string group_;
  SystemClock system_clock_;
  std::vector<std::unique_ptr<ParkedKeyStore>> memory_stores_;  ///< outlive the test's runners
};

// On both brokers: .../Embedded and .../Kafka.
class DeadLetterTest : public DeadLetterFixture,
                       public ::testing::WithParamInterface<testing::BrokerKind> {
 protected:
  DeadLetterTest() : DeadLetterFixture(GetParam()) {}
};
ORDERFLOW_ON_BOTH_BROKERS(DeadLetterTest);

// The test whose parked keys are in a database, on both databases: .../EmbeddedSqlite,
// .../KafkaSqlite and .../EmbeddedPostgres.
class ParkedKeyTest : public DeadLetterFixture,
                      public ::testing::WithParamInterface<testing::BackendParam> {
 protected:
  ParkedKeyTest() : DeadLetterFixture(GetParam().broker) {}
  testing::TestDatabase database_{GetParam().database};
};
ORDERFLOW_ON_BACKENDS(ParkedKeyTest, {kEmbedded, kSqlite}, {kKafka, kSqlite},
                      {kEmbedded, kPostgres});

std::vector<std::string> keys(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

TEST_P(DeadLetterTest, MalformedRecordGoesToTheDltAtOnceWithAllHeaders) {
  ManualClock clock;
  auto ids = produce({"bad-1"}, {{"x-custom", "kept"}});
  std::atomic<int> calls{0};
  auto r = runner(
      [&](const ConsumedRecord&) {
        ++calls;
        return HandlerResult::failed(invalid_input("MALFORMED_EVENT", "value is not JSON"));
      },
      options(&clock));
  Collected dlt;
  auto reader = dlt_reader(dlt);
  ASSERT_TRUE(eventually([&] { return dlt.size() == 1; }, kWait));
  EXPECT_EQ(calls.load(), 1) << "no retry for a malformed record";
  // Counted on the DLT write's delivery report, which a real broker may send after the reader
  // already has the record.
  EXPECT_TRUE(eventually([&] { return count(Outcome::kDlq) == 1; }, kWait));
  EXPECT_EQ(count(Outcome::kRetry), 0);
  auto letter = dlt.all().front();
  EXPECT_EQ(letter.key, "bad-1");
  EXPECT_EQ(header(letter, "eventId"), ids[0]) << "original headers are kept";
  EXPECT_EQ(header(letter, "x-custom"), "kept");
  EXPECT_EQ(header(letter, "dlq.service"), "test-service");
  EXPECT_EQ(header(letter, "dlq.consumer.group"), group_);
  EXPECT_EQ(header(letter, "dlq.original.topic"), topic_);
  EXPECT_NE(header(letter, "dlq.original.partition"), "<missing>");
  EXPECT_EQ(header(letter, "dlq.original.offset"), "0");
  EXPECT_EQ(header(letter, "dlq.error.timestamp"), format_iso8601(clock.now()));
  EXPECT_EQ(header(letter, "dlq.error.class"), "kInvalidInput:MALFORMED_EVENT");
  EXPECT_EQ(header(letter, "dlq.error.message"), "value is not JSON");
  EXPECT_NE(header(letter, "dlq.error.stacktrace").find("attempt 1"), std::string::npos);
  EXPECT_EQ(header(letter, "dlq.attempts"), "1");
  EXPECT_EQ(header(letter, "dlq.reason"), "MALFORMED");
  reader->stop();
  r->stop();
}

TEST_P(DeadLetterTest, HandlerExceptionIsAHandlerError) {
  ManualClock clock;
  produce({"bug-1"});
  auto r = runner([](const ConsumedRecord&) -> HandlerResult { throw std::runtime_error("npe"); },
                  options(&clock));
  Collected dlt;
  auto reader = dlt_reader(dlt);
  ASSERT_TRUE(eventually([&] { return dlt.size() == 1; }, kWait));
  EXPECT_EQ(header(dlt.all().front(), "dlq.reason"), "HANDLER_ERROR");
  EXPECT_EQ(header(dlt.all().front(), "dlq.error.class"), "kInternal:HANDLER_EXCEPTION");
  EXPECT_EQ(count(Outcome::kRetry), 0);
  reader->stop();
  r->stop();
}

TEST_P(DeadLetterTest, RetryableErrorBacksOffOnTheClockWithoutBlockingOthersThenDeadLetters) {
  ManualClock clock;
  const std::string failing_key = "busy-0";
  auto ids = produce({failing_key});
  auto after_ids = produce({failing_key});  // same key, must wait behind the failing record
  std::mutex mutex;
  std::vector<Clock::TimePoint> attempts;
  Collected handled;
  auto r = runner(
      [&](const ConsumedRecord& rec) {
        if (find_header(rec.headers, "eventId") == ids[0]) {
          std::lock_guard lock(mutex);
          attempts.push_back(clock.now());
          return HandlerResult::failed(unavailable("DB_BUSY", "database is locked"));
        }
        handled.add(rec);
        return HandlerResult::processed();
      },
      options(&clock));
  auto attempt_count = [&] {
    std::lock_guard lock(mutex);
    return attempts.size();
  };
  ASSERT_TRUE(eventually([&] { return attempt_count() == 1; }, kWait));
  // 30 other keys cover every partition, including the failing key's: all flow while it waits.
  auto others = produce(keys("other-", 30));
  ASSERT_TRUE(eventually([&] { return handled.size() == others.size(); }, kWait));
  clock.advance(1999ms);
  auto more = produce(keys("more-", 30));  // once these are handled the workers have ticked
  ASSERT_TRUE(eventually([&] { return handled.size() == others.size() + more.size(); }, kWait));
  EXPECT_EQ(attempt_count(), 1U) << "not retried before the backoff elapsed";
  EXPECT_EQ(handled.count_id(after_ids[0]), 0U) << "the key's later record waits behind it";
  clock.advance(1ms);
  ASSERT_TRUE(eventually([&] { return attempt_count() == 2; }, kWait));
  clock.advance(2000ms);
  ASSERT_TRUE(eventually([&] { return attempt_count() == 3; }, kWait));
  Collected dlt;
  auto reader = dlt_reader(dlt);
  ASSERT_TRUE(eventually([&] { return dlt.size() == 2; }, kWait))
      << "the failed record, then its key's next one as KEY_PARKED";
  EXPECT_TRUE(eventually([&] { return count(Outcome::kDlq) == 2; }));
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(attempts.size(), 3U) << "exactly max_attempts";
    EXPECT_EQ(attempts[1] - attempts[0], 2000ms);
    EXPECT_EQ(attempts[2] - attempts[1], 2000ms);
  }
  EXPECT_EQ(count(Outcome::kRetry), 2);
  auto letters = dlt.all();
  EXPECT_EQ(header(letters[0], "eventId"), ids[0]);
  EXPECT_EQ(header(letters[0], "dlq.reason"), "RETRIES_EXHAUSTED");
  EXPECT_EQ(header(letters[0], "dlq.attempts"), "3");
  EXPECT_EQ(header(letters[0], "dlq.error.class"), "kUnavailable:DB_BUSY");
  EXPECT_EQ(header(letters[1], "eventId"), after_ids[0]);
  EXPECT_EQ(header(letters[1], "dlq.reason"), "KEY_PARKED");
  EXPECT_EQ(handled.count_id(after_ids[0]), 0U);
  reader->stop();
  r->stop();
}

TEST_P(DeadLetterTest, StopDuringBackoffLosesNothing) {
  ManualClock clock;
  auto ids = produce({"k-0", "k-0"});
  std::atomic<int> failing_calls{0};
  auto r = runner(
      [&](const ConsumedRecord& rec) {
        if (find_header(rec.headers, "eventId") == ids[0]) {
          ++failing_calls;
          return HandlerResult::failed(unavailable("DB_BUSY", "locked"));
        }
        return HandlerResult::processed();
      },
      options(&clock));
  ASSERT_TRUE(eventually([&] { return failing_calls.load() == 1; }, kWait));
  r->stop();

  Collected second;
  auto again = runner(
      [&](const ConsumedRecord& rec) {
        second.add(rec);
        return HandlerResult::processed();
      },
      options(&clock));
  ASSERT_TRUE(eventually([&] { return second.size() == 2; }, kWait));
  EXPECT_EQ(second.count_id(ids[0]), 1U);
  EXPECT_EQ(second.count_id(ids[1]), 1U);
  EXPECT_EQ(header(second.all()[0], "eventId"), ids[0]) << "per-key order kept";
  again->stop();
}

TEST_P(DeadLetterTest, UnreachableDltKeepsTheRecordUncommittedUntilTheWriteSucceeds) {
  ManualClock clock;
  if (broker_.is_kafka()) use_topic(unique_name("orders"), false);
  auto ids = produce({"bad-0"});
  std::atomic<int> calls{0};
  auto handler = [&](const ConsumedRecord& rec) {
    if (find_header(rec.headers, "eventId") == ids[0]) {
      ++calls;
      return HandlerResult::failed(invalid_input("MALFORMED_EVENT", "bad"));
    }
    return HandlerResult::processed();
  };
  // The DLT writes fail; the DLT producer gives up after its 1.5 s message.timeout.ms. On Kafka
  // the DLT does not exist yet (the test cluster creates no topic on its own). The embedded
  // broker creates any topic a producer names, so there the next Produce requests (ApiKey 0)
  // are refused with a retriable error instead.
  if (!broker_.is_kafka()) {
    broker_.embedded().fail_requests(0, 20, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
  }
  auto r = runner(handler, options(&clock));
  ASSERT_TRUE(eventually([&] { return count(Outcome::kError) >= 1; }, kWait));
  EXPECT_EQ(count(Outcome::kDlq), 0);
  EXPECT_EQ(calls.load(), 1);
  r->stop();  // not committed: the record comes again
  if (broker_.is_kafka()) broker_.create_topic(topic_ + ".dlt", 3);

  auto again = runner(handler, options(&clock));
  // Moving the clock lets a failed DLT write be tried again after its backoff.
  ASSERT_TRUE(eventually(
      [&] {
        clock.advance(100ms);
        return count(Outcome::kDlq) == 1;
      },
      kWait));
  EXPECT_EQ(calls.load(), 2) << "handled again by the next runner";
  again->stop();  // now committed

  Collected third;
  auto last = runner(
      [&](const ConsumedRecord& rec) {
        third.add(rec);
        return HandlerResult::processed();
      },
      options(&clock));
  auto sentinel = produce({"bad-0"});
  ASSERT_TRUE(eventually([&] { return third.size() >= 1; }, kWait));
  EXPECT_EQ(third.count_id(ids[0]), 0U) << "committed once the DLT write succeeded";
  last->stop();
}

TEST_P(ParkedKeyTest, ParkedKeyIsDeadLetteredUntilUnparkedAndReplayBypassesIt) {
  ManualClock clock;
  auto db = storage::open_database(database_.storage_config());
  storage::migrate(*db, "parked_keys", parked_key_migrations());
  auto store = make_parked_key_store(*db);

  std::set<std::string> poison;
  auto ids = produce({"K"});
  poison.insert(ids[0]);
  Collected handled;
  auto handler = [&](const ConsumedRecord& rec) {
    if (poison.contains(find_header(rec.headers, "eventId").value_or(""))) {
      return HandlerResult::failed(invalid_input("MALFORMED_EVENT", "bad"));
    }
    handled.add(rec);
    return HandlerResult::processed();
  };
  auto r = runner(handler, options(&clock, store.get()));
  ASSERT_TRUE(eventually([&] { return count(Outcome::kDlq) == 1; }, kWait));
  auto parked_ids = produce({"K", "L"});
  ASSERT_TRUE(eventually([&] { return handled.count_id(parked_ids[1]) == 1; }, kWait));
  ASSERT_TRUE(eventually([&] { return count(Outcome::kDlq) == 2; }, kWait));
  EXPECT_EQ(handled.count_id(parked_ids[0]), 0U) << "a parked key's record skips the handler";
  EXPECT_EQ(store->count(group_, topic_, "K").value(), 2);
  EXPECT_NE(metrics_.serialize().find("orderflow_parked_keys"), std::string::npos);
  r->stop();

  // Parked state survives a restart; a replay for this group bypasses it.
  auto r2 = runner(handler, options(&clock, store.get()));
  auto still_parked = produce({"K"});
  auto replayed = produce({"K"}, {{"dlq.replay.group", group_}, {"dlq.replay.count", "1"}});
  ASSERT_TRUE(eventually([&] { return handled.count_id(replayed[0]) == 1; }, kWait));
  EXPECT_EQ(handled.count_id(still_parked[0]), 0U);
  ASSERT_TRUE(eventually([&] { return count(Outcome::kDlq) == 3; }, kWait));
  // An UNPARK resolving fewer dead letters than parked leaves the key parked.
  produce_unpark("K", 2);
  auto still_parked2 = produce({"K"});
  ASSERT_TRUE(eventually([&] { return count(Outcome::kDlq) == 4; }, kWait));
  EXPECT_EQ(store->count(group_, topic_, "K").value(), 4);
  produce_unpark("K", 4);
  auto flowing = produce({"K"});
  ASSERT_TRUE(eventually([&] { return handled.count_id(flowing[0]) == 1; }, kWait));
  EXPECT_EQ(store->count(group_, topic_, "K").value(), 0);
  EXPECT_EQ(handled.count_id(still_parked2[0]), 0U);
  EXPECT_EQ(handled.keys(), (std::set<std::string>{"K", "L"})) << "no control record handled";
  r2->stop();
}

TEST_P(DeadLetterTest, OtherGroupsSkipControlRecords) {
  ManualClock clock;
  Collected handled;
  auto o = options(&clock);
  o.options.group_id = unique_name("other-group");
  auto r = runner(
      [&](const ConsumedRecord& rec) {
        handled.add(rec);
        return HandlerResult::processed();
      },
      o);
  produce_unpark("K", 1);
  auto ids = produce({"K"});
  ASSERT_TRUE(eventually([&] { return handled.count_id(ids[0]) == 1; }, kWait));
  EXPECT_EQ(handled.size(), 1U) << "the control record never reached the handler";
  EXPECT_EQ(metrics_.message_count(topic_, "unknown", Outcome::kSkip), 1);
  r->stop();
}

}  // namespace
}  // namespace orderflow::messaging
