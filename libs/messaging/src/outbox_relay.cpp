#include "orderflow/messaging/outbox.h"

#include <spdlog/sinks/null_sink.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "orderflow/common/clock.h"
#include "orderflow/observability/business_metrics.h"
#include "outbox_age.h"

namespace orderflow::messaging {
namespace {

// Shared with the producer's delivery callbacks, which can fire after the round gave up
// waiting (timeout, stop) and the relay is gone.
struct Batch {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t outstanding = 0;
  bool cancelled = false;
  std::vector<std::optional<Result<DeliveryReport>>> reports;
};

// A batch a round stopped waiting for while some of its records were still inside the producer
// (queued or being retried by librdkafka). Guarded by the relay's round_mu_.
struct InFlightBatch {
  std::shared_ptr<Batch> batch;
  std::vector<OutboxStore::Row> rows;
  std::vector<bool> settled;  // the report was taken into account (acked rows marked)
};

}  // namespace

class OutboxRelay::Impl {
 public:
  static constexpr std::chrono::seconds kAgeInterval{1};

  struct Round {
    std::int64_t fetched = 0;
    std::int64_t marked = 0;
    std::int64_t in_flight = 0;  ///< sent by a round that stopped waiting, not yet reported
  };

  Impl(OutboxStore& store, Producer& producer, RelayOptions options,
       observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger, const Clock* clock)
      : store_(store),
        producer_(producer),
        options_(options),
        metrics_(metrics),
        clock_(clock != nullptr ? clock : &system_clock_),
        logger_(logger ? std::move(logger)
                       : std::make_shared<spdlog::logger>(
                             "outbox-relay", std::make_shared<spdlog::sinks::null_sink_mt>())) {
    options_.batch_size = std::max(1, options_.batch_size);
    options_.pipeline_depth = std::max(1, options_.pipeline_depth);
  }

  ~Impl() { stop(); }

  [[nodiscard]] std::chrono::milliseconds delivery_timeout() const {
    return options_.delivery_timeout;
  }

  void start() {
    std::lock_guard lifecycle(lifecycle_mu_);
    if (!threads_.empty()) return;
    {
      std::lock_guard lock(mu_);
      stop_ = false;
    }
    for (int lane = 0; lane < options_.pipeline_depth; ++lane) {
      threads_.emplace_back([this, lane] { loop(lane == 0); });
    }
  }

  void notify() {
    {
      std::lock_guard lock(mu_);
      notified_ = true;
    }
    // notify_all: a drain() backing off waits on the same variable.
    cv_.notify_all();
  }

  void stop() {
    std::lock_guard lifecycle(lifecycle_mu_);
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      for (const auto& batch : waiting_) {
        std::lock_guard batch_lock(batch->mu);
        batch->cancelled = true;
        batch->cv.notify_all();
      }
    }
    cv_.notify_all();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

  Result<std::int64_t> drain(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      auto round = run_round(std::min(options_.delivery_timeout, left), false);
      if (!round) return round.error();
      if (round->fetched == 0 && round->in_flight == 0) {
        auto rows = store_.fetch_unsent(1);
        if (!rows) return rows.error();
        if (rows->empty()) return std::int64_t{0};
        // The relay's other rounds hold the rest: wait for them to end.
        std::unique_lock lock(mu_);
        cv_.wait_until(lock, std::min(std::chrono::steady_clock::now() + kDrainRecheck, deadline));
        continue;
      }
      if (round->marked == 0) {
        // Every delivery failed: pause before retrying instead of spinning on a dead broker.
        std::unique_lock lock(mu_);
        cv_.wait_until(
            lock, std::min(std::chrono::steady_clock::now() + options_.poll_interval, deadline));
      }
    }
    auto rows = store_.fetch_unsent(options_.batch_size);
    if (!rows) return rows.error();
    return static_cast<std::int64_t>(rows->size());
  }

