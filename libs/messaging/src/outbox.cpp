#include "orderflow/messaging/outbox.h"

#include <spdlog/sinks/null_sink.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "orderflow/common/clock.h"

namespace orderflow::messaging {
namespace {

Result<std::string> encode_headers(const Headers& headers) {
  auto array = nlohmann::json::array();
  for (const auto& h : headers) array.push_back({{"key", h.key}, {"value", h.value}});
  try {
    return array.dump();
  } catch (const nlohmann::json::exception& e) {
    return invalid_input("INVALID_HEADER", std::string("outbox headers: ") + e.what());
  }
}

Result<Headers> decode_headers(const std::string& text) {
  try {
    Headers headers;
    for (const auto& h : nlohmann::json::parse(text)) {
      headers.push_back({h.at("key").get<std::string>(), h.at("value").get<std::string>()});
    }
    return headers;
  } catch (const nlohmann::json::exception& e) {
    return internal_error("OUTBOX_CORRUPT", std::string("outbox headers: ") + e.what());
  }
}

class DbOutboxStore final : public OutboxStore {
 public:
  explicit DbOutboxStore(storage::Database& db) : db_(db) {}

  Result<std::vector<Row>> fetch_unsent(int limit) override {
    std::vector<Row> out;
    auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
      auto rows = tx.query(
          "SELECT id, topic, record_key, value, headers FROM outbox WHERE sent_at IS NULL "
          "ORDER BY id LIMIT ?",
          {std::int64_t{limit}});
      if (!rows) return rows.error();
      out.reserve(rows->size());
      for (const auto& row : *rows) {
        auto headers = decode_headers(row.text(4));
        if (!headers) return headers.error();
        out.push_back(
            {row.integer(0), {row.text(1), row.text(2), row.text(3), std::move(headers.value())}});
      }
      return {};
    });
    if (!r) return r.error();
    return out;
  }

  // Acknowledged rows are deleted rather than stamped: the table stays as small as the backlog,
  // so the relay's scan is cheap and no cleanup job is needed. sent_at remains for an adapter
  // that prefers to keep history.
  Result<void> mark_sent(std::span<const std::int64_t> ids) override {
    if (ids.empty()) return {};
    // A mark lost in an OS crash republishes the rows (consumers dedupe by eventId), so it
    // need not cost an fsync of its own (docs/benchmarks.md).
    return db_.write_relaxed([&](storage::Tx& tx) -> Result<void> {
      for (auto id : ids) {
        if (auto r = tx.exec("DELETE FROM outbox WHERE id = ?", {id}); !r) return r.error();
      }
      return {};
    });
  }

 private:
  storage::Database& db_;
};

// Shared with the producer's delivery callbacks, which can fire after the round gave up
// waiting (timeout, stop) and the relay is gone.
struct Batch {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t outstanding = 0;
  bool cancelled = false;
  std::vector<std::optional<Result<DeliveryReport>>> reports;
};

}  // namespace

std::span<const storage::Migration> Outbox::migrations() {
  // AUTOINCREMENT: rows are deleted once sent, and plain rowids could then be reused, breaking
  // the id order the relay publishes in.
  static const std::vector<storage::Migration> kMigrations = {
      {.version = 1,
       .name = "create_outbox",
       .sql = "CREATE TABLE outbox("
              "id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, "
              "record_key TEXT NOT NULL, value TEXT NOT NULL, headers TEXT NOT NULL, "
              "created_at TEXT NOT NULL, sent_at TEXT NULL);"
              "CREATE INDEX outbox_unsent ON outbox(id) WHERE sent_at IS NULL",
       .postgres_sql = "CREATE TABLE outbox("
                       "id BIGSERIAL PRIMARY KEY, topic TEXT NOT NULL, "
                       "record_key TEXT NOT NULL, value TEXT NOT NULL, headers TEXT NOT NULL, "
                       "created_at TEXT NOT NULL, sent_at TEXT NULL);"
                       "CREATE INDEX outbox_unsent ON outbox(id) WHERE sent_at IS NULL"},
  };
  return kMigrations;
}

Result<void> Outbox::append(storage::Tx& tx, const OutgoingRecord& record) {
  auto headers = encode_headers(record.headers);
  if (!headers) return headers.error();
  auto r = tx.exec(
      "INSERT INTO outbox(topic, record_key, value, headers, created_at) VALUES (?, ?, ?, ?, ?)",
      {record.topic, record.key, record.value, std::move(headers.value()),
       format_iso8601(std::chrono::system_clock::now())});
  if (!r) return r.error();
  return {};
}

