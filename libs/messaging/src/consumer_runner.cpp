#include "orderflow/messaging/consumer_runner.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "orderflow/messaging/offset_tracker.h"
#include "orderflow/messaging/producer.h"

namespace orderflow::messaging {

using namespace std::chrono_literals;
using observability::Outcome;

std::chrono::milliseconds RetryPolicy::delay_before(int attempt) const {
  if (attempt <= 1) return std::chrono::milliseconds{0};
  if (!exponential) return std::max(backoff, std::chrono::milliseconds{0});
  // In double so a large attempt number saturates at the cap instead of overflowing.
  double delay = static_cast<double>(backoff.count()) * std::pow(multiplier, attempt - 2);
  auto cap = static_cast<double>(max_backoff.count());
  if (!std::isfinite(delay) || delay > cap) delay = cap;
  if (delay < 0) delay = 0;
  return std::chrono::milliseconds{static_cast<std::int64_t>(delay)};
}

namespace {

constexpr int kPollTimeoutMs = 100;
// While the backlog waits for room in a worker queue the poll loop still calls consume() this
// often, which keeps the member within max.poll.interval.ms and serves rebalances.
constexpr int kPausedPollTimeoutMs = 10;
constexpr auto kBacklogPushWait = 50ms;
constexpr auto kLagInterval = 1000ms;
constexpr int kLagQueryTimeoutMs = 200;
constexpr auto kRevokeLogEvery = 5s;

struct PartitionKey {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const PartitionKey&) const = default;
};

struct PartitionState {
  OffsetTracker tracker;
  std::int64_t outstanding = 0;  ///< dispatched and neither finished nor abandoned
  std::optional<std::int64_t> committed;
  std::optional<std::int64_t> start_offset;  ///< group's committed offset at assignment
};

// DLT header names (docs/dlq.md).
constexpr const char* kDlqService = "dlq.service";
constexpr const char* kDlqGroup = "dlq.consumer.group";
constexpr const char* kDlqTopic = "dlq.original.topic";
constexpr const char* kDlqPartition = "dlq.original.partition";
constexpr const char* kDlqOffset = "dlq.original.offset";
constexpr const char* kDlqTimestamp = "dlq.error.timestamp";
constexpr const char* kDlqClass = "dlq.error.class";
constexpr const char* kDlqMessage = "dlq.error.message";
constexpr const char* kDlqStacktrace = "dlq.error.stacktrace";
constexpr const char* kDlqAttempts = "dlq.attempts";
constexpr const char* kDlqReason = "dlq.reason";
constexpr const char* kDlqControl = "dlq.control";
constexpr const char* kDlqParkedCount = "dlq.parked.count";
constexpr const char* kDlqReplayGroup = "dlq.replay.group";

// Workers wake this often while records wait for a retry: the due time is measured on the
// injected Clock, which a test may move by hand, so sleeping until a precomputed steady-clock
// instant would miss the move; a short tick notices it within 10 ms at negligible cost.
constexpr auto kRetryTick = 10ms;
// How long a stopping worker waits for DLT delivery reports before abandoning those records.
constexpr auto kDltDrain = 5s;

/// Why and how a record is being dead-lettered.
struct DeadLetter {
  std::string reason;
  Error error;
  int attempts = 0;
};

/// The records of one (topic, partition, key) that wait behind their first one, which is due
/// for a retry (of the handler or of the DLT write) or whose DLT write is in flight.
struct KeyLane {
  std::deque<ConsumedRecord> records;
  // About records.front():
  int attempts = 0;  ///< handler calls made
  std::optional<Clock::TimePoint> due;
  bool awaiting_dlt = false;
  std::optional<DeadLetter> letter;  ///< set once it goes to the DLT
  std::string chain;                 ///< the error chain, for dlq.error.stacktrace
  std::string event_type;
  std::string event_id;

