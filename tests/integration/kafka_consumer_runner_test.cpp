#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "orderflow/common/clock.h"
#include "orderflow/common/uuid.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/group_lag.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/runtime/service_status.h"
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

/// What the handlers saw, thread-safe.
class Seen {
 public:
  void add(const ConsumedRecord& r, int seq, const std::string& event_id) {
    std::lock_guard lock(mutex_);
    by_key_[r.key].push_back(seq);
    event_ids_.insert(event_id);
    ++calls_;
    threads_.insert(std::this_thread::get_id());
  }
  int calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::size_t distinct() const {
    std::lock_guard lock(mutex_);
    return event_ids_.size();
  }
  bool contains(const std::string& event_id) const {
    std::lock_guard lock(mutex_);
    return event_ids_.contains(event_id);
  }
  std::map<std::string, std::vector<int>> by_key() const {
    std::lock_guard lock(mutex_);
    return by_key_;
  }
  std::set<std::string> event_ids() const {
    std::lock_guard lock(mutex_);
    return event_ids_;
  }
  std::size_t threads() const {
    std::lock_guard lock(mutex_);
    return threads_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<int>> by_key_;
  std::set<std::string> event_ids_;
  std::set<std::thread::id> threads_;
  int calls_ = 0;
};

struct Parsed {
  std::string event_id;
  int seq = -1;
};

Parsed parse(const ConsumedRecord& r) {
  auto decoded = decode_event(r.value);
  if (!decoded.ok()) return {};
  auto seq = decoded->body.field_json("seq");
  return {decoded->meta.event_id, seq ? std::stoi(*seq) : -1};
}

/// Per-key order under at-least-once delivery: the first deliveries of a key's records come in
/// production order (0, 1, 2, …); anything else is a redelivery of a record already seen.
void expect_key_order(const std::map<std::string, std::vector<int>>& by_key, int first_seq = 0) {
  for (const auto& [key, seqs] : by_key) {
    std::set<int> delivered;
    int next = first_seq;
    for (int seq : seqs) {
      if (delivered.contains(seq)) continue;  // redelivery
      EXPECT_EQ(seq, next) << "key " << key << " got " << seq << " before " << next;
      next = seq + 1;
      delivered.insert(seq);
    }
  }
}

// The session timeout of the tests' consumers: short, so that a killed member's partitions
// move on soon. The embedded broker holds a group for the session timeout minus 1 s after a
// member leaves; it must stay above the broker's 3 s initial join delay, or a joining member
// times out while it waits for its JoinGroup answer. Kafka refuses less than its
// group.min.session.timeout.ms (6 s by default).
std::string session_timeout_ms(bool kafka) { return kafka ? "6000" : "4000"; }

class ConsumerRunnerFixture : public ::testing::Test {
 protected:
  explicit ConsumerRunnerFixture(testing::BrokerKind broker) : broker_(broker) {}

  void SetUp() override {
    topic_ = unique_name("orders");
    group_ = unique_name("group");
    broker_.create_topic(topic_, 3);
    broker_.create_topic(topic_ + ".dlt", 3);
    producer_ = make_kafka_producer(broker_.kafka_config("runner-test-producer"), logger_);
  }

  KafkaConfig kafka(const std::map<std::string, std::string>& properties = {}) const {
    KafkaConfig c = broker_.kafka_config("runner-test");
    c.consumer_properties["session.timeout.ms"] = session_timeout_ms(broker_.is_kafka());
    c.consumer_properties["heartbeat.interval.ms"] = "1000";
    for (const auto& [k, v] : properties) c.properties[k] = v;
    if (const char* debug = std::getenv("ORDERFLOW_KAFKA_DEBUG")) c.properties["debug"] = debug;
    return c;
  }

  ConsumerOptions options(std::string group = {}) const {
    ConsumerOptions o;
    o.service = "test";
    o.group_id = group.empty() ? group_ : std::move(group);
    o.topics = {topic_};
    o.concurrency = 3;
    o.retry.backoff = 1ms;
    o.commit_interval = 50ms;
    return o;
  }

  std::unique_ptr<ConsumerRunner> runner(RecordHandler handler, ConsumerOptions o,
                                         KafkaConfig k = {}, BatchTransaction* batch = nullptr) {
    if (k.bootstrap_servers.empty()) k = kafka();
    return std::make_unique<ConsumerRunner>(
        std::move(k), std::move(o), std::move(handler), metrics_, logger_, clock_,
        *stores_.emplace_back(make_memory_parked_key_store()), batch);
  }

