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

Result<std::vector<OutboxStore::Row>> decode_rows(const std::vector<storage::Row>& rows) {
  std::vector<OutboxStore::Row> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    auto headers = decode_headers(row.text(4));
    if (!headers) return headers.error();
    out.push_back(
        {row.integer(0), {row.text(1), row.text(2), row.text(3), std::move(headers.value())}});
  }
  return out;
}

// First key of the relay's two-key advisory locks ("ofrl"): apart from other users of
// advisory locks in the same database.
constexpr std::int64_t kRelayKeyLockSpace = 0x6f66726c;

class DbOutboxStore final : public OutboxStore {
 public:
  DbOutboxStore(storage::Database& db, std::chrono::milliseconds retention, const Clock* clock)
      : db_(db), retention_(retention), clock_(clock != nullptr ? clock : &system_clock_) {}

  Result<std::vector<Row>> fetch_unsent(int limit) override {
    std::vector<Row> out;
    auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
      auto rows = tx.query(
          "SELECT id, topic, record_key, value, headers FROM outbox WHERE sent_at IS NULL "
          "ORDER BY id LIMIT ?",
          {std::int64_t{limit}});
      if (!rows) return rows.error();
      auto decoded = decode_rows(*rows);
      if (!decoded) return decoded.error();
      out = std::move(decoded.value());
      return {};
    });
    if (!r) return r.error();
    return out;
  }

  // Without retention acknowledged rows are deleted: the table stays as small as the backlog,
  // so the relay's scan is cheap and no cleanup job is needed.
  Result<void> mark_sent(std::span<const std::int64_t> ids) override {
    if (ids.empty()) return {};
    // A mark lost in an OS crash republishes the rows (consumers dedupe by eventId), so it
    // need not cost an fsync of its own (docs/benchmarks.md).
    return db_.write_relaxed([&](storage::Tx& tx) { return mark_in(tx, ids); });
  }

  // PostgreSQL: several relays (one per instance) share the outbox. Each claims the oldest
  // unsent rows whose record key no other relay holds (a transaction-scoped advisory lock per
  // key hash, try-only) and keeps the transaction, and with it the keys and the row locks,
  // open until the broker acknowledged and the rows are marked. So a key's rows are published
  // by one relay at a time, in id order, and a crashed relay's keys are free again the moment
  // its connection closes. FOR UPDATE skips rows another relay marked after this statement's
  // snapshot was taken (re-checked once their transaction commits).
  Result<Published> publish_unsent(int limit, const PublishFn& publish) override {
    if (db_.dialect() != storage::Dialect::kPostgres) {
      return OutboxStore::publish_unsent(limit, publish);
    }
    Published out;
    auto r = db_.write_relaxed([&](storage::Tx& tx) -> Result<void> {
      // The keys first, then their rows, read by a second statement whose snapshot is taken
      // once the keys are held (READ COMMITTED: one snapshot per statement). One statement that
      // try-locked per row could skip a key's older rows while another relay held the key, and
      // then, that relay having committed mid-scan, claim the key's newer rows: published out
      // of order (OutboxRelayRaceTest).
      auto keys = tx.query(
          "SELECT record_key FROM (SELECT record_key, MIN(id) AS first_id FROM outbox "
          "WHERE sent_at IS NULL GROUP BY record_key ORDER BY first_id LIMIT ?) AS oldest "
          "WHERE pg_try_advisory_xact_lock(?, hashtext(record_key))",
          {std::int64_t{limit}, kRelayKeyLockSpace});
      if (!keys) return keys.error();
      if (keys->empty()) return {};
      // One text[] parameter (an array literal), so that the statement text, and with it the
      // prepared statement, is the same whatever the number of keys.
      std::string key_array = "{";
      for (const auto& key : *keys) {
        if (key_array.size() > 1) key_array += ',';
        key_array += '"';
        for (char c : key.text(0)) {
          if (c == '"' || c == '\\') key_array += '\\';
          key_array += c;
        }
        key_array += '"';
      }
      key_array += '}';
      auto rows = tx.query(
          "SELECT id, topic, record_key, value, headers FROM outbox WHERE sent_at IS NULL "
          "AND record_key = ANY(CAST(? AS TEXT[])) ORDER BY id LIMIT ? FOR UPDATE",
          {key_array, std::int64_t{limit}});
      if (!rows) return rows.error();
      auto claimed = decode_rows(*rows);
      if (!claimed) return claimed.error();
      if (claimed->empty()) return {};
      out.fetched = static_cast<std::int64_t>(claimed->size());
      out.last_id = claimed->back().id;
      auto acked = publish(*claimed);
      out.marked = static_cast<std::int64_t>(acked.size());
      return mark_in(tx, acked);
    });
    if (!r) return r.error();
    return out;
  }

  Result<void> mark_in(storage::Tx& tx, std::span<const std::int64_t> ids) const {
    const bool retain = retention_.count() > 0;
    const std::string sent_at = retain ? format_iso8601(clock_->now()) : std::string();
    for (auto id : ids) {
      auto r = retain ? tx.exec("UPDATE outbox SET sent_at = ? WHERE id = ?", {sent_at, id})
                      : tx.exec("DELETE FROM outbox WHERE id = ?", {id});
      if (!r) return r.error();
    }
    return {};
  }

  Result<ClusterSwitch> record_cluster(const std::string& cluster_id) override {
    ClusterSwitch out;
    auto r = db_.write([&](storage::Tx& tx) -> Result<void> {
      auto known = tx.query("SELECT cluster_id FROM outbox_cluster WHERE id = 1");
      if (!known) return known.error();
      const std::string now = format_iso8601(clock_->now());
      if (known->empty()) {
        auto ins =
            tx.exec("INSERT INTO outbox_cluster(id, cluster_id, recorded_at) VALUES (1, ?, ?)",
                    {cluster_id, now});
        return ins ? Result<void>{} : Result<void>{ins.error()};
      }
      out.previous = known->front().text(0);
      if (out.previous == cluster_id) return {};
      auto history =
          tx.query("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM outbox WHERE sent_at IS NOT NULL");
      if (!history) return history.error();
      out.republish = history->front().integer(0);
      out.last_row_id = history->front().integer(1);
      if (auto u = tx.exec("UPDATE outbox SET sent_at = NULL WHERE sent_at IS NOT NULL"); !u) {
        return u.error();
      }
      auto upd = tx.exec("UPDATE outbox_cluster SET cluster_id = ?, recorded_at = ? WHERE id = 1",
                         {cluster_id, now});
      return upd ? Result<void>{} : Result<void>{upd.error()};
    });
    if (!r) return r.error();
    return out;
  }

  Result<std::int64_t> purge_sent(Clock::TimePoint cutoff, int limit) override {
    std::int64_t deleted = 0;
    const std::string before = format_iso8601(cutoff);
    auto r = db_.write_relaxed([&](storage::Tx& tx) -> Result<void> {
      // Walks the primary key from the oldest row, so no index on sent_at is needed; the
      // fixed-width ISO-8601 stamps compare as text.
      auto rows =
          tx.query("SELECT id, sent_at FROM outbox ORDER BY id LIMIT ?", {std::int64_t{limit}});
      if (!rows) return rows.error();
      std::int64_t last = 0;
      for (const auto& row : *rows) {
        if (row.is_null(1) || row.text(1) >= before) break;
        last = row.integer(0);
        ++deleted;
      }
      if (deleted == 0) return {};
      auto d = tx.exec("DELETE FROM outbox WHERE id <= ? AND sent_at IS NOT NULL", {last});
      return d ? Result<void>{} : Result<void>{d.error()};
    });
    if (!r) return r.error();
    return deleted;
  }

 private:
  storage::Database& db_;
  const std::chrono::milliseconds retention_;
  SystemClock system_clock_;
  const Clock* clock_;
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