Result<std::int64_t> Outbox::pending(storage::Database& db) {
  std::int64_t count = 0;
  auto r = db.read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL");
    if (!rows) return rows.error();
    count = rows->front().integer(0);
    return {};
  });
  if (!r) return r.error();
  return count;
}

class OutboxBacklog::Impl {
 public:
  using SteadyClock = std::chrono::steady_clock;

  Impl(storage::Database& db, std::int64_t max_backlog, observability::Metrics& metrics,
       std::chrono::milliseconds recount_interval)
      : db_(db),
        max_backlog_(max_backlog),
        metrics_(metrics),
        recount_interval_(std::max(recount_interval, std::chrono::milliseconds{0})) {}

  Result<std::int64_t> estimate() {
    std::unique_lock recount(recount_mu_, std::defer_lock);
    {
      std::lock_guard lock(mu_);
      if (counted_ && SteadyClock::now() < next_count_at_) return counted_rows_ + appended_;
      // Someone else is counting: their previous result is good enough meanwhile.
      if (counted_ && !recount.try_lock()) return counted_rows_ + appended_;
    }
    if (!recount.owns_lock()) recount.lock();  // the very first count: wait for it
    std::int64_t appended_before = 0;
    {
      std::lock_guard lock(mu_);
      if (counted_ && SteadyClock::now() < next_count_at_) return counted_rows_ + appended_;
      appended_before = appended_;
    }
    // Rows committed while this runs may be both in the count and in appended_: counted twice
    // until the next count, which errs on the safe side.
    auto count = Outbox::pending(db_);
    std::lock_guard lock(mu_);
    next_count_at_ = SteadyClock::now() + recount_interval_;
    if (!count) {
      if (!counted_) return count.error();
      return counted_rows_ + appended_;
    }
    counted_ = true;
    counted_rows_ = count.value();
    appended_ -= appended_before;
    return counted_rows_ + appended_;
  }

  Result<void> admit() {
    if (max_backlog_ <= 0) return {};
    auto backlog = estimate();
    if (!backlog) return backlog.error();
    if (backlog.value() < max_backlog_) return {};
    metrics_.count_http_rejected("outbox_backlog");
    return unavailable("OVERLOADED", std::to_string(backlog.value()) +
                                         " events are waiting to be published (limit " +
                                         std::to_string(max_backlog_) + "); retry later");
  }

  void appended(std::int64_t rows) {
    std::lock_guard lock(mu_);
    appended_ += rows;
  }

  [[nodiscard]] std::int64_t max_backlog() const { return max_backlog_; }

 private:
  storage::Database& db_;
  const std::int64_t max_backlog_;
  observability::Metrics& metrics_;
  const std::chrono::milliseconds recount_interval_;

  std::mutex recount_mu_;  // held while counting: one count at a time
  std::mutex mu_;          // guards the fields below
  bool counted_ = false;
  std::int64_t counted_rows_ = 0;
  std::int64_t appended_ = 0;  // reported since the count started
  SteadyClock::time_point next_count_at_{};
};

OutboxBacklog::OutboxBacklog(storage::Database& db, std::int64_t max_backlog,
                             observability::Metrics& metrics,
                             std::chrono::milliseconds recount_interval)
    : impl_(std::make_unique<Impl>(db, max_backlog, metrics, recount_interval)) {}

OutboxBacklog::~OutboxBacklog() = default;

Result<std::int64_t> OutboxBacklog::estimate() { return impl_->estimate(); }

Result<void> OutboxBacklog::admit() { return impl_->admit(); }

void OutboxBacklog::appended(std::int64_t rows) { impl_->appended(rows); }

std::int64_t OutboxBacklog::max_backlog() const { return impl_->max_backlog(); }

std::unique_ptr<OutboxStore> make_outbox_store(storage::Database& db) {
  return std::make_unique<DbOutboxStore>(db);
}

class OutboxRelay::Impl {
 public:
  struct Round {
    std::int64_t fetched = 0;
    std::int64_t marked = 0;
  };

  Impl(OutboxStore& store, Producer& producer, RelayOptions options,
       observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger)
      : store_(store),
        producer_(producer),
        options_(options),
        metrics_(metrics),
        logger_(logger ? std::move(logger)
                       : std::make_shared<spdlog::logger>(
                             "outbox-relay", std::make_shared<spdlog::sinks::null_sink_mt>())) {
    options_.batch_size = std::max(1, options_.batch_size);
  }

  ~Impl() { stop(); }

  [[nodiscard]] std::chrono::milliseconds delivery_timeout() const {
    return options_.delivery_timeout;
  }