  /// Produces `count` events over `keys` keys; returns their eventIds in send order.
  std::vector<std::string> produce(int count, int keys, const std::string& key_prefix = "order-",
                                   int first_seq = 0) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      EventMeta meta{new_uuid(), "ORDER_CREATED", 1, format_iso8601(SystemClock{}.now())};
      int seq = first_seq + i / keys;
      std::string key = key_prefix + std::to_string(i % keys);
      producer_->send(
          {topic_, key, encode_event(meta, {{"seq", seq}}), standard_headers(meta, "test")},
          [](const Result<DeliveryReport>& r) {
            if (!r.ok()) ADD_FAILURE() << "delivery failed: " << r.error().message;
          });
      ids.push_back(meta.event_id);
    }
    EXPECT_TRUE(producer_->flush(kWait).ok());
    return ids;
  }

  /// Sends one sentinel per key over enough keys to reach every partition; returns their ids.
  /// Once all are handled, every record produced before them has been offered to the group.
  std::set<std::string> produce_sentinels() {
    auto ids = produce(30, 30, "sentinel-", 1000);
    return {ids.begin(), ids.end()};
  }

  double count(Outcome outcome) const {
    return metrics_.message_count(topic_, "ORDER_CREATED", outcome);
  }

  testing::TestBroker broker_;
  observability::Metrics metrics_{"test"};
  SystemClock clock_;
  std::vector<std::unique_ptr<ParkedKeyStore>> stores_;  ///< outlive the test's runners
  std::shared_ptr<spdlog::logger> logger_ =
      observability::make_logger("runner-test", {test_log_level(), "text"});
  std::unique_ptr<Producer> producer_;
  std::string topic_;
  std::string group_;
};

// On both brokers: .../Embedded and .../Kafka.
class ConsumerRunnerTest : public ConsumerRunnerFixture,
                           public ::testing::WithParamInterface<testing::BrokerKind> {
 protected:
  ConsumerRunnerTest() : ConsumerRunnerFixture(GetParam()) {}
};
ORDERFLOW_ON_BOTH_BROKERS(ConsumerRunnerTest);

// The test that pings a database, on both databases: .../EmbeddedSqlite, .../KafkaSqlite and
// .../EmbeddedPostgres.
class ConsumerReadinessTest : public ConsumerRunnerFixture,
                              public ::testing::WithParamInterface<testing::BackendParam> {
 protected:
  ConsumerReadinessTest() : ConsumerRunnerFixture(GetParam().broker) {}
  testing::TestDatabase database_{GetParam().database};
};
ORDERFLOW_ON_BACKENDS(ConsumerReadinessTest, {kEmbedded, kSqlite}, {kKafka, kSqlite},
                      {kEmbedded, kPostgres});

// Batches (issue 15) need a database: .../EmbeddedSqlite, .../KafkaSqlite, .../EmbeddedPostgres.
class ConsumerBatchTest : public ConsumerRunnerFixture,
                          public ::testing::WithParamInterface<testing::BackendParam> {
 protected:
  ConsumerBatchTest() : ConsumerRunnerFixture(GetParam().broker) {}
  testing::TestDatabase database_{GetParam().database};
};
ORDERFLOW_ON_BACKENDS(ConsumerBatchTest, {kEmbedded, kSqlite}, {kKafka, kSqlite},
                      {kEmbedded, kPostgres});

RecordHandler recording(Seen& seen) {
  return [&seen](const ConsumedRecord& r) {
    auto p = parse(r);
    seen.add(r, p.seq, p.event_id);
    return HandlerResult::processed();
  };
}

