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

struct Worker {
  std::mutex mutex;
  std::condition_variable has_work;
  std::condition_variable has_room;
  std::deque<ConsumedRecord> queue;
  bool exit = false;
  /// Keys with a record abandoned on stop: their later records are abandoned too, so the
  /// redelivery keeps per-key order. Only the worker thread touches it.
  std::set<std::string> abandoned_keys;
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
    // The embedded broker answers an empty fetch only after the full wait (ARCHITECTURE.md).
    set("fetch.wait.max.ms", "5");
    // Eager protocol: a revoke takes every partition at once, which our drain-then-commit
    // rebalance handling and the pause/backlog logic rely on.
    set("partition.assignment.strategy", "range,roundrobin");
    // A member that leaves makes the embedded broker hold the group for the leaver's session
    // timeout minus 1 s before the next join completes (45 s with librdkafka's default), so a
    // restarted service would sit idle that long; 6 s is also Kafka's minimum and detects a
    // crashed member sooner.
    set("session.timeout.ms", "6000");
    set("heartbeat.interval.ms", "2000");
    for (const auto& [name, value] : kafka.properties) set(name, value);
    for (const auto& [name, value] : kafka.consumer_properties) set(name, value);
    std::string err;
    if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) !=
            RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) !=
            RdKafka::Conf::CONF_OK) {
      throw std::runtime_error("consumer: callbacks: " + err);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer_) throw std::runtime_error("consumer: " + err);
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
    s.assigned_partitions = assigned_.load();
    s.lag = lag_.load();
    s.offset_resets = offset_resets_.load();
    s.in_flight = in_flight_.load();
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
    // them, so wait for the workers (they keep running) to finish what they hold.
    {
      std::unique_lock lock(state_mutex_);
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
      for (const auto& key : revoked) partitions_.erase(key);
    }
    for (const auto& key : revoked) {
      metrics_.set_consumer_lag(options_.group_id, key.topic, key.partition, 0);
    }
    consumer->unassign();
    assigned_ = 0;
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

  void worker_loop(Worker& worker) {
    while (true) {
      ConsumedRecord record;
      {
        std::unique_lock lock(worker.mutex);
        worker.has_work.wait(lock, [&] { return !worker.queue.empty() || worker.exit; });
        if (worker.queue.empty()) return;
        record = std::move(worker.queue.front());
        worker.queue.pop_front();
      }
      worker.has_room.notify_one();
      process(worker, record);
    }
  }

  void process(Worker& worker, const ConsumedRecord& record) {
    std::string header_type = find_header(record.headers, "eventType").value_or("");
    std::string header_id = find_header(record.headers, "eventId").value_or("");
    if (!worker.abandoned_keys.empty() && worker.abandoned_keys.contains(record.key)) {
      log_abandoned(record, header_id, "an earlier record of the key was abandoned");
      abandon(record);
      return;
    }
    for (int attempt = 1;; ++attempt) {
      auto started = std::chrono::steady_clock::now();
      HandlerResult result = call_handler(record);
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const std::string& event_type = !result.event_type.empty() ? result.event_type
                                      : !header_type.empty()     ? header_type
                                                                 : std::string("unknown");
      const std::string& event_id = !result.event_id.empty() ? result.event_id : header_id;
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
        return;
      }

      Error error = result.error.value_or(
          internal_error("HANDLER_FAILED", "handler reported a failure without an error"));
      if (error.retryable() && attempt < options_.retry.max_attempts) {
        auto delay = options_.retry.delay_before(attempt + 1);
        metrics_.count_message(record.topic, event_type, Outcome::kRetry);
        logger_->warn(
            "\"record failed, will retry\" eventId={} eventType={} topic={} partition={} "
            "offset={} outcome=retry attempt={} retryInMs={} kind={} code={} reason=\"{}\"",
            event_id, event_type, record.topic, record.partition, record.offset, attempt,
            delay.count(), to_string(error.kind), error.code, error.message);
        if (!sleep_unless_stopping(delay)) {
          worker.abandoned_keys.insert(record.key);
          log_abandoned(record, event_id, "stop interrupted a pending retry");
          abandon(record);
          return;
        }
        continue;
      }
      dead_letter(record, error, attempt, event_type, event_id);
      finish(record);
      return;
    }
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

  /// A record whose handling failed for good. TODO(issue 4): publish it to `<topic>.dlt` with
  /// the dlq.* diagnostic headers (outcome dlq) and only then let its offset be committed;
  /// until then it is counted `error`, logged, and committed so the partition keeps moving.
  void dead_letter(const ConsumedRecord& record, const Error& error, int attempts,
                   const std::string& event_type, const std::string& event_id) {
    metrics_.count_message(record.topic, event_type, Outcome::kError);
    logger_->error(
        "\"record failed\" eventId={} eventType={} topic={} partition={} offset={} "
        "outcome=error attempts={} kind={} code={} reason=\"{}\"",
        event_id, event_type, record.topic, record.partition, record.offset, attempts,
        to_string(error.kind), error.code, error.message);
  }

  void log_abandoned(const ConsumedRecord& record, const std::string& event_id, const char* why) {
    logger_->warn(
        "\"record abandoned uncommitted, it will be redelivered\" eventId={} topic={} "
        "partition={} offset={} why=\"{}\"",
        event_id, record.topic, record.partition, record.offset, why);
  }

  /// Waits `delay` unless stop() comes first; false when stopping.
  bool sleep_unless_stopping(std::chrono::milliseconds delay) {
    std::unique_lock lock(stop_mutex_);
    return !stop_cv_.wait_for(lock, delay, [&] { return stopping_.load(); });
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

  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread poll_thread_;

  // Poll thread only.
  std::deque<ConsumedRecord> backlog_;
  bool paused_ = false;

  std::mutex state_mutex_;
  std::condition_variable state_cv_;
  std::map<PartitionKey, PartitionState> partitions_;

  std::atomic<bool> running_{false};
  std::atomic<int> assigned_{0};
  std::atomic<std::int64_t> lag_{0};
  std::atomic<std::int64_t> offset_resets_{0};
  std::atomic<std::int64_t> in_flight_{0};
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