// A batch a round stopped waiting for while some of its records were still inside the producer
// (queued or being retried by librdkafka). Owned by whoever holds the relay's round_mu_.
struct InFlightBatch {
  std::shared_ptr<Batch> batch;
  std::vector<OutboxStore::Row> rows;
  std::vector<bool> settled;  // the report was taken into account (acked rows marked)
};

}  // namespace

Result<OutboxStore::Published> OutboxStore::publish_unsent(int limit, const PublishFn& publish) {
  auto rows = fetch_unsent(limit);
  if (!rows) return rows.error();
  Published out;
  if (rows->empty()) return out;
  out.fetched = static_cast<std::int64_t>(rows->size());
  out.last_id = rows->back().id;
  auto acked = publish(*rows);
  out.marked = static_cast<std::int64_t>(acked.size());
  if (!acked.empty()) {
    if (auto r = mark_sent(acked); !r) return r.error();
  }
  return out;
}

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
      // The cluster the rows were published to: a different one at start-up means the
      // broker lost them (docs/operations.md "Broker loss").
      {.version = 2,
       .name = "create_outbox_cluster",
       .sql = "CREATE TABLE outbox_cluster(id INTEGER PRIMARY KEY, cluster_id TEXT NOT NULL, "
              "recorded_at TEXT NOT NULL)",
       .postgres_sql = {}},
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

std::unique_ptr<OutboxStore> make_outbox_store(storage::Database& db,
                                               std::chrono::milliseconds retention,
                                               const Clock* clock) {
  return std::make_unique<DbOutboxStore>(db, retention, clock);
}