TEST_P(ConsumerRunnerTest, ProcessesEveryRecordKeepingPerKeyOrder) {
  constexpr int kKeys = 10;
  constexpr int kPerKey = 40;
  auto ids = produce(kKeys * kPerKey, kKeys);
  Seen seen;
  auto r = runner(recording(seen), options());
  r->start();
  ASSERT_TRUE(eventually([&] { return seen.calls() >= kKeys * kPerKey; }, kWait));
  auto by_key = seen.by_key();
  ASSERT_EQ(by_key.size(), static_cast<std::size_t>(kKeys));
  for (const auto& [key, seqs] : by_key) {
    std::vector<int> expected(kPerKey);
    for (int i = 0; i < kPerKey; ++i) expected[i] = i;
    EXPECT_EQ(seqs, expected) << "order of key " << key;
  }
  EXPECT_EQ(seen.event_ids(), std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_GT(seen.threads(), 1u) << "keys spread over the workers";
  EXPECT_TRUE(eventually([&] { return count(Outcome::kProcessed) == kKeys * kPerKey; }));
  EXPECT_TRUE(eventually(
      [&] {
        auto s = r->status();
        return s.running && s.assigned_partitions == 3 && s.in_flight == 0 && s.lag == 0;
      },
      kWait));
  r->stop();
  EXPECT_FALSE(r->status().running);
}

// Issue 15: a handler that waits on something slow (a payment gateway) hands the rest off, and
// the worker takes the next key meanwhile; the key itself waits, so its order holds, and a
// handed-off failure takes the normal retry path.
TEST_P(ConsumerRunnerTest, HandedOffWorkFreesTheWorkerForOtherKeysAndKeepsKeyOrder) {
  constexpr int kKeys = 8;
  produce(2 * kKeys, kKeys);
  Seen started;
  Seen finished;
  std::mutex gate_mutex;
  std::condition_variable gate_cv;
  bool open = false;
  std::atomic<int> failures{0};
  auto o = options();
  o.concurrency = 1;  // one worker: without the hand-off, one gateway call at a time
  o.hand_off_threads = 2 * kKeys;
  auto r = runner(
      [&](const ConsumedRecord& rec) {
        auto p = parse(rec);
        started.add(rec, p.seq, p.event_id);
        return HandlerResult::handed_off([&, rec, p]() -> HandlerResult {
          {
            std::unique_lock lock(gate_mutex);
            gate_cv.wait(lock, [&] { return open; });
          }
          if (rec.key == "order-0" && p.seq == 1 && failures.fetch_add(1) == 0) {
            return HandlerResult::failed(unavailable("GATEWAY_TIMEOUT", "slow gateway"));
          }
          finished.add(rec, p.seq, p.event_id);
          return HandlerResult::processed();
        });
      },
      o);
  auto open_gate = [&] {
    {
      std::lock_guard lock(gate_mutex);
      open = true;
    }
    gate_cv.notify_all();
  };
  // Destroyed before the runner: a failed assertion must not leave hand-offs stuck at the gate.
  std::shared_ptr<void> opens_at_exit(nullptr, [&](void*) { open_gate(); });
  r->start();
  ASSERT_TRUE(eventually([&] { return started.calls() >= kKeys; }, kWait))
      << "the worker handed off " << started.calls() << " of " << kKeys << " keys' records";
  EXPECT_EQ(finished.calls(), 0);
  for (const auto& [key, seqs] : started.by_key()) {
    EXPECT_EQ(seqs, std::vector<int>{0}) << "key " << key << " went on before its hand-off";
  }
  open_gate();
  ASSERT_TRUE(eventually([&] { return count(Outcome::kProcessed) == 2 * kKeys; }, kWait));
  EXPECT_EQ(count(Outcome::kRetry), 1);
  for (const auto& [key, seqs] : finished.by_key()) {
    EXPECT_EQ(seqs, (std::vector<int>{0, 1})) << "order of key " << key;
  }
  EXPECT_TRUE(eventually([&] { return r->status().in_flight == 0; }, kWait));
  r->stop();
}

TEST_P(ConsumerRunnerTest, RestartedConsumerProcessesTheBacklogProducedWhileDown) {
  Seen seen;
  auto first = produce(30, 5);
  {
    auto r = runner(recording(seen), options());
    r->start();
    ASSERT_TRUE(eventually([&] { return seen.distinct() >= first.size(); }, kWait));
    r->stop();
  }
  auto while_down = produce(30, 5, "order-", 6);
  auto r = runner(recording(seen), options());
  r->start();
  ASSERT_TRUE(
      eventually([&] { return seen.distinct() >= first.size() + while_down.size(); }, kWait));
  for (const auto& id : while_down) EXPECT_TRUE(seen.contains(id));
  expect_key_order(seen.by_key());
  r->stop();
}

TEST_P(ConsumerRunnerTest, OffsetsCommittedOnStopAreNotRedelivered) {
  Seen before;
  auto ids = produce(60, 6);
  {
    // A commit interval longer than the test: only stop()'s final commit saves the offsets.
    auto o = options();
    o.commit_interval = 1h;
    auto r = runner(recording(before), o);
    r->start();
    ASSERT_TRUE(eventually([&] { return before.distinct() >= ids.size(); }, kWait));
    r->stop();
  }
  Seen after;
  auto r = runner(recording(after), options());
  r->start();
  auto sentinels = produce_sentinels();
  ASSERT_TRUE(eventually([&] { return after.distinct() >= sentinels.size(); }, kWait));
  EXPECT_EQ(after.event_ids(), sentinels) << "nothing processed before the stop came again";
  EXPECT_EQ(before.calls(), 60);
  r->stop();
}

// The ops-service's outside view of a group's lag (GroupLagProbe, orderflow_consumer_group_lag):
// it still counts what is produced while every consumer of the group is stopped.
TEST_P(ConsumerRunnerTest, GroupLagProbeSeesTheLagOfAStoppedGroup) {
  GroupLagProbe probe(kafka());
  auto total = [&]() -> std::int64_t {
    auto lag = probe.lag(group_, {topic_}, 5s);
    if (!lag) return -1;
    std::int64_t n = 0;
    for (const auto& p : *lag) n += p.lag;
    return n;
  };
  auto never = probe.lag(group_, {topic_}, 5s);
  ASSERT_TRUE(never.ok()) << never.error().message;
  EXPECT_TRUE(never->empty()) << "a group that never committed reports nothing";
  Seen seen;
  auto ids = produce(30, 6);
  {
    auto r = runner(recording(seen), options());
    r->start();
    ASSERT_TRUE(eventually([&] { return seen.distinct() >= ids.size(); }, kWait));
    r->stop();
  }
  EXPECT_EQ(total(), 0);
  produce(12, 6, "order-", 10);  // the same keys: partitions the group has committed on
  EXPECT_TRUE(eventually([&] { return total() == 12; }, kWait)) << total();
}

TEST_P(ConsumerRunnerTest, RetryableErrorIsRetriedThenProcessed) {
  auto ids = produce(12, 3);
  const std::string flaky = ids[4];
  std::atomic<int> flaky_attempts{0};
  Seen seen;
  auto r = runner(
      [&](const ConsumedRecord& rec) {
        auto p = parse(rec);
        if (p.event_id == flaky && flaky_attempts++ == 0) {
          return HandlerResult::failed(unavailable("DB_BUSY", "database is locked"));
        }
        seen.add(rec, p.seq, p.event_id);
        return HandlerResult::processed();
      },
      options());
  r->start();
  ASSERT_TRUE(eventually([&] { return seen.distinct() >= ids.size(); }, kWait));
  EXPECT_EQ(flaky_attempts.load(), 2);
  EXPECT_EQ(count(Outcome::kRetry), 1);
  EXPECT_TRUE(eventually([&] { return count(Outcome::kProcessed) == 12; }));
  EXPECT_EQ(count(Outcome::kError), 0);
  for (const auto& [key, seqs] : seen.by_key()) {
    EXPECT_EQ(seqs, (std::vector<int>{0, 1, 2, 3})) << "retry kept the order of " << key;
  }
  r->stop();
}

TEST_P(ConsumerRunnerTest, ExhaustedRetriesAndPermanentErrorsAreDeadLetteredAndKeysParked) {
  auto ids = produce(9, 3);
  const std::string always_busy = ids[0];  // key order-0
  const std::string malformed = ids[1];    // key order-1
  std::atomic<int> busy_attempts{0};
  std::atomic<int> malformed_attempts{0};
  Seen seen;
  auto r = runner(
      [&](const ConsumedRecord& rec) {
        auto p = parse(rec);
        if (p.event_id == always_busy) {
          ++busy_attempts;
          return HandlerResult::failed(unavailable("DB_BUSY", "still locked"));
        }
        if (p.event_id == malformed) {
          ++malformed_attempts;
          return HandlerResult::failed(invalid_input("MALFORMED_EVENT", "bad"));
        }
        seen.add(rec, p.seq, p.event_id);
        return HandlerResult::processed();
      },
      options());
  r->start();
  // Both failed records and the 4 later records of their (now parked) keys go to the DLT.
  ASSERT_TRUE(eventually([&] { return count(Outcome::kDlq) == 6; }, kWait));
  ASSERT_TRUE(eventually([&] { return seen.distinct() == 3; }, kWait));
  EXPECT_EQ(seen.by_key().size(), 1U) << "only key order-2 reached the handler";
  EXPECT_TRUE(seen.by_key().contains("order-2"));
  EXPECT_EQ(busy_attempts.load(), 3) << "max_attempts includes the first";
  EXPECT_EQ(malformed_attempts.load(), 1) << "a non-retryable error is not retried";
  EXPECT_EQ(count(Outcome::kRetry), 2);
  EXPECT_EQ(count(Outcome::kError), 0) << "every DLT write succeeded";
  EXPECT_TRUE(eventually([&] { return r->status().in_flight == 0; }));
  r->stop();
}

TEST_P(ConsumerRunnerTest, ThrowingHandlerDoesNotStopTheConsumer) {
  auto ids = produce(20, 4);
  std::set<std::string> poison{ids[0], ids[5], ids[13]};
  // A record reaches the handler unless an earlier (or the same) record of its key was
  // poison: the key is parked from then on.
  std::set<std::string> parked_keys;
  std::set<std::string> expected;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::string key = "order-" + std::to_string(i % 4);
    if (poison.contains(ids[i])) parked_keys.insert(key);
    if (!parked_keys.contains(key)) expected.insert(ids[i]);
  }
  Seen seen;
  auto r = runner(
      [&](const ConsumedRecord& rec) -> HandlerResult {
        auto p = parse(rec);
        if (poison.contains(p.event_id)) throw std::runtime_error("handler bug");
        seen.add(rec, p.seq, p.event_id);
        return HandlerResult::processed();
      },
      options());
  r->start();
  ASSERT_TRUE(eventually([&] { return seen.distinct() >= expected.size(); }, kWait));
  EXPECT_TRUE(eventually([&] { return count(Outcome::kDlq) == ids.size() - expected.size(); }));
  EXPECT_EQ(seen.event_ids(), expected);
  EXPECT_EQ(count(Outcome::kRetry), 0) << "an exception is kInternal, not retried";
  auto later = produce(4, 4, "order-", 5);
  std::size_t later_handled = 4 - parked_keys.size();
  EXPECT_TRUE(eventually([&] { return seen.distinct() >= expected.size() + later_handled; }));
  r->stop();
}