  // `lane`: called by one of the relay's threads, which stop() interrupts; drain() and
  // publish_batch() still run after stop().
  Result<Round> run_round(std::chrono::milliseconds wait, bool lane) {
    // Held from the check of the rows in flight until this round's rows are claimed and handed
    // to the producer: a round that stops waiting records its rows in flight (under this lock)
    // before its claim on them goes, so no round can claim them in between; and the next
    // round's rows are sent after this round's, so a key's records keep their order.
    std::unique_lock round_lock(round_mu_);
    if (lane && stopping()) return Round{};
    const auto round_start = std::chrono::steady_clock::now();
    // Rows an earlier round sent and stopped waiting for are still unsent in the store, and
    // still inside the producer: fetching them now would queue a second copy of each (every
    // round another one while the broker is stalled). So no round fetches until every one of
    // them is reported; librdkafka reports each within message.timeout.ms.
    std::int64_t settled_marked = 0;
    if (!in_flight_.empty()) {
      auto settled = settle_in_flight(wait, lane);
      if (!settled) return settled.error();
      settled_marked = *settled;
      if (!in_flight_.empty()) return Round{0, settled_marked, unsettled_in_flight()};
    }
    // History first: a row of the lost cluster must not be overtaken by a newer row of its key.
    if (!cluster_recorded_) {
      if (auto checked = record_cluster(std::min(wait, kClusterIdWait)); !checked) {
        return checked.error();
      }
    }
    const bool pacing = republish_until_ > 0 && options_.republish_rate > 0;
    const int limit =
        pacing ? std::clamp(options_.republish_rate / kPaceSlicesPerSecond, 1, options_.batch_size)
               : options_.batch_size;
    auto published = store_.publish_unsent(limit, [&](const std::vector<OutboxStore::Row>& rows) {
      return publish(rows, wait, lane, round_lock);
    });
    if (!round_lock.owns_lock()) round_lock.lock();
    if (!published) {
      logger_->warn(
          "\"outbox round failed; rows not marked stay unsent and are published again\" "
          "error={} ({})",
          published.error().message, to_string(published.error().kind));
      return published.error();
    }
    const std::int64_t fetched = published->fetched;
    const std::int64_t marked = published->marked;
    const std::int64_t in_flight = unsettled_in_flight();
    // A lower bound while the backlog exceeds one batch; exact otherwise.
    metrics_.set_outbox_pending(fetched - marked);
    if (fetched == 0) return Round{0, settled_marked, 0};
    if (republish_until_ > 0) {
      if (published->last_id >= republish_until_) {
        logger_->info("\"outbox history re-published\" last_id={}", republish_until_);
        republish_until_ = 0;
      } else if (pacing) {
        round_lock.unlock();
        pace(round_start, fetched);
      }
    }
    return Round{fetched, settled_marked + marked, in_flight};
  }