class OutboxRelay::Impl {
 public:
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
      if (round->fetched == 0 && round->in_flight == 0) return std::int64_t{0};
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
    const auto round_start = std::chrono::steady_clock::now();
    // Rows an earlier round sent and stopped waiting for are still unsent in the store, and
    // still inside the producer: fetching them now would queue a second copy of each (every
    // round another one while the broker is stalled). So no round fetches until every one of
    // them is reported; librdkafka reports each within message.timeout.ms.
    std::int64_t settled_marked = 0;
    if (in_flight_) {
      auto settled = settle_in_flight(wait);
      if (!settled) return settled.error();
      settled_marked = *settled;
      if (in_flight_) return Round{0, settled_marked, unsettled(in_flight_->settled)};
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
    auto published = store_.publish_unsent(
        limit, [&](const std::vector<OutboxStore::Row>& rows) { return publish(rows, wait); });
    if (!published) {
      logger_->warn(
          "\"outbox round failed; rows not marked stay unsent and are published again\" "
          "error={} ({})",
          published.error().message, to_string(published.error().kind));
      return published.error();
    }
    const std::int64_t fetched = published->fetched;
    const std::int64_t marked = published->marked;
    const std::int64_t in_flight = in_flight_ ? unsettled(in_flight_->settled) : 0;
    // A lower bound while the backlog exceeds one batch; exact otherwise.
    metrics_.set_outbox_pending(fetched - marked);
    if (fetched == 0) return Round{0, settled_marked, 0};
    if (republish_until_ > 0) {
      if (published->last_id >= republish_until_) {
        logger_->info("\"outbox history re-published\" last_id={}", republish_until_);
        republish_until_ = 0;
      } else if (pacing) {
        pace(round_start, fetched);
      }
    }
    return Round{fetched, settled_marked + marked, in_flight};
  }

 private:
  // Waits (`wait` at most, or until stop()) for the reports of `batch`; returns a snapshot of
  // them. The batch is the one stop() interrupts meanwhile.
  std::vector<std::optional<Result<DeliveryReport>>> await_reports(
      const std::shared_ptr<Batch>& batch, std::chrono::milliseconds wait) {
    {
      std::lock_guard lock(mu_);
      current_ = batch;
      std::lock_guard batch_lock(batch->mu);
      batch->cancelled = false;  // an earlier stop() interrupted an earlier wait only
    }
    std::vector<std::optional<Result<DeliveryReport>>> reports;
    {
      std::unique_lock lock(batch->mu);
      batch->cv.wait_for(lock, wait, [&] { return batch->outstanding == 0 || batch->cancelled; });
      reports = batch->reports;
    }
    std::lock_guard lock(mu_);
    current_.reset();
    return reports;
  }

  // Counted from what the relay has taken into account, not from the batch (a report may have
  // arrived since): a row counts until a round has settled it.
  static std::int64_t unsettled(const std::vector<bool>& settled) {
    return std::count(settled.begin(), settled.end(), false);
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

  // The rest of the reports of the batch an earlier round stopped waiting for: marks the rows
  // acknowledged since and forgets the batch once every record is reported. Returns the rows
  // marked.
  Result<std::int64_t> settle_in_flight(std::chrono::milliseconds wait) {
    auto& in_flight = *in_flight_;
    auto reports = await_reports(in_flight.batch, wait);
    auto acked = settle(in_flight.rows, reports, in_flight.settled);
    if (unsettled(in_flight.settled) == 0) {
      logger_->info("\"outbox deliveries reported late\" rows={}", in_flight.rows.size());
      in_flight_.reset();
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
  // before their reports arrive.
  std::vector<std::int64_t> publish(const std::vector<OutboxStore::Row>& rows,
                                    std::chrono::milliseconds wait) {
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
    auto reports = await_reports(batch, wait);
    std::vector<bool> settled(rows.size(), false);
    auto acked = settle(rows, reports, settled);
    if (const auto unreported = unsettled(settled); unreported > 0) {
      logger_->warn(
          "\"outbox deliveries not reported in time; their rows are not sent again until the "
          "producer reports them\" rows={} first_id={} waited_ms={}",
          unreported, rows.front().id, wait.count());
      in_flight_ = InFlightBatch{batch, rows, std::move(settled)};
    }
    return acked;
  }

  static constexpr std::chrono::milliseconds kClusterIdWait{5000};
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
    const auto budget = std::chrono::milliseconds{rows * 1000 / options_.republish_rate};
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

  void loop() {
    std::unique_lock lock(mu_);
    auto next_purge = std::chrono::steady_clock::now();
    while (!stop_) {
      lock.unlock();
      bool progressed = false;
      if (options_.retention.count() > 0 && std::chrono::steady_clock::now() >= next_purge) {
        purge_expired();
        next_purge = std::chrono::steady_clock::now() + options_.purge_interval;
      }
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
  SystemClock system_clock_;
  const Clock* clock_;
  std::shared_ptr<spdlog::logger> logger_;

  // Owned by whoever holds round_mu_.
  std::optional<InFlightBatch> in_flight_;
  bool cluster_recorded_ = false;
  bool cluster_warned_ = false;
  std::int64_t republish_until_ = 0;  ///< > 0 while history up to this id is re-published

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
  auto round = impl_->run_round(impl_->delivery_timeout());
  if (!round) return round.error();
  return round->marked;
}

}  // namespace orderflow::messaging