TEST_P(ConsumerRunnerTest, OtherOutcomesAreCountedAndCommitted) {
  auto ids = produce(6, 3);
  auto r = runner(
      [&](const ConsumedRecord& rec) {
        auto p = parse(rec);
        if (p.event_id == ids[0]) return HandlerResult::duplicate();
        if (p.event_id == ids[1]) {
          return HandlerResult::skip(unprocessable("OUT_OF_STOCK", "no stock"));
        }
        return HandlerResult::processed();
      },
      options());
  r->start();
  ASSERT_TRUE(eventually([&] { return count(Outcome::kProcessed) == 4; }, kWait));
  EXPECT_EQ(count(Outcome::kDuplicate), 1);
  EXPECT_EQ(count(Outcome::kSkip), 1);
  r->stop();
  auto text = metrics_.serialize();
  EXPECT_NE(text.find("orderflow_message_processing_seconds"), std::string::npos);
}

TEST_P(ConsumerRunnerTest, StopInterruptsAPendingRetryAndTheRecordComesAgain) {
  auto ids = produce(3, 1);
  const std::string failing = ids[1];
  std::atomic<int> attempts{0};
  Seen first_run;
  auto o = options();
  o.retry.backoff = 1h;
  auto r = runner(
      [&](const ConsumedRecord& rec) {
        auto p = parse(rec);
        if (p.event_id == failing) {
          ++attempts;
          return HandlerResult::failed(unavailable("DB_DOWN", "down"));
        }
        first_run.add(rec, p.seq, p.event_id);
        return HandlerResult::processed();
      },
      o);
  r->start();
  ASSERT_TRUE(eventually([&] { return attempts.load() == 1; }, kWait));
  auto stop_started = std::chrono::steady_clock::now();
  r->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, 15s) << "stop cut the 1 h backoff";
  EXPECT_EQ(attempts.load(), 1);
  EXPECT_FALSE(first_run.contains(ids[2])) << "same key after the abandoned one waits too";

  Seen second_run;
  auto again = runner(recording(second_run), options());
  again->start();
  ASSERT_TRUE(eventually(
      [&] { return second_run.contains(failing) && second_run.contains(ids[2]); }, kWait));
  EXPECT_FALSE(second_run.contains(ids[0])) << "the record before it was committed";
  EXPECT_EQ(second_run.by_key().begin()->second, (std::vector<int>{1, 2}));
  again->stop();
}