  void start() {
    std::lock_guard lifecycle(lifecycle_mu_);
    if (thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stop_ = false;
    }
    thread_ = std::thread([this] { loop(); });
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
      if (current_) {
        std::lock_guard batch_lock(current_->mu);
        current_->cancelled = true;
        current_->cv.notify_all();
      }
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  Result<std::int64_t> drain(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      auto round = run_round(std::min(options_.delivery_timeout, left));
      if (!round) return round.error();
      if (round->fetched == 0) return std::int64_t{0};
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

  Result<Round> run_round(std::chrono::milliseconds wait) {
    // The relay thread and drain() must not publish the same rows concurrently.
    std::lock_guard round_lock(round_mu_);
    auto rows = store_.fetch_unsent(options_.batch_size);
    if (!rows) {
      logger_->warn("\"outbox fetch failed\" error={} ({})", rows.error().message,
                    to_string(rows.error().kind));
      return rows.error();
    }
    const auto fetched = static_cast<std::int64_t>(rows->size());
    // A lower bound while the backlog exceeds one batch; exact otherwise.
    metrics_.set_outbox_pending(fetched);
    if (fetched == 0) return Round{};

    auto batch = std::make_shared<Batch>();
    batch->outstanding = rows->size();
    batch->reports.resize(rows->size());
    {
      std::lock_guard lock(mu_);
      current_ = batch;
    }
    for (std::size_t i = 0; i < rows->size(); ++i) {
      producer_.send((*rows)[i].record, [batch, i](const Result<DeliveryReport>& report) {
        std::lock_guard lock(batch->mu);
        if (batch->reports[i]) return;  // contract says once; be safe against a second call
        batch->reports[i] = report;
        if (--batch->outstanding == 0) batch->cv.notify_all();
      });
    }
    std::vector<std::optional<Result<DeliveryReport>>> reports;
    {
      std::unique_lock lock(batch->mu);
      batch->cv.wait_for(lock, wait, [&] { return batch->outstanding == 0 || batch->cancelled; });
      reports = batch->reports;
    }
    {
      std::lock_guard lock(mu_);
      current_.reset();
    }

    // Every acknowledged row is marked even if an earlier one failed; the failed row is
    // retried next round (at-least-once, consumers dedupe by eventId).
    std::vector<std::int64_t> acked;
    std::map<std::string, std::int64_t> per_topic;
    for (std::size_t i = 0; i < rows->size(); ++i) {
      const auto& row = (*rows)[i];
      if (!reports[i]) {
        logger_->warn("\"outbox delivery not reported in time\" id={} topic={} key={}", row.id,
                      row.record.topic, row.record.key);
      } else if (!reports[i]->ok()) {
        const auto& error = reports[i]->error();
        logger_->warn("\"outbox delivery failed\" id={} topic={} key={} error={} ({})", row.id,
                      row.record.topic, row.record.key, error.message, to_string(error.kind));
      } else {
        acked.push_back(row.id);
        ++per_topic[row.record.topic];
      }
    }
    for (const auto& [topic, n] : per_topic) metrics_.count_outbox_published(topic, n);
    const auto marked = static_cast<std::int64_t>(acked.size());
    if (marked > 0) {
      if (auto r = store_.mark_sent(acked); !r) {
        logger_->error(
            "\"outbox mark_sent failed; the rows stay unsent and will be published again\" "
            "rows={} error={} kind={}",
            marked, r.error().message, to_string(r.error().kind));
        return r.error();
      }
    }
    metrics_.set_outbox_pending(fetched - marked);
    return Round{fetched, marked};
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      bool progressed = false;
      try {
        auto round = run_round(options_.delivery_timeout);
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
  std::shared_ptr<spdlog::logger> logger_;

  std::mutex lifecycle_mu_;  // start()/stop(); owns thread_
  std::thread thread_;
  std::mutex round_mu_;
  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  bool stop_ = false;
  bool notified_ = false;
  std::shared_ptr<Batch> current_;
};

OutboxRelay::OutboxRelay(OutboxStore& store, Producer& producer, RelayOptions options,
                         observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_unique<Impl>(store, producer, options, metrics, std::move(logger))) {}

OutboxRelay::~OutboxRelay() = default;

void OutboxRelay::start() { impl_->start(); }

void OutboxRelay::notify() { impl_->notify(); }

Result<std::int64_t> OutboxRelay::drain(std::chrono::milliseconds timeout) {
  return impl_->drain(timeout);
}

void OutboxRelay::stop() { impl_->stop(); }

Result<std::int64_t> OutboxRelay::publish_batch() {
  auto round = impl_->run_round(impl_->delivery_timeout());
  if (!round) return round.error();
  return round->marked;
}

}  // namespace orderflow::messaging