 private:
  // Waits (`wait` at most, or until stop()) for the reports of `batch`; returns a snapshot of
  // them. The batch is the one stop() interrupts meanwhile.
  std::vector<std::optional<Result<DeliveryReport>>> await_reports(
      const std::shared_ptr<Batch>& batch, std::chrono::milliseconds wait, bool lane) {
    {
      std::lock_guard lock(mu_);
      waiting_.push_back(batch);
      std::lock_guard batch_lock(batch->mu);
      // An earlier stop() interrupted an earlier wait only; a lane's wait after stop() is over
      // at once.
      batch->cancelled = lane && stop_;
    }
    std::vector<std::optional<Result<DeliveryReport>>> reports;
    {
      std::unique_lock lock(batch->mu);
      batch->cv.wait_for(lock, wait, [&] { return batch->outstanding == 0 || batch->cancelled; });
      reports = batch->reports;
    }
    std::lock_guard lock(mu_);
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), batch));
    return reports;
  }

  // Counted from what the relay has taken into account, not from the batch (a report may have
  // arrived since): a row counts until a round has settled it.
  bool stopping() {
    std::lock_guard lock(mu_);
    return stop_;
  }

  static std::int64_t unsettled(const std::vector<bool>& settled) {
    return std::count(settled.begin(), settled.end(), false);
  }

  // Caller holds round_mu_.
  [[nodiscard]] std::int64_t unsettled_in_flight() const {
    std::int64_t n = 0;
    for (const auto& batch : in_flight_) n += unsettled(batch.settled);
    return n;
  }

  // Takes the reports that arrived for rows not yet settled: logs failures, counts the
  // acknowledged rows and returns their ids; marks which rows are settled.
  std::vector<std::int64_t> settle(
      const std::vector<OutboxStore::Row>& rows,
      const std::vector<std::optional<Result<DeliveryReport>>>& reports,
      std::vector<bool>& settled) {
    std::vector<std::int64_t> acked;
    std::map<std::string, std::int64_t> per_topic;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (settled[i] || !reports[i]) continue;
      settled[i] = true;
      const auto& row = rows[i];
      if (!reports[i]->ok()) {
        const auto& error = reports[i]->error();
        logger_->warn("\"outbox delivery failed\" id={} topic={} key={} error={} ({})", row.id,
                      row.record.topic, row.record.key, error.message, to_string(error.kind));
      } else {
        acked.push_back(row.id);
        ++per_topic[row.record.topic];
      }
    }
    for (const auto& [topic, n] : per_topic) metrics_.count_outbox_published(topic, n);
    return acked;
  }

  // The rest of the reports of the batches earlier rounds stopped waiting for (`wait` at most
  // for each): marks the rows acknowledged since and forgets a batch once every record is
  // reported. Returns the rows marked. Caller holds round_mu_.
  Result<std::int64_t> settle_in_flight(std::chrono::milliseconds wait, bool lane) {
    std::vector<std::int64_t> acked;
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      auto reports = await_reports(it->batch, wait, lane);
      auto batch_acked = settle(it->rows, reports, it->settled);
      acked.insert(acked.end(), batch_acked.begin(), batch_acked.end());
      if (unsettled(it->settled) == 0) {
        logger_->info("\"outbox deliveries reported late\" rows={}", it->rows.size());
        it = in_flight_.erase(it);
      } else {
        ++it;
      }
    }
    if (!acked.empty()) {
      // Rows that fail to be marked stay unsent and come again (at-least-once), but only now
      // that no copy of them is left in the producer.
      if (auto r = store_.mark_sent(acked); !r) return r.error();
    }
    return static_cast<std::int64_t>(acked.size());
  }

  // Sends the rows and waits (`wait` at most, or until stop()) for their delivery reports;
  // returns the ids acknowledged. Every acknowledged row counts even if an earlier one
  // failed: the failed row is retried next round (at-least-once, consumers dedupe by eventId).
  // Rows still unreported after the wait are remembered (in_flight_): no round sends them again
  // before their reports arrive. Called with `round_lock` (round_mu_) held; it is released
  // once the rows are handed to the producer (other rounds claim and send meanwhile: the
  // pipeline) and held again on return only when rows were left in flight.
  std::vector<std::int64_t> publish(const std::vector<OutboxStore::Row>& rows,
                                    std::chrono::milliseconds wait, bool lane,
                                    std::unique_lock<std::mutex>& round_lock) {
    // Before the wait, which lasts up to `wait` while the broker is down: the backlog must show
    // on /metrics during an outage, not only once the round gives up.
    metrics_.set_outbox_pending(static_cast<std::int64_t>(rows.size()));
    auto batch = std::make_shared<Batch>();
    batch->outstanding = rows.size();
    batch->reports.resize(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      producer_.send(rows[i].record, [batch, i](const Result<DeliveryReport>& report) {
        std::lock_guard lock(batch->mu);
        if (batch->reports[i]) return;  // contract says once; be safe against a second call
        batch->reports[i] = report;
        if (--batch->outstanding == 0) batch->cv.notify_all();
      });
    }
    round_lock.unlock();  // the next round claims and sends while this one waits
    auto reports = await_reports(batch, wait, lane);
    std::vector<bool> settled(rows.size(), false);
    auto acked = settle(rows, reports, settled);
    if (const auto unreported = unsettled(settled); unreported > 0) {
      logger_->warn(
          "\"outbox deliveries not reported in time; their rows are not sent again until the "
          "producer reports them\" rows={} first_id={} waited_ms={}",
          unreported, rows.front().id, wait.count());
      round_lock.lock();
      in_flight_.push_back(InFlightBatch{batch, rows, std::move(settled)});
    }
    return acked;
  }

  static constexpr std::chrono::milliseconds kClusterIdWait{5000};
  static constexpr std::chrono::milliseconds kDrainRecheck{5};
  static constexpr int kPaceSlicesPerSecond = 10;
  static constexpr int kPurgeChunk = 1000;
  static constexpr int kPurgeChunksPerPass = 100;

  Result<void> record_cluster(std::chrono::milliseconds wait) {
    auto id = producer_.cluster_id(wait);
    if (!id) {
      if (!cluster_warned_) {
        logger_->warn("\"outbox waits for the broker's cluster id before publishing\" error={}",
                      id.error().message);
        cluster_warned_ = true;
      }
      return id.error();
    }
    if (id->empty()) {  // a producer that cannot tell: no history check
      cluster_recorded_ = true;
      return {};
    }
    auto change = store_.record_cluster(*id);
    if (!change) return change.error();
    cluster_recorded_ = true;
    if (change->previous.empty() || change->previous == *id) {
      logger_->info("\"outbox publishes to cluster\" cluster_id={}", *id);
      return {};
    }
    if (change->republish == 0) {
      logger_->error(
          "\"new broker cluster and no outbox history retained (outbox.retention_ms 0): records "
          "sent to the previous cluster and not yet consumed are lost\" previous={} cluster_id={}",
          change->previous, *id);
      return {};
    }
    republish_until_ = change->last_row_id;
    metrics_.add_counter("orderflow_outbox_republished_total",
                         "Outbox rows published again onto a new broker cluster", {},
                         static_cast<double>(change->republish));
    logger_->warn(
        "\"new broker cluster: re-publishing the retained outbox history\" previous={} "
        "cluster_id={} rows={} last_id={} rate_per_s={}",
        change->previous, *id, change->republish, change->last_row_id, options_.republish_rate);
    return {};
  }

  // Spreads the history over time so the consumers keep up and the embedded broker's
  // per-partition cap evicts only what they have read.
  void pace(std::chrono::steady_clock::time_point round_start, std::int64_t rows) {
    // Every lane paces its own rounds: together they keep to the rate.
    const auto budget =
        std::chrono::milliseconds{rows * 1000 * options_.pipeline_depth / options_.republish_rate};
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, round_start + budget, [&] { return stop_; });
  }

  void purge_expired() {
    const auto cutoff = clock_->now() - options_.retention;
    std::int64_t total = 0;
    for (int i = 0; i < kPurgeChunksPerPass; ++i) {
      auto deleted = store_.purge_sent(cutoff, kPurgeChunk);
      if (!deleted) {
        logger_->warn("\"outbox purge failed\" error={}", deleted.error().message);
        return;
      }
      total += deleted.value();
      if (deleted.value() < kPurgeChunk) break;
    }
    if (total > 0) logger_->debug("\"outbox purged sent rows\" rows={}", total);
  }

  // orderflow_outbox_oldest_unsent_age_seconds, from the store when it can tell (OutboxAge).
  // created_at is stamped with the system clock (Outbox::append), so the age is too.
  void report_oldest_age() {
    auto* age = dynamic_cast<OutboxAge*>(&store_);
    if (age == nullptr) return;
    auto created = age->oldest_unsent_created();
    if (!created) return;  // the previous value stays; the database is down or busy
    double seconds = 0;
    if (created->has_value()) {
      seconds = std::max(
          0.0, std::chrono::duration<double>(std::chrono::system_clock::now() - **created).count());
    }
    observability::set_outbox_oldest_age(metrics_, seconds);
  }

  // One lane of the pipeline; the first also purges and reports the oldest row's age (at most
  // once per kAgeInterval: one indexed read).
  void loop(bool purges) {
    std::unique_lock lock(mu_);
    auto next_purge = std::chrono::steady_clock::now();
    auto next_age = std::chrono::steady_clock::now();
    while (!stop_) {
      lock.unlock();
      bool progressed = false;
      if (purges && options_.retention.count() > 0 &&
          std::chrono::steady_clock::now() >= next_purge) {
        purge_expired();
        next_purge = std::chrono::steady_clock::now() + options_.purge_interval;
      }
      if (purges && std::chrono::steady_clock::now() >= next_age) {
        report_oldest_age();
        next_age = std::chrono::steady_clock::now() + kAgeInterval;
      }
      try {
        auto round = run_round(options_.delivery_timeout, true);
        progressed = round.ok() && round->marked > 0;
      } catch (const std::exception& e) {
        logger_->error("\"outbox relay round threw\" error={}", e.what());
      }
      lock.lock();
      if (progressed) continue;
      cv_.wait_for(lock, options_.poll_interval, [&] { return stop_ || notified_; });
      notified_ = false;
    }
  }

  OutboxStore& store_;
  Producer& producer_;
  RelayOptions options_;
  observability::Metrics& metrics_;
  SystemClock system_clock_;
  const Clock* clock_;
  std::shared_ptr<spdlog::logger> logger_;

  // Guarded by round_mu_.
  std::vector<InFlightBatch> in_flight_;
  bool cluster_recorded_ = false;
  bool cluster_warned_ = false;
  std::int64_t republish_until_ = 0;  ///< > 0 while history up to this id is re-published

  std::mutex lifecycle_mu_;           // start()/stop(); owns threads_
  std::vector<std::thread> threads_;  ///< the pipeline's lanes
  std::mutex round_mu_;
  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  bool stop_ = false;
  bool notified_ = false;
  std::vector<std::shared_ptr<Batch>> waiting_;  ///< batches rounds wait for (stop() cancels)
};

OutboxRelay::OutboxRelay(OutboxStore& store, Producer& producer, RelayOptions options,
                         observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger,
                         const Clock* clock)
    : impl_(std::make_unique<Impl>(store, producer, options, metrics, std::move(logger), clock)) {}

OutboxRelay::~OutboxRelay() = default;

void OutboxRelay::start() { impl_->start(); }

void OutboxRelay::notify() { impl_->notify(); }

Result<std::int64_t> OutboxRelay::drain(std::chrono::milliseconds timeout) {
  return impl_->drain(timeout);
}

void OutboxRelay::stop() { impl_->stop(); }

Result<std::int64_t> OutboxRelay::publish_batch() {
  auto round = impl_->run_round(impl_->delivery_timeout(), false);
  if (!round) return round.error();
  return round->marked;
}

}  // namespace orderflow::messaging