TEST_P(ConsumerRunnerTest, FullWorkerQueuePausesAndKeepsOrder) {
  std::mutex gate_mutex;
  std::condition_variable gate_cv;
  bool gate_open = false;
  Seen seen;
  auto o = options();
  o.concurrency = 1;
  o.queue_capacity = 1;
  auto r = runner(
      [&](const ConsumedRecord& rec) {
        {
          std::unique_lock lock(gate_mutex);
          gate_cv.wait(lock, [&] { return gate_open; });
        }
        auto p = parse(rec);
        seen.add(rec, p.seq, p.event_id);
        return HandlerResult::processed();
      },
      o);
  r->start();
  ASSERT_TRUE(eventually([&] { return r->status().assigned_partitions == 3; }, kWait));
  auto ids = produce(90, 3);
  // The single worker holds one record and its queue one more; the poll loop keeps what it
  // has already read in its backlog and pauses fetching. Nothing finishes while the gate is
  // closed, so every record is either in flight or lag.
  EXPECT_TRUE(eventually(
      [&] {
        auto s = r->status();
        return s.in_flight >= 2 && s.in_flight + s.lag == 90;
      },
      kWait))
      << "in_flight=" << r->status().in_flight << " lag=" << r->status().lag;
  EXPECT_EQ(seen.calls(), 0);
  {
    std::lock_guard lock(gate_mutex);
    gate_open = true;
  }
  gate_cv.notify_all();
  ASSERT_TRUE(eventually([&] { return seen.distinct() >= ids.size(); }, kWait));
  for (const auto& [key, seqs] : seen.by_key()) {
    std::vector<int> expected(30);
    for (int i = 0; i < 30; ++i) expected[i] = i;
    EXPECT_EQ(seqs, expected) << key;
  }
  EXPECT_TRUE(eventually([&] { return r->status().lag == 0; }, kWait));
  r->stop();
}