  void next() {
    records.pop_front();
    attempts = 0;
    due.reset();
    awaiting_dlt = false;
    letter.reset();
    chain.clear();
    event_type.clear();
    event_id.clear();
  }
};

struct DltReport {
  std::string lane;
  std::optional<Error> error;  ///< empty: the broker acknowledged the DLT record
};

struct Worker {
  std::mutex mutex;
  std::condition_variable has_work;
  std::condition_variable has_room;
  std::deque<ConsumedRecord> queue;
  std::deque<DltReport> reports;  ///< posted by the DLT producer's delivery thread
  bool exit = false;
  // Only the worker thread touches these.
  std::map<std::string, KeyLane> lanes;
  std::size_t lane_records = 0;
  bool exiting = false;
  std::thread thread;
};

Headers to_headers(const RdKafka::Headers* headers) {
  Headers out;
  if (headers == nullptr) return out;
  for (const auto& h : headers->get_all()) {
    out.push_back({h.key(), h.value() == nullptr ? std::string()
                                                 : std::string(static_cast<const char*>(h.value()),
                                                               h.value_size())});
  }
  return out;
}

spdlog::level::level_enum log_level(RdKafka::Event::Severity severity) {
  switch (severity) {
    case RdKafka::Event::EVENT_SEVERITY_EMERG:
    case RdKafka::Event::EVENT_SEVERITY_ALERT:
    case RdKafka::Event::EVENT_SEVERITY_CRITICAL:
    case RdKafka::Event::EVENT_SEVERITY_ERROR:
      return spdlog::level::err;
    case RdKafka::Event::EVENT_SEVERITY_WARNING:
      return spdlog::level::warn;
    case RdKafka::Event::EVENT_SEVERITY_NOTICE:
    case RdKafka::Event::EVENT_SEVERITY_INFO:
      return spdlog::level::info;
    default:
      return spdlog::level::debug;  // the `debug` property's output
  }
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void delete_all(std::vector<RdKafka::TopicPartition*>& list) {
  for (auto* tp : list) delete tp;
  list.clear();
}

}  // namespace

class ConsumerRunner::Impl final : public RdKafka::RebalanceCb, public RdKafka::EventCb {
 public:
  Impl(KafkaConfig kafka, ConsumerOptions options, RecordHandler handler,
       observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        metrics_(metrics),
        logger_(std::move(logger)) {
    if (!logger_) throw std::runtime_error("consumer: logger is null");
    if (!handler_) throw std::runtime_error("consumer: handler is empty");
    if (kafka.bootstrap_servers.empty()) throw std::runtime_error("consumer: bootstrap is empty");
    if (options_.group_id.empty()) throw std::runtime_error("consumer: group_id is empty");
    if (options_.topics.empty()) throw std::runtime_error("consumer: no topics");
    if (options_.concurrency < 1) throw std::runtime_error("consumer: concurrency < 1");
    if (options_.queue_capacity < 1) throw std::runtime_error("consumer: queue_capacity < 1");
    if (options_.retry.max_attempts < 1) throw std::runtime_error("consumer: max_attempts < 1");
    if (options_.commit_interval <= 0ms) throw std::runtime_error("consumer: commit_interval <= 0");

    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    auto set = [&](const std::string& name, const std::string& value) {
      std::string err;
      if (conf->set(name, value, err) != RdKafka::Conf::CONF_OK) {
        throw std::runtime_error("consumer: " + name + "=" + value + ": " + err);
      }
    };
    set("bootstrap.servers", kafka.bootstrap_servers);
    if (!kafka.client_id.empty()) set("client.id", kafka.client_id);
    set("group.id", options_.group_id);
    // Offsets move only when our tracker says every earlier record is done (at-least-once).
    set("enable.auto.commit", "false");
    set("enable.auto.offset.store", "false");
    set("auto.offset.reset", "earliest");
    // Eager protocol: a revoke takes every partition at once, which our drain-then-commit
    // rebalance handling and the pause/backlog logic rely on (docs/architecture.md).
    set("partition.assignment.strategy", "range,roundrobin");
    // Broker-dependent tuning (fetch wait, session timeout) comes from the configuration's
    // Kafka profile (config/kafka-profiles.yaml), applied through kafka.properties below.
    for (const auto& [name, value] : kafka.properties) set(name, value);
    for (const auto& [name, value] : kafka.consumer_properties) set(name, value);
    std::string strategy;
    for (const auto* set_by : {&kafka.properties, &kafka.consumer_properties}) {
      if (auto it = set_by->find("partition.assignment.strategy"); it != set_by->end()) {
        strategy = it->second;
      }
    }
    if (strategy.find("cooperative") != std::string::npos) {
      throw std::runtime_error("consumer: partition.assignment.strategy=" + strategy +
                               ": only eager strategies (range, roundrobin) are supported; the "
                               "runner's revoke handling expects every partition at once");
    }
    std::string session_timeout;
    if (conf->get("session.timeout.ms", session_timeout) == RdKafka::Conf::CONF_OK) {
      session_timeout_ms_ = std::stoll(session_timeout);
    }
    std::string err;
    if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) !=
            RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) !=
            RdKafka::Conf::CONF_OK) {
      throw std::runtime_error("consumer: callbacks: " + err);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer_) throw std::runtime_error("consumer: " + err);
    clock_ = options_.clock != nullptr ? options_.clock : &system_clock_;
    dlt_producer_ = make_kafka_producer(kafka, logger_);
    load_parked();
  }

  ~Impl() override {
    stop();
    // Closed here, while every member its callbacks touch is still alive.
    if (!started_) consumer_->close();
    consumer_.reset();
  }

  void start() {
    std::lock_guard lock(lifecycle_mutex_);
    if (started_) return;
    started_ = true;
    auto err = consumer_->subscribe(options_.topics);
    if (err != RdKafka::ERR_NO_ERROR) {
      throw std::runtime_error("consumer: subscribe: " + RdKafka::err2str(err));
    }
    for (int i = 0; i < options_.concurrency; ++i) {
      workers_.push_back(std::make_unique<Worker>());
    }
    for (auto& worker : workers_) {
      Worker* w = worker.get();
      w->thread = std::thread([this, w] { worker_loop(*w); });
    }
    running_ = true;
    poll_thread_ = std::thread([this] { poll_loop(); });
    logger_->info("\"consumer started\" group={} topics={} concurrency={}", options_.group_id,
                  topics_label(), options_.concurrency);
  }

  void stop() {
    std::lock_guard lock(lifecycle_mutex_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    {
      std::lock_guard stop_lock(stop_mutex_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (poll_thread_.joinable()) poll_thread_.join();
    running_ = false;
    logger_->info("\"consumer stopped\" group={}", options_.group_id);
  }

  ConsumerStatus status() const {
    ConsumerStatus s;
    s.running = running_.load();
    s.joined = joined_.load();
    s.assigned_partitions = assigned_.load();
    s.lag = lag_.load();
    s.offset_resets = offset_resets_.load();
    s.in_flight = in_flight_.load();
    s.session_timeout_ms = session_timeout_ms_;
    if (auto since = unassigned_since_ms_.load(); since > 0) {
      s.unassigned_ms = std::max<std::int64_t>(0, steady_ms() - since);
    }
    return s;
  }

 private:
  // ---- poll thread -------------------------------------------------------------------------

  void poll_loop() {
    auto last_commit = std::chrono::steady_clock::now();
    auto last_lag = last_commit;
    while (!stopping_.load()) {
      drain_backlog();
      std::unique_ptr<RdKafka::Message> msg(
          consumer_->consume(backlog_.empty() ? kPollTimeoutMs : kPausedPollTimeoutMs));
      if (msg) handle_message(*msg);
      auto now = std::chrono::steady_clock::now();
      if (now - last_commit >= options_.commit_interval) {
        commit(nullptr, "interval");
        last_commit = now;
      }
      if (now - last_lag >= kLagInterval) {
        update_lag();
        last_lag = now;
      }
    }
    // Records consumed but never handed to a worker are simply not committed: they come again.
    for (const auto& record : backlog_) abandon(record);
    backlog_.clear();
    for (auto& worker : workers_) {
      {
        std::lock_guard lock(worker->mutex);
        worker->exit = true;
      }
      worker->has_work.notify_all();
    }
    for (auto& worker : workers_) worker->thread.join();
    commit(nullptr, "stop");
    auto err = consumer_->close();
    if (err != RdKafka::ERR_NO_ERROR) {
      logger_->warn("\"consumer close failed\" group={} err={}", options_.group_id,
                    RdKafka::err2str(err));
    }
  }

  void handle_message(RdKafka::Message& msg) {
    switch (msg.err()) {
      case RdKafka::ERR_NO_ERROR:
        break;
      case RdKafka::ERR__TIMED_OUT:
      case RdKafka::ERR__PARTITION_EOF:
        return;
      case RdKafka::ERR__AUTO_OFFSET_RESET:
        offset_reset(msg.topic_name(), msg.partition(), msg.errstr());
        return;
      default:
        logger_->warn("\"consumer error\" group={} topic={} partition={} err={} reason=\"{}\"",
                      options_.group_id, msg.topic_name(), msg.partition(),
                      RdKafka::err2str(msg.err()), msg.errstr());
        return;
    }
    ConsumedRecord record;
    record.topic = msg.topic_name();
    record.partition = msg.partition();
    record.offset = msg.offset();
    if (msg.key() != nullptr) record.key = *msg.key();
    if (msg.payload() != nullptr) {
      record.value.assign(static_cast<const char*>(msg.payload()), msg.len());
    }
    record.headers = to_headers(msg.headers());
    record.timestamp_ms = msg.timestamp().timestamp;
    {
      std::lock_guard lock(state_mutex_);
      auto& state = partitions_[PartitionKey{record.topic, record.partition}];
      state.tracker.dispatched(record.offset);
      ++state.outstanding;
      ++in_flight_;
    }
    if (backlog_.empty() && try_push(record, 0ms)) return;
    backlog_.push_back(std::move(record));
    if (!paused_) set_paused(true);
  }

  // Pausing instead of blocking on a full queue keeps consume() running, so a slow handler
  // (e.g. retries of 2 s × 3 on many records) never exceeds max.poll.interval.ms and rebalances
  // are still served. Pausing drops librdkafka's prefetched records; it refetches them from
  // the position on resume, so nothing is skipped.
  void drain_backlog() {
    while (!backlog_.empty()) {
      if (!try_push(backlog_.front(), kBacklogPushWait)) return;
      backlog_.pop_front();
    }
    if (paused_) set_paused(false);
  }

  void set_paused(bool paused) {
    std::vector<RdKafka::TopicPartition*> parts;
    consumer_->assignment(parts);
    auto err = paused ? consumer_->pause(parts) : consumer_->resume(parts);
    if (err != RdKafka::ERR_NO_ERROR) {
      logger_->warn("\"consumer {} failed\" group={} err={}", paused ? "pause" : "resume",
                    options_.group_id, RdKafka::err2str(err));
    }
    delete_all(parts);
    paused_ = paused;
  }

  Worker& worker_for(const ConsumedRecord& record) {
    // A keyless record has no order to keep beyond its partition's.
    std::size_t h = record.key.empty() ? static_cast<std::size_t>(record.partition)
                                       : std::hash<std::string>{}(record.key);
    return *workers_[h % workers_.size()];
  }

  bool try_push(ConsumedRecord& record, std::chrono::milliseconds wait) {
    Worker& worker = worker_for(record);
    std::unique_lock lock(worker.mutex);
    auto has_room = [&] {
      return worker.queue.size() < static_cast<std::size_t>(options_.queue_capacity);
    };
    if (!has_room() && (wait <= 0ms || !worker.has_room.wait_for(lock, wait, has_room))) {
      return false;
    }
    worker.queue.push_back(std::move(record));
    lock.unlock();
    worker.has_work.notify_one();
    return true;
  }

  /// Commits the committable offset of every partition in `only` (all when null) that moved
  /// since the last commit. Synchronous: it runs on the poll thread, which owns the consumer.
  void commit(const std::set<PartitionKey>* only, const char* reason) {
    std::vector<RdKafka::TopicPartition*> list;
    {
      std::lock_guard lock(state_mutex_);
      for (const auto& [key, state] : partitions_) {
        if (only != nullptr && !only->contains(key)) continue;
        auto offset = state.tracker.committable();
        if (!offset || offset == state.committed) continue;
        list.push_back(RdKafka::TopicPartition::create(key.topic, key.partition, *offset));
      }
    }
    if (list.empty()) return;
    auto err = consumer_->commitSync(list);
    if (err != RdKafka::ERR_NO_ERROR) {
      logger_->warn("\"offset commit failed\" group={} reason={} err={}", options_.group_id, reason,
                    RdKafka::err2str(err));
    }
    {
      std::lock_guard lock(state_mutex_);
      for (auto* tp : list) {
        if (tp->err() != RdKafka::ERR_NO_ERROR) {
          logger_->warn("\"offset commit failed\" group={} topic={} partition={} offset={} err={}",
                        options_.group_id, tp->topic(), tp->partition(), tp->offset(),
                        RdKafka::err2str(tp->err()));
          continue;
        }
        if (err != RdKafka::ERR_NO_ERROR) continue;
        auto it = partitions_.find(PartitionKey{tp->topic(), tp->partition()});
        if (it != partitions_.end()) it->second.committed = tp->offset();
        logger_->debug("\"offset committed\" group={} topic={} partition={} offset={} reason={}",
                       options_.group_id, tp->topic(), tp->partition(), tp->offset(), reason);
      }
    }
    delete_all(list);
  }

  void update_lag() {
    std::vector<RdKafka::TopicPartition*> parts;
    std::vector<RdKafka::TopicPartition*> unknown_start;
    {
      std::lock_guard lock(state_mutex_);
      for (auto& [key, state] : partitions_) {
        parts.push_back(RdKafka::TopicPartition::create(key.topic, key.partition));
      }
    }
    if (parts.empty()) {
      lag_ = 0;
      return;
    }
    consumer_->position(parts);
    {
      // A partition not read from yet has no position; its lag counts from the group's
      // committed offset, asked once per assignment.
      std::lock_guard lock(state_mutex_);
      for (auto* tp : parts) {
        auto it = partitions_.find(PartitionKey{tp->topic(), tp->partition()});
        if (tp->offset() < 0 && it != partitions_.end() && !it->second.start_offset) {
          unknown_start.push_back(RdKafka::TopicPartition::create(tp->topic(), tp->partition()));
        }
      }
    }
    if (!unknown_start.empty() &&
        consumer_->committed(unknown_start, kLagQueryTimeoutMs) == RdKafka::ERR_NO_ERROR) {
      std::lock_guard lock(state_mutex_);
      for (auto* tp : unknown_start) {
        auto it = partitions_.find(PartitionKey{tp->topic(), tp->partition()});
        if (it != partitions_.end() && tp->err() == RdKafka::ERR_NO_ERROR) {
          it->second.start_offset = tp->offset();  // negative: nothing committed yet
        }
      }
    }
    delete_all(unknown_start);
    std::int64_t total = 0;
    for (auto* tp : parts) {
      std::int64_t low = -1;
      std::int64_t high = -1;
      // The cached watermark comes with every fetch response; a paused partition is not
      // fetched, so its cache goes stale and the broker is asked instead.
      consumer_->get_watermark_offsets(tp->topic(), tp->partition(), &low, &high);
      if (paused_ || high < 0 || low < 0) {
        consumer_->query_watermark_offsets(tp->topic(), tp->partition(), &low, &high,
                                           kLagQueryTimeoutMs);
      }
      std::int64_t from = tp->offset();
      if (from < 0) {
        std::lock_guard lock(state_mutex_);
        auto it = partitions_.find(PartitionKey{tp->topic(), tp->partition()});
        if (it != partitions_.end() && it->second.start_offset) from = *it->second.start_offset;
        if (from < 0) from = low;  // auto.offset.reset=earliest
      }
      std::int64_t lag = high >= 0 && from >= 0 ? std::max<std::int64_t>(0, high - from) : 0;
      total += lag;
      metrics_.set_consumer_lag(options_.group_id, tp->topic(), tp->partition(), lag);
    }
    lag_ = total;
    delete_all(parts);
  }

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      {
        std::lock_guard lock(state_mutex_);
        for (auto* tp : partitions) {
          partitions_[PartitionKey{tp->topic(), tp->partition()}] = PartitionState{};
        }
      }
      auto assign_err = consumer->assign(partitions);
      if (assign_err != RdKafka::ERR_NO_ERROR) {
        logger_->error("\"assign failed\" group={} err={}", options_.group_id,
                       RdKafka::err2str(assign_err));
      }
      assigned_ = static_cast<int>(partitions.size());
      if (!partitions.empty()) {
        unassigned_since_ms_ = 0;
      } else if (joined_ && unassigned_since_ms_.load() == 0) {
        unassigned_since_ms_ = steady_ms();
      }
      joined_ = true;
      logger_->info("\"partitions assigned\" group={} partitions=\"{}\"", options_.group_id,
                    describe(partitions));
      return;
    }
    if (err != RdKafka::ERR__REVOKE_PARTITIONS) {
      logger_->error("\"rebalance error\" group={} err={}", options_.group_id,
                     RdKafka::err2str(err));
    }
    revoke(consumer, partitions);
  }

  void revoke(RdKafka::KafkaConsumer* consumer, std::vector<RdKafka::TopicPartition*>& partitions) {
    std::set<PartitionKey> revoked;
    for (auto* tp : partitions) revoked.insert(PartitionKey{tp->topic(), tp->partition()});
    // Not yet handed to a worker: give them up uncommitted, the next owner reads them again.
    std::erase_if(backlog_, [&](const ConsumedRecord& r) {
      if (!revoked.contains(PartitionKey{r.topic, r.partition})) return false;
      abandon(r);
      return true;
    });
    if (paused_) {
      consumer->resume(partitions);
      paused_ = !backlog_.empty();
    }
    // The offsets of the revoked partitions must be final before another member starts on
    // them, so wait for the workers (they keep running) to finish what they hold; records
    // waiting for a retry are given up instead.
    {
      std::unique_lock lock(state_mutex_);
      revoking_ = revoked;
      revoking_count_ = static_cast<int>(revoked.size());
      auto busy = [&] {
        std::int64_t n = 0;
        for (const auto& key : revoked) {
          auto it = partitions_.find(key);
          if (it != partitions_.end()) n += it->second.outstanding;
        }
        return n;
      };
      while (busy() > 0) {
        if (!state_cv_.wait_for(lock, kRevokeLogEvery, [&] { return busy() == 0; })) {
          logger_->warn("\"revoke waits for in-flight records\" group={} in_flight={}",
                        options_.group_id, busy());
        }
      }
    }
    commit(&revoked, "revoke");
    {
      std::lock_guard lock(state_mutex_);
      revoking_.clear();
      revoking_count_ = 0;
      for (const auto& key : revoked) partitions_.erase(key);
    }
    for (const auto& key : revoked) {
      metrics_.set_consumer_lag(options_.group_id, key.topic, key.partition, 0);
    }
    consumer->unassign();
    assigned_ = 0;
    unassigned_since_ms_ = steady_ms();
    lag_ = 0;
    logger_->info("\"partitions revoked\" group={} partitions=\"{}\"", options_.group_id,
                  describe(partitions));
  }

  // ---- librdkafka events (internal threads) ------------------------------------------------

  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        if (event.fatal() || event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) {
          logger_->error("\"kafka consumer error\" group={} err={} reason=\"{}\"",
                         options_.group_id, RdKafka::err2str(event.err()), event.str());
        } else {
          logger_->warn("\"kafka consumer error\" group={} err={} reason=\"{}\"", options_.group_id,
                        RdKafka::err2str(event.err()), event.str());
        }
        break;
      case RdKafka::Event::EVENT_LOG:
        // With auto.offset.reset=earliest librdkafka resets an out-of-range offset silently
        // except for this warning, "<topic> [<partition>]: offset reset (at ...) to ...".
        if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING && event.fac() == "OFFSET" &&
            event.str().find("offset reset") != std::string::npos) {
          static const std::regex kWhere(R"(([^\s\[\]]+) \[(\d+)\]: offset reset)");
          const std::string text = event.str();
          std::smatch m;
          int partition = -1;
          std::string topic = "unknown";
          if (std::regex_search(text, m, kWhere)) {
            topic = m[1].str();
            std::from_chars(&*m[2].first, &*m[2].first + m[2].length(), partition);
          }
          offset_reset(topic, partition, text);
          break;
        }
        logger_->log(log_level(event.severity()), "\"librdkafka\" group={} fac={} text=\"{}\"",
                     options_.group_id, event.fac(), event.str());
        break;
      default:
        break;
    }
  }

  void offset_reset(const std::string& topic, int partition, const std::string& reason) {
    ++offset_resets_;
    metrics_.count_offset_reset(options_.group_id, topic);
    logger_->error(
        "\"consumer offset reset: records were lost\" group={} topic={} partition={} "
        "reason=\"{}\"",
        options_.group_id, topic, partition, reason);
  }

  // ---- workers -----------------------------------------------------------------------------

  static std::string lane_of(const ConsumedRecord& record) {
    return record.topic + '\x1f' + std::to_string(record.partition) + '\x1f' + record.key;
  }

  void worker_loop(Worker& worker) {
    const auto capacity = static_cast<std::size_t>(options_.queue_capacity);
    while (true) {
      drain_reports(worker);
      run_due(worker);
      drop_revoked(worker);
      std::optional<ConsumedRecord> record;
      {
        std::unique_lock lock(worker.mutex);
        // Records that wait in lanes count against the capacity, so a key that backs off for
        // long cannot make the worker hoard the whole partition in memory.
        auto can_take = [&] {
          return !worker.queue.empty() && (worker.lane_records < capacity || worker.exit);
        };
        auto ready = [&] { return can_take() || !worker.reports.empty() || worker.exit; };
        if (worker.lanes.empty()) {
          worker.has_work.wait(lock, ready);
        } else {
          worker.has_work.wait_for(lock, kRetryTick, ready);
        }
        if (can_take()) {
          record = std::move(worker.queue.front());
          worker.queue.pop_front();
        } else if (worker.exit && worker.queue.empty() && worker.reports.empty()) {
          break;
        }
      }
      if (record) {
        worker.has_room.notify_one();
        dispatch(worker, std::move(*record));
      }
    }
    exit_worker(worker);
  }

  void exit_worker(Worker& worker) {
    worker.exiting = true;
    auto in_flight = [&] {
      return std::any_of(worker.lanes.begin(), worker.lanes.end(),
                         [](const auto& lane) { return lane.second.awaiting_dlt; });
    };
    auto deadline = std::chrono::steady_clock::now() + kDltDrain;
    while (in_flight() && std::chrono::steady_clock::now() < deadline) {
      {
        std::unique_lock lock(worker.mutex);
        worker.has_work.wait_for(lock, kRetryTick, [&] { return !worker.reports.empty(); });
      }
      drain_reports(worker);
    }
    // Uncommitted, they come again; later records of their keys too, so per-key order holds.
    for (auto& [name, lane] : worker.lanes) {
      for (const auto& record : lane.records) {
        log_abandoned(record, find_header(record.headers, "eventId").value_or(""),
                      "stopped while it waited for a retry or its dead letter");
        abandon(record);
      }
    }
    worker.lanes.clear();
    worker.lane_records = 0;
  }

  void dispatch(Worker& worker, ConsumedRecord record) {
    auto name = lane_of(record);
    auto& lane = worker.lanes[name];
    lane.records.push_back(std::move(record));
    ++worker.lane_records;
    if (lane.records.size() == 1) advance(worker, name);
  }

  /// Runs the lane's records in order until one has to wait or none is left.
  void advance(Worker& worker, const std::string& name) {
    auto it = worker.lanes.find(name);
    while (it != worker.lanes.end() && !it->second.records.empty()) {
      KeyLane& lane = it->second;
      if (lane.awaiting_dlt) return;
      if (lane.due && clock_->now() < *lane.due) return;
      if (worker.exiting && lane.due) return;
      if (!step(worker, name, lane)) return;
      lane.next();
      --worker.lane_records;
      if (worker.exiting) return;
    }
    if (it != worker.lanes.end() && it->second.records.empty()) worker.lanes.erase(it);
  }

  void run_due(Worker& worker) {
    if (worker.lanes.empty()) return;
    auto now = clock_->now();
    std::vector<std::string> due;
    for (const auto& [name, lane] : worker.lanes) {
      if (!lane.awaiting_dlt && lane.due && *lane.due <= now) due.push_back(name);
    }
    for (const auto& name : due) advance(worker, name);
  }

  /// Lanes of partitions being revoked give up their waiting records (uncommitted), so the
  /// revoke does not wait out a backoff; the next owner reads them again.
  void drop_revoked(Worker& worker) {
    if (revoking_count_.load() == 0 || worker.lanes.empty()) return;
    std::set<PartitionKey> revoking;
    {
      std::lock_guard lock(state_mutex_);
      revoking = revoking_;
    }
    for (auto it = worker.lanes.begin(); it != worker.lanes.end();) {
      const auto& front = it->second.records.front();
      if (it->second.awaiting_dlt ||
          !revoking.contains(PartitionKey{front.topic, front.partition})) {
        ++it;
        continue;
      }
      for (const auto& record : it->second.records) {
        log_abandoned(record, find_header(record.headers, "eventId").value_or(""),
                      "its partition was revoked while it waited");
        abandon(record);
        --worker.lane_records;
      }
      it = worker.lanes.erase(it);
    }
  }

  /// Handles the lane's first record once. True when it is finished (offset committable).
  bool step(Worker& worker, const std::string& name, KeyLane& lane) {
    const ConsumedRecord& record = lane.records.front();
    if (lane.event_id.empty()) lane.event_id = find_header(record.headers, "eventId").value_or("");
    if (lane.event_type.empty()) {
      lane.event_type = find_header(record.headers, "eventType").value_or("unknown");
    }
    if (lane.letter) {  // a DLT write that failed before: try it again
      send_dead_letter(worker, name, lane);
      return false;
    }
    if (auto control = find_header(record.headers, kDlqControl)) {
      handle_control(record, *control, lane.event_type);
      return true;
    }
    bool replay_for_us = find_header(record.headers, kDlqReplayGroup) == options_.group_id;
    if (!replay_for_us && parked_count(record.topic, record.key) > 0) {
      lane.letter = DeadLetter{
          "KEY_PARKED",
          conflict("KEY_PARKED", "key " + record.key + " is parked in group " + options_.group_id),
          0};
      lane.chain = "KEY_PARKED: an earlier record of the key was dead-lettered";
      send_dead_letter(worker, name, lane);
      return false;
    }

    int attempt = ++lane.attempts;
    auto started = std::chrono::steady_clock::now();
    HandlerResult result = call_handler(record);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!result.event_type.empty()) lane.event_type = result.event_type;
    if (!result.event_id.empty()) lane.event_id = result.event_id;
    const std::string& event_type = lane.event_type;
    const std::string& event_id = lane.event_id;
    metrics_.observe_processing(record.topic, event_type, seconds);

    if (result.outcome == Outcome::kProcessed || result.outcome == Outcome::kDuplicate ||
        result.outcome == Outcome::kSkip) {
      metrics_.count_message(record.topic, event_type, result.outcome);
      if (result.outcome == Outcome::kSkip && result.error) {
        logger_->info(
            "\"record handled\" eventId={} eventType={} topic={} partition={} offset={} "
            "outcome=skip attempt={} code={} reason=\"{}\" ms={:.3f}",
            event_id, event_type, record.topic, record.partition, record.offset, attempt,
            result.error->code, result.error->message, seconds * 1000);
      } else {
        logger_->info(
            "\"record handled\" eventId={} eventType={} topic={} partition={} offset={} "
            "outcome={} attempt={} ms={:.3f}",
            event_id, event_type, record.topic, record.partition, record.offset,
            observability::to_string(result.outcome), attempt, seconds * 1000);
      }
      finish(record);
      return true;
    }

    Error error = result.error.value_or(
        internal_error("HANDLER_FAILED", "handler reported a failure without an error"));
    if (!lane.chain.empty()) lane.chain += "\n";
    lane.chain +=
        "attempt " + std::to_string(attempt) + ": " + error_class(error) + ": " + error.message;
    if (error.retryable() && attempt < options_.retry.max_attempts) {
      auto delay = options_.retry.delay_before(attempt + 1);
      lane.due = clock_->now() + delay;
      metrics_.count_message(record.topic, event_type, Outcome::kRetry);
      logger_->warn(
          "\"record failed, will retry\" eventId={} eventType={} topic={} partition={} "
          "offset={} outcome=retry attempt={} retryInMs={} kind={} code={} reason=\"{}\"",
          event_id, event_type, record.topic, record.partition, record.offset, attempt,
          delay.count(), to_string(error.kind), error.code, error.message);
      return false;
    }
    std::string reason = error.retryable()                        ? "RETRIES_EXHAUSTED"
                         : error.kind == ErrorKind::kInvalidInput ? "MALFORMED"
                                                                  : "HANDLER_ERROR";
    lane.letter = DeadLetter{std::move(reason), std::move(error), attempt};
    send_dead_letter(worker, name, lane);
    return false;
  }

  static std::string error_class(const Error& error) {
    static const char* const kKinds[] = {"kInvalidInput",  "kNotFound",    "kConflict",
                                         "kUnprocessable", "kUnavailable", "kInternal"};
    auto i = static_cast<std::size_t>(error.kind);
    std::string kind = i < std::size(kKinds) ? kKinds[i] : to_string(error.kind);
    return kind + ":" + error.code;
  }

  void send_dead_letter(Worker& worker, const std::string& name, KeyLane& lane) {
    const ConsumedRecord& record = lane.records.front();
    const DeadLetter& letter = *lane.letter;
    static const std::set<std::string> kOwn = {
        kDlqService, kDlqGroup,   kDlqTopic,      kDlqPartition, kDlqOffset, kDlqTimestamp,
        kDlqClass,   kDlqMessage, kDlqStacktrace, kDlqAttempts,  kDlqReason};
    OutgoingRecord out{record.topic + options_.dlt_suffix, record.key, record.value, {}};
    for (const auto& h : record.headers) {
      if (!kOwn.contains(h.key)) out.headers.push_back(h);
    }
    out.headers.push_back({kDlqService, options_.service});
    out.headers.push_back({kDlqGroup, options_.group_id});
    out.headers.push_back({kDlqTopic, record.topic});
    out.headers.push_back({kDlqPartition, std::to_string(record.partition)});
    out.headers.push_back({kDlqOffset, std::to_string(record.offset)});
    out.headers.push_back({kDlqTimestamp, format_iso8601(clock_->now())});
    out.headers.push_back({kDlqClass, error_class(letter.error)});
    out.headers.push_back({kDlqMessage, letter.error.message});
    out.headers.push_back({kDlqStacktrace, lane.chain});
    out.headers.push_back({kDlqAttempts, std::to_string(letter.attempts)});
    out.headers.push_back({kDlqReason, letter.reason});
    lane.awaiting_dlt = true;
    lane.due.reset();
    // The report only goes into the worker's mailbox: the worker owns the lane and decides,
    // so a record is settled exactly once even when the report races a stop.
    dlt_producer_->send(std::move(out), [&worker, name](const Result<DeliveryReport>& report) {
      {
        std::lock_guard lock(worker.mutex);
        worker.reports.push_back(
            {name, report.ok() ? std::nullopt : std::optional<Error>(report.error())});
      }
      worker.has_work.notify_all();
    });
  }

  void drain_reports(Worker& worker) {
    std::deque<DltReport> reports;
    {
      std::lock_guard lock(worker.mutex);
      reports.swap(worker.reports);
    }
    for (auto& report : reports) {
      auto it = worker.lanes.find(report.lane);
      if (it == worker.lanes.end() || !it->second.awaiting_dlt) continue;
      KeyLane& lane = it->second;
      const ConsumedRecord& record = lane.records.front();
      const DeadLetter& letter = *lane.letter;
      lane.awaiting_dlt = false;
      if (report.error) {
        auto delay = options_.retry.delay_before(2);
        lane.due = clock_->now() + delay;
        metrics_.count_message(record.topic, lane.event_type, Outcome::kError);
        logger_->error(
            "\"dead letter write failed, record stays uncommitted\" eventId={} eventType={} "
            "topic={} partition={} offset={} outcome=error reason={} retryInMs={} err=\"{}\"",
            lane.event_id, lane.event_type, record.topic, record.partition, record.offset,
            letter.reason, delay.count(), report.error->message);
        continue;
      }
      // Parked before it is counted, so whoever sees the count also sees the key parked.
      park(record.topic, record.key);
      metrics_.count_message(record.topic, lane.event_type, Outcome::kDlq);
      logger_->error(
          "\"record dead-lettered\" eventId={} eventType={} topic={} partition={} offset={} "
          "outcome=dlq reason={} attempts={} class={} message=\"{}\" dlt={}{}",
          lane.event_id, lane.event_type, record.topic, record.partition, record.offset,
          letter.reason, letter.attempts, error_class(letter.error), letter.error.message,
          record.topic, options_.dlt_suffix);
      finish(record);
      lane.next();
      --worker.lane_records;
      if (lane.records.empty()) {
        worker.lanes.erase(it);
      } else if (!worker.exiting) {
        advance(worker, report.lane);
      }
    }
  }

  // ---- parking -----------------------------------------------------------------------------

  void load_parked() {
    if (options_.parked_keys == nullptr) return;
    auto loaded = options_.parked_keys->load(options_.group_id);
    if (!loaded) {
      throw std::runtime_error("consumer: loading parked keys: " + loaded.error().message);
    }
    std::lock_guard lock(park_mutex_);
    for (const auto& p : *loaded) parked_[{p.topic, p.key}] = p.dead_letters;
    publish_parked();
  }

  std::int64_t parked_count(const std::string& topic, const std::string& key) {
    std::lock_guard lock(park_mutex_);
    auto it = parked_.find({topic, key});
    return it == parked_.end() ? 0 : it->second;
  }

  void park(const std::string& topic, const std::string& key) {
    if (options_.parked_keys != nullptr) {
      auto done = options_.parked_keys->park(options_.group_id, topic, key);
      if (!done) {
        logger_->error("\"parking a key failed\" group={} topic={} key={} err=\"{}\"",
                       options_.group_id, topic, key, done.error().message);
      }
    }
    std::lock_guard lock(park_mutex_);
    auto& n = parked_[{topic, key}];
    if (n++ == 0) {
      logger_->warn("\"key parked\" group={} topic={} key={}", options_.group_id, topic, key);
    }
    publish_parked();
  }

  void handle_control(const ConsumedRecord& record, const std::string& control,
                      const std::string& event_type) {
    auto group = find_header(record.headers, kDlqGroup);
    if (control != "UNPARK" || group != options_.group_id) {
      metrics_.count_message(record.topic, event_type, Outcome::kSkip);
      logger_->info(
          "\"control record ignored\" topic={} partition={} offset={} control={} group={} "
          "outcome=skip",
          record.topic, record.partition, record.offset, control, group.value_or(""));
      finish(record);
      return;
    }
    std::int64_t resolved = -1;
    auto text = find_header(record.headers, kDlqParkedCount).value_or("");
    std::from_chars(text.data(), text.data() + text.size(), resolved);
    std::int64_t parked = parked_count(record.topic, record.key);
    if (parked > 0 && resolved >= parked) {
      if (options_.parked_keys != nullptr) {
        auto done = options_.parked_keys->unpark(options_.group_id, record.topic, record.key);
        if (!done) {
          logger_->error("\"unparking a key failed\" group={} topic={} key={} err=\"{}\"",
                         options_.group_id, record.topic, record.key, done.error().message);
        }
      }
      {
        std::lock_guard lock(park_mutex_);
        parked_.erase({record.topic, record.key});
        publish_parked();
      }
      logger_->warn("\"key unparked\" group={} topic={} key={} resolved={}", options_.group_id,
                    record.topic, record.key, resolved);
    } else {
      logger_->warn(
          "\"unpark refused: more dead letters parked than resolved\" group={} topic={} key={} "
          "parked={} resolved={}",
          options_.group_id, record.topic, record.key, parked, resolved);
    }
    metrics_.count_message(record.topic, event_type, Outcome::kSkip);
    finish(record);
  }

  /// Caller holds park_mutex_.
  void publish_parked() {
    metrics_.set_gauge("orderflow_parked_keys", "Keys parked after a dead letter, per group",
                       {{"group", options_.group_id}}, static_cast<double>(parked_.size()));
  }

  HandlerResult call_handler(const ConsumedRecord& record) {
    // A throwing handler is a bug in that handler, not a reason to stop consuming.
    try {
      return handler_(record);
    } catch (const std::exception& e) {
      logger_->error("\"handler threw\" topic={} partition={} offset={} what=\"{}\"", record.topic,
                     record.partition, record.offset, e.what());
      return HandlerResult::failed(internal_error("HANDLER_EXCEPTION", e.what()));
    } catch (...) {
      logger_->error("\"handler threw\" topic={} partition={} offset={} what=unknown", record.topic,
                     record.partition, record.offset);
      return HandlerResult::failed(internal_error("HANDLER_EXCEPTION", "unknown exception"));
    }
  }

  void log_abandoned(const ConsumedRecord& record, const std::string& event_id, const char* why) {
    logger_->warn(
        "\"record abandoned uncommitted, it will be redelivered\" eventId={} topic={} "
        "partition={} offset={} why=\"{}\"",
        event_id, record.topic, record.partition, record.offset, why);
  }

  void finish(const ConsumedRecord& record) { settle(record, true); }
  void abandon(const ConsumedRecord& record) { settle(record, false); }

  void settle(const ConsumedRecord& record, bool finished) {
    {
      std::lock_guard lock(state_mutex_);
      auto it = partitions_.find(PartitionKey{record.topic, record.partition});
      if (it != partitions_.end()) {
        if (finished) it->second.tracker.finished(record.offset);
        --it->second.outstanding;
      }
      --in_flight_;
    }
    state_cv_.notify_all();
  }

  // ---- helpers -----------------------------------------------------------------------------

  std::string topics_label() const {
    std::string out;
    for (const auto& t : options_.topics) out += (out.empty() ? "" : ",") + t;
    return out;
  }

  static std::string describe(const std::vector<RdKafka::TopicPartition*>& partitions) {
    std::string out;
    for (auto* tp : partitions) {
      if (!out.empty()) out += ',';
      out += tp->topic() + "[" + std::to_string(tp->partition()) + "]";
    }
    return out;
  }

  ConsumerOptions options_;
  RecordHandler handler_;
  observability::Metrics& metrics_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;

  std::mutex lifecycle_mutex_;
  bool started_ = false;
  bool stopped_ = false;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stopping_{false};

  SystemClock system_clock_;
  const Clock* clock_ = nullptr;

  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread poll_thread_;
  // Declared after workers_ so it is destroyed first: its last delivery reports (purged on
  // close) still find their workers.
  std::unique_ptr<Producer> dlt_producer_;

  std::mutex park_mutex_;
  std::map<std::pair<std::string, std::string>, std::int64_t> parked_;  ///< (topic, key) → n

  // Poll thread only.
  std::deque<ConsumedRecord> backlog_;
  bool paused_ = false;

  std::mutex state_mutex_;
  std::condition_variable state_cv_;
  std::map<PartitionKey, PartitionState> partitions_;
  std::set<PartitionKey> revoking_;
  std::atomic<int> revoking_count_{0};

  std::atomic<bool> running_{false};
  std::atomic<int> assigned_{0};
  std::atomic<bool> joined_{false};
  std::atomic<std::int64_t> lag_{0};
  std::atomic<std::int64_t> offset_resets_{0};
  std::atomic<std::int64_t> in_flight_{0};
  /// Steady-clock ms when the member lost its last partition; 0 while it holds some.
  std::atomic<std::int64_t> unassigned_since_ms_{0};
  std::int64_t session_timeout_ms_ = 0;
};

ConsumerRunner::ConsumerRunner(KafkaConfig kafka, ConsumerOptions options, RecordHandler handler,
                               observability::Metrics& metrics,
                               std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_unique<Impl>(std::move(kafka), std::move(options), std::move(handler),
                                   metrics, std::move(logger))) {}

ConsumerRunner::~ConsumerRunner() = default;

void ConsumerRunner::start() { impl_->start(); }

void ConsumerRunner::stop() { impl_->stop(); }

ConsumerStatus ConsumerRunner::status() const { return impl_->status(); }

}  // namespace orderflow::messaging
