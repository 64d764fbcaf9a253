#include "orderflow/messaging/outbox.h"

#include <spdlog/sinks/null_sink.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "orderflow/common/clock.h"
#include "outbox_age.h"

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

// The shape format_iso8601() writes ("2026-11-21T10:15:30.123Z"); nullopt for anything else.
std::optional<Clock::TimePoint> parse_created_at(const std::string& text) {
  std::tm tm{};
  int millis = 0;
  char zone = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis, &zone,
                  &consumed) != 8 ||
      zone != 'Z' || static_cast<std::size_t>(consumed) != text.size()) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return Clock::TimePoint{} + std::chrono::seconds(timegm(&tm)) + std::chrono::milliseconds(millis);
}

class DbOutboxStore final : public OutboxStore, public OutboxAge {
 public:
  DbOutboxStore(storage::Database& db, std::chrono::milliseconds retention, const Clock* clock)
      : db_(db), retention_(retention), clock_(clock != nullptr ? clock : &system_clock_) {}

  Result<std::vector<Row>> fetch_unsent(int limit, std::int64_t after_id) override {
    std::vector<Row> out;
    auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
      auto rows = tx.query(
          "SELECT id, topic, record_key, value, headers FROM outbox WHERE sent_at IS NULL "
          "AND id > ? ORDER BY id LIMIT ?",
          {after_id, std::int64_t{limit}});
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
      // The limit applies to the keys this relay could lock, not to the oldest keys: a round
      // running beside another (the relay's pipeline, or another instance) takes the next keys
      // instead of none. OFFSET 0 keeps the lock call out of the grouping (where the planner
      // would evaluate it for, and lock, every unsent key), so it runs key by key under the
      // LIMIT and locks only the keys returned.
      auto keys = tx.query(
          "SELECT record_key FROM (SELECT record_key, MIN(id) AS first_id FROM outbox "
          "WHERE sent_at IS NULL GROUP BY record_key ORDER BY first_id OFFSET 0) AS oldest "
          "WHERE pg_try_advisory_xact_lock(?, hashtext(record_key)) LIMIT ?",
          {kRelayKeyLockSpace, std::int64_t{limit}});
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

  Result<std::optional<Clock::TimePoint>> oldest_unsent_created() override {
    std::optional<Clock::TimePoint> created;
    auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
      auto rows =
          tx.query("SELECT created_at FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT 1", {});
      if (!rows) return rows.error();
      if (!rows->empty()) created = parse_created_at(rows->front().text(0));
      return {};
    });
    if (!r) return r.error();
    return created;
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

}  // namespace

Result<OutboxStore::Published> OutboxStore::publish_unsent(int limit, const PublishFn& publish) {
  Published out;
  std::vector<Row> rows;
  std::multiset<std::int64_t>::iterator claim;
  {
    // Held while fetching: two rounds starting at once must not fetch the same rows.
    std::lock_guard lock(claims_mu_);
    if (restart_from_oldest_) {
      if (!claimed_up_to_.empty()) return out;  // the rounds in progress end first
      restart_from_oldest_ = false;
    }
    const std::int64_t after = claimed_up_to_.empty() ? 0 : *claimed_up_to_.rbegin();
    auto fetched = fetch_unsent(limit, after);
    if (!fetched) return fetched.error();
    if (fetched->empty()) return out;
    rows = std::move(fetched.value());
    claim = claimed_up_to_.insert(rows.back().id);
  }
  out.fetched = static_cast<std::int64_t>(rows.size());
  out.last_id = rows.back().id;
  bool all_marked = false;
  // However the round ends (an error, or publish throwing), its claim goes.
  auto release = [&](void*) {
    std::lock_guard lock(claims_mu_);
    claimed_up_to_.erase(claim);
    if (!all_marked) restart_from_oldest_ = true;
  };
  std::unique_ptr<void, decltype(release)> claim_guard(&claim, release);
  auto acked = publish(rows);
  out.marked = static_cast<std::int64_t>(acked.size());
  if (!acked.empty()) {
    if (auto r = mark_sent(acked); !r) return r.error();
  }
  all_marked = out.marked == out.fetched;
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

}  // namespace orderflow::messaging