TEST_P(ConsumerRunnerTest, TwoMembersShareThePartitionsAndTheSurvivorTakesOver) {
  Seen seen;
  auto a = runner(recording(seen), options());
  auto b = runner(recording(seen), options());
  a->start();
  b->start();
  ASSERT_TRUE(eventually(
      [&] {
        auto sa = a->status();
        auto sb = b->status();
        return sa.assigned_partitions > 0 && sb.assigned_partitions > 0 &&
               sa.assigned_partitions + sb.assigned_partitions == 3;
      },
      kWait));
  auto ids = produce(60, 6);
  ASSERT_TRUE(eventually([&] { return seen.distinct() >= ids.size(); }, kWait));
  EXPECT_EQ(seen.calls(), 60) << "each record to exactly one member";
  b->stop();
  ASSERT_TRUE(eventually([&] { return a->status().assigned_partitions == 3; }, kWait));
  auto more = produce(60, 6, "order-", 10);
  ASSERT_TRUE(eventually([&] { return seen.distinct() >= ids.size() + more.size(); }, kWait));
  // The embedded broker refuses OffsetCommit while a rebalance is in progress (JoinGroup not
  // yet answered), so the survivor's last commits around b's leave may fail and a few records
  // come again: allowed (at-least-once, the inbox drops them), reordering is not.
  expect_key_order(seen.by_key());
  a->stop();
}

TEST_P(ConsumerRunnerTest, OffsetResetIsCountedAsDataLoss) {
  produce(6, 1);
  // A committed offset past the end of the log, as after the broker evicted records.
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto bootstrap = broker_.bootstrap_servers();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", group_.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(3);
  for (int p = 0; p < 3; ++p) {
    rd_kafka_topic_partition_list_add(offsets, topic_.c_str(), p)->offset = 1000;
  }
  ASSERT_EQ(rd_kafka_commit(rk, offsets, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(offsets);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);

  Seen seen;
  auto r = runner(recording(seen), options());
  r->start();
  ASSERT_TRUE(eventually([&] { return seen.distinct() >= 6; }, kWait)) << "reset to earliest";
  EXPECT_GE(r->status().offset_resets, 1);
  EXPECT_NE(metrics_.serialize().find("orderflow_consumer_offset_resets_total"), std::string::npos);
  r->stop();
}

// /health/ready must not say ready before the group gave the member its partitions: the first
// orders after start-up otherwise waited the broker's ~3 s initial rebalance delay.
TEST_P(ConsumerReadinessTest, ReadinessWaitsForTheGroupJoin) {
  auto db = storage::open_database(database_.storage_config());
  auto r = runner([](const ConsumedRecord&) { return HandlerResult::processed(); }, options());
  EXPECT_FALSE(r->status().joined);
  EXPECT_FALSE(runtime::service_readiness({db.get(), r.get()}).ready);  // not even started
  r->start();
  // The embedded broker delays the first rebalance of a new group by ~3 s.
  auto early = runtime::service_readiness({db.get(), r.get()});
  EXPECT_FALSE(early.ready);
  EXPECT_EQ(early.details["consumer"]["joined"], false);
  ASSERT_TRUE(eventually(
      [&] {
        return runtime::service_readiness({db.get(), r.get()}).ready;
      },
      kWait));
  auto status = r->status();
  EXPECT_TRUE(status.joined);
  EXPECT_EQ(status.assigned_partitions, 3);
  r->stop();
}

// Regression (issue 13): notification-service's /admin/status counted the records in flight of
// its notifications group only, not those of its sink group, so a drain could end while the
// sink still held records.
TEST_P(ConsumerReadinessTest, DrainStatusCountsTheRecordsInFlightOfBothGroups) {
  auto db = storage::open_database(database_.storage_config());
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  auto blocking = [&](const ConsumedRecord&) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    return HandlerResult::processed();
  };
  auto notifications = runner(blocking, options());
  auto sink = runner(blocking, options(unique_name("sink-group")));
  notifications->start();
  sink->start();
  produce(1, 1);
  EXPECT_TRUE(eventually(
      [&] {
        return runtime::service_drain_status(*db, false, notifications.get(), sink.get())
                   .in_flight == 2;
      },
      kWait))
      << "one record in flight in each group";
  EXPECT_EQ(runtime::service_drain_status(*db, false, notifications.get()).in_flight, 1);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_TRUE(eventually([&] {
    return runtime::service_drain_status(*db, false, notifications.get(), sink.get()).in_flight ==
           0;
  }));
  notifications->stop();
  sink->stop();
}

// A worker's ready records (one per key) are handled in one transaction: the handlers' own
// writes join it, a failing record rolls back only its own row and takes the normal DLT path,
// and the batch commits once for many records.
TEST_P(ConsumerBatchTest, ReadyRecordsCommitTogetherAndAFailingOneRollsBackOnlyItself) {
  constexpr int kKeys = 10;
  constexpr int kPerKey = 3;
  auto db = storage::open_database(database_.storage_config());
  ASSERT_TRUE(db->write([](storage::Tx& tx) -> Result<void> {
                  auto r = tx.exec(
                      "CREATE TABLE handled(event_id TEXT PRIMARY KEY, record_key TEXT NOT NULL, "
                      "seq INTEGER NOT NULL)");
                  if (!r) return r.error();
                  return {};
                }).ok());
  produce(kKeys * kPerKey, kKeys);
  std::atomic<int> commits{0};
  auto batch = make_database_batch(*db, [&] { ++commits; });
  std::unique_ptr<ConsumerRunner> r;
  std::atomic<bool> first{true};
  auto handler = [&](const ConsumedRecord& rec) -> HandlerResult {
    // The first record waits until every record is queued, so the later batches are full.
    if (first.exchange(false)) {
      EXPECT_TRUE(eventually([&] { return r->status().in_flight == kKeys * kPerKey; }, kWait));
    }
    auto p = parse(rec);
    auto inserted = db->write([&](storage::Tx& tx) -> Result<void> {
      auto done = tx.exec("INSERT INTO handled(event_id, record_key, seq) VALUES (?, ?, ?)",
                          {p.event_id, rec.key, static_cast<std::int64_t>(p.seq)});
      if (!done) return done.error();
      return {};
    });
    if (!inserted) return HandlerResult::failed(inserted.error());
    if (rec.key == "order-3" && p.seq == 1) {
      return HandlerResult::failed(invalid_input("POISON", "fails after its insert"));
    }
    return HandlerResult::processed();
  };
  auto o = options();
  o.concurrency = 1;
  o.max_batch = 64;
  r = runner(handler, o, {}, batch.get());
  r->start();
  ASSERT_TRUE(eventually(
      [&] {
        return count(Outcome::kProcessed) == kKeys * kPerKey - 2 && count(Outcome::kDlq) == 2;
      },
      kWait))
      << "processed " << count(Outcome::kProcessed) << " dlq " << count(Outcome::kDlq);
  std::map<std::string, std::vector<std::int64_t>> rows;
  ASSERT_TRUE(db->read([&](storage::Tx& tx) -> Result<void> {
                  auto q = tx.query("SELECT record_key, seq FROM handled ORDER BY record_key, seq");
                  if (!q) return q.error();
                  for (const auto& row : *q) rows[row.text(0)].push_back(row.integer(1));
                  return {};
                }).ok());
  EXPECT_EQ(rows.size(), static_cast<std::size_t>(kKeys));
  EXPECT_EQ(rows["order-3"], std::vector<std::int64_t>{0})
      << "the failed record's row was rolled back; the parked record never ran";
  EXPECT_EQ(rows["order-4"], (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_LE(commits.load(), 6) << "30 records in about 4 batches, not one commit each";
  EXPECT_GE(commits.load(), kPerKey) << "a key's records are never in one batch";
  EXPECT_TRUE(eventually([&] { return r->status().in_flight == 0; }, kWait));
  r->stop();
}

TEST_P(ConsumerRunnerTest, InvalidOptionsThrow) {
  auto handler = [](const ConsumedRecord&) { return HandlerResult::processed(); };
  auto bad = [&](auto mutate) {
    auto o = options();
    auto k = kafka();
    mutate(o, k);
    return [=, this] { runner(handler, o, k); };
  };
  EXPECT_THROW(bad([](ConsumerOptions& o, KafkaConfig&) { o.group_id.clear(); })(),
               std::runtime_error);
  EXPECT_THROW(bad([](ConsumerOptions& o, KafkaConfig&) { o.topics.clear(); })(),
               std::runtime_error);
  EXPECT_THROW(bad([](ConsumerOptions& o, KafkaConfig&) { o.concurrency = 0; })(),
               std::runtime_error);
  EXPECT_THROW(bad([](ConsumerOptions& o, KafkaConfig&) { o.queue_capacity = 0; })(),
               std::runtime_error);
  EXPECT_THROW(
      bad([](ConsumerOptions&, KafkaConfig& k) { k.properties["no.such.property"] = "1"; })(),
      std::runtime_error);
  auto store = make_memory_parked_key_store();
  EXPECT_THROW(ConsumerRunner(KafkaConfig{}, options(), handler, metrics_, logger_, clock_, *store),
               std::runtime_error);
  // The revoke handling needs eager rebalancing; an incremental assignor is refused by name.
  try {
    bad([](ConsumerOptions&, KafkaConfig& k) {
      k.consumer_properties["partition.assignment.strategy"] = "cooperative-sticky";
    })();
    ADD_FAILURE() << "cooperative-sticky was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cooperative-sticky"), std::string::npos) << e.what();
  }
  // Constructed but never started: destruction must not hang or crash.
  EXPECT_NO_THROW(runner(handler, options()));
}

// ---- crash between the handler's DB commit and the offset commit ------------------------------
//
// A child process (this binary, filtered to CrashChild.Consume) consumes with a commit interval
// of an hour, records every eventId it handled in a file (its "database"), and is SIGKILLed once
// all are there: its transactions committed, its offsets did not. The next member of the group
// must get every record again, and the file (standing in for the inbox) must make each
// redelivery a duplicate with no second effect.

constexpr const char* kChildEnv = "ORDERFLOW_CRASH_CHILD";

TEST(CrashChild, Consume) {
  const char* spec = std::getenv(kChildEnv);
  if (spec == nullptr) GTEST_SKIP() << "helper for the crash test, runs in a child process";
  std::string s = spec;  // kind|bootstrap|topic|group|file|session timeout ms
  auto next = [&s] {
    auto bar = s.find('|');
    std::string part = s.substr(0, bar);
    s = bar == std::string::npos ? "" : s.substr(bar + 1);
    return part;
  };
  auto kind = testing::broker_kind_from_name(next());
  std::string bootstrap = next(), topic = next(), group = next(), file = next();
  std::string session_timeout = next();
  observability::Metrics metrics("child");
  auto logger = observability::make_logger("crash-child", {test_log_level(), "text"});
  ConsumerOptions o;
  o.service = "child";
  o.group_id = group;
  o.topics = {topic};
  o.commit_interval = 1h;
  std::mutex mutex;
  std::ofstream db(file, std::ios::app);
  KafkaConfig k = testing::kafka_config_for(kind, bootstrap, "crash-child");
  SystemClock clock;
  auto parked_keys = make_memory_parked_key_store();
  k.consumer_properties["session.timeout.ms"] = session_timeout;
  k.consumer_properties["heartbeat.interval.ms"] = "1000";
  if (const char* debug = std::getenv("ORDERFLOW_KAFKA_DEBUG")) k.properties["debug"] = debug;
  ConsumerRunner r(
      k, o,
      [&](const ConsumedRecord& rec) {
        std::lock_guard lock(mutex);
        db << parse(rec).event_id << std::endl;  // "transaction committed"
        return HandlerResult::processed();
      },
      metrics, logger, clock, *parked_keys);
  r.start();
  // Runs until the parent kills it.
  std::mutex forever;
  std::condition_variable never;
  std::unique_lock lock(forever);
  never.wait(lock, [] { return false; });
}

std::set<std::string> read_lines(const std::string& path) {
  std::set<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.insert(line);
  }
  return lines;
}

TEST_P(ConsumerRunnerTest, CrashAfterHandlerCommitBeforeOffsetCommitRedelivers) {
  testing::TempDir dir;
  auto db_file = dir.file("processed.txt");
  auto ids = produce(20, 4);
  std::string spec = testing::broker_kind_name(GetParam()) + "|" + broker_.bootstrap_servers() +
                     "|" + topic_ + "|" + group_ + "|" + db_file + "|" +
                     session_timeout_ms(broker_.is_kafka());
  // Everything exec needs is built before fork: between fork and exec a threaded process may
  // only make async-signal-safe calls.
  std::vector<std::string> env_strings{std::string(kChildEnv) + "=" + spec};
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = "crash-child";
  std::string arg1 = "--gtest_filter=CrashChild.Consume";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execve("/proc/self/exe", argv, envp.data());
    _exit(127);
  }
  bool all_processed = eventually([&] { return read_lines(db_file).size() >= ids.size(); }, kWait);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(all_processed) << "child processed " << read_lines(db_file).size();
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child must die by the kill, not exit";

  // The survivor's handler is idempotent through the same "database".
  std::mutex mutex;
  std::set<std::string> effects = read_lines(db_file);
  std::atomic<int> duplicates{0};
  std::atomic<int> applied{0};
  auto r = runner(
      [&](const ConsumedRecord& rec) {
        std::lock_guard lock(mutex);
        if (!effects.insert(parse(rec).event_id).second) {
          ++duplicates;
          return HandlerResult::duplicate();
        }
        ++applied;
        return HandlerResult::processed();
      },
      options());
  r->start();
  EXPECT_TRUE(eventually([&] { return duplicates.load() >= static_cast<int>(ids.size()); }, kWait))
      << "redelivered " << duplicates.load();
  EXPECT_EQ(applied.load(), 0) << "no record took effect twice";
  EXPECT_EQ(effects, std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_TRUE(eventually([&] { return count(Outcome::kDuplicate) == ids.size(); }));
  r->stop();
}

}  // namespace
}  // namespace orderflow::messaging
