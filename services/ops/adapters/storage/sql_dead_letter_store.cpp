#include "sql_dead_letter_store.h"

namespace orderflow::ops {
namespace {

// Shared by both dialects except the id column.
#define OF_DEAD_LETTER_COLUMNS                                                            \
  " dlt_topic TEXT NOT NULL, dlt_partition INTEGER NOT NULL, dlt_offset BIGINT NOT NULL," \
  " record_key TEXT NOT NULL, record_value TEXT NOT NULL, headers TEXT NOT NULL,"         \
  " service TEXT NOT NULL, consumer_group TEXT NOT NULL, original_topic TEXT NOT NULL,"   \
  " original_partition INTEGER, original_offset BIGINT, error_timestamp TEXT NOT NULL,"   \
  " error_class TEXT NOT NULL, error_message TEXT NOT NULL,"                              \
  " error_stacktrace TEXT NOT NULL, attempts INTEGER, reason TEXT NOT NULL,"              \
  " event_id TEXT NOT NULL, event_type TEXT NOT NULL, status TEXT NOT NULL,"              \
  " replay_count INTEGER NOT NULL, first_seen_ms BIGINT NOT NULL,"                        \
  " last_seen_ms BIGINT NOT NULL, UNIQUE (dlt_topic, dlt_partition, dlt_offset));"        \
  "CREATE INDEX dead_letters_by_key ON dead_letters(consumer_group, original_topic, record_key);"

const storage::Migration kMigrations[] = {
    {1, "dead letters and audit",
     "CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT," OF_DEAD_LETTER_COLUMNS
     "CREATE TABLE dead_letter_audit (id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " dead_letter_id INTEGER NOT NULL REFERENCES dead_letters(id), action TEXT NOT NULL,"
     " actor TEXT NOT NULL, at_ms BIGINT NOT NULL, details TEXT NOT NULL);"
     "CREATE INDEX dead_letter_audit_by_letter ON dead_letter_audit(dead_letter_id, id);",
     "CREATE TABLE dead_letters (id BIGSERIAL PRIMARY KEY," OF_DEAD_LETTER_COLUMNS
     "CREATE TABLE dead_letter_audit (id BIGSERIAL PRIMARY KEY,"
     " dead_letter_id BIGINT NOT NULL REFERENCES dead_letters(id), action TEXT NOT NULL,"
     " actor TEXT NOT NULL, at_ms BIGINT NOT NULL, details TEXT NOT NULL);"
     "CREATE INDEX dead_letter_audit_by_letter ON dead_letter_audit(dead_letter_id, id);"},
};
#undef OF_DEAD_LETTER_COLUMNS

constexpr const char* kSelect =
    "SELECT id, dlt_topic, dlt_partition, dlt_offset, record_key, record_value, headers,"
    " service, consumer_group, original_topic, original_partition, original_offset,"
    " error_timestamp, error_class, error_message, error_stacktrace, attempts, reason,"
    " event_id, event_type, status, replay_count, first_seen_ms, last_seen_ms FROM dead_letters";

Clock::TimePoint from_ms(std::int64_t ms) {
  return Clock::TimePoint{std::chrono::milliseconds{ms}};
}

template <class T>
storage::Value optional_value(const std::optional<T>& v) {
  if (!v) return std::monostate{};
  return static_cast<std::int64_t>(*v);
}

DeadLetter to_dead_letter(const storage::Row& row) {
  DeadLetter d;
  d.id = row.integer(0);
  d.dlt_topic = row.text(1);
  d.dlt_partition = static_cast<std::int32_t>(row.integer(2));
  d.dlt_offset = row.integer(3);
  d.key = row.text(4);
  d.value = row.text(5);
  d.headers = headers_from_json(nlohmann::json::parse(row.text(6), nullptr, false));
  d.service = row.text(7);
  d.consumer_group = row.text(8);
  d.original_topic = row.text(9);
  if (!row.is_null(10)) d.original_partition = static_cast<std::int32_t>(row.integer(10));
  if (!row.is_null(11)) d.original_offset = row.integer(11);
  d.error_timestamp = row.text(12);
  d.error_class = row.text(13);
  d.error_message = row.text(14);
  d.error_stacktrace = row.text(15);
  if (!row.is_null(16)) d.attempts = static_cast<int>(row.integer(16));
  d.reason = row.text(17);
  d.event_id = row.text(18);
  d.event_type = row.text(19);
  d.status = parse_status(row.text(20)).value_or(DeadLetterStatus::kNew);
  d.replay_count = static_cast<int>(row.integer(21));
  d.first_seen = from_ms(row.integer(22));
  d.last_seen = from_ms(row.integer(23));
  return d;
}

std::string where_clause(const DeadLetterFilter& f, std::vector<storage::Value>& params) {
  std::string sql;
  auto add = [&](const char* column, const std::string& value) {
    sql += sql.empty() ? " WHERE " : " AND ";
    sql += column;
    sql += " = ?";
    params.emplace_back(value);
  };
  if (f.topic) add("original_topic", *f.topic);
  if (f.group) add("consumer_group", *f.group);
  if (f.status) add("status", to_string(*f.status));
  if (f.key) add("record_key", *f.key);
  return sql;
}

}  // namespace

std::span<const storage::Migration> dead_letter_migrations() { return kMigrations; }

Result<bool> SqlDeadLetterStore::add(const DeadLetter& d) {
  bool inserted = false;
  auto r = db_.write([&](storage::Tx& tx) -> Result<void> {
    auto now_ms = to_epoch_ms(d.last_seen);
    auto n = tx.exec(
        "INSERT INTO dead_letters (dlt_topic, dlt_partition, dlt_offset, record_key,"
        " record_value, headers, service, consumer_group, original_topic, original_partition,"
        " original_offset, error_timestamp, error_class, error_message, error_stacktrace,"
        " attempts, reason, event_id, event_type, status, replay_count, first_seen_ms,"
        " last_seen_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (dlt_topic, dlt_partition, dlt_offset) DO NOTHING",
        {d.dlt_topic, std::int64_t{d.dlt_partition}, d.dlt_offset, d.key, d.value,
         // Header values may be arbitrary bytes; the stored JSON must stay valid UTF-8.
         headers_to_json(d.headers).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
         d.service, d.consumer_group, d.original_topic, optional_value(d.original_partition),
         optional_value(d.original_offset), d.error_timestamp, d.error_class, d.error_message,
         d.error_stacktrace, optional_value(d.attempts), d.reason, d.event_id, d.event_type,
         std::string(to_string(d.status)), std::int64_t{d.replay_count}, to_epoch_ms(d.first_seen),
         now_ms});
    if (!n) return n.error();
    inserted = *n > 0;
    if (!inserted) {
      auto u = tx.exec(
          "UPDATE dead_letters SET last_seen_ms = ? WHERE dlt_topic = ? AND dlt_partition = ?"
          " AND dlt_offset = ?",
          {now_ms, d.dlt_topic, std::int64_t{d.dlt_partition}, d.dlt_offset});
      if (!u) return u.error();
    }
    return {};
  });
  if (!r) return r.error();
  return inserted;
}

Result<std::optional<DeadLetter>> SqlDeadLetterStore::find(std::int64_t id) {
  std::optional<DeadLetter> out;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query(std::string(kSelect) + " WHERE id = ?", {id});
    if (!rows) return rows.error();
    if (!rows->empty()) out = to_dead_letter(rows->front());
    return {};
  });
  if (!r) return r.error();
  return out;
}

Result<DeadLetterPage> SqlDeadLetterStore::list(const DeadLetterFilter& filter, int limit,
                                                int offset) {
  DeadLetterPage page;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    std::vector<storage::Value> params;
    auto where = where_clause(filter, params);
    auto total = tx.query("SELECT COUNT(*) FROM dead_letters" + where, params);
    if (!total) return total.error();
    page.total = total->front().integer(0);
    params.emplace_back(std::int64_t{limit});
    params.emplace_back(std::int64_t{offset});
    auto rows =
        tx.query(std::string(kSelect) + where + " ORDER BY id DESC LIMIT ? OFFSET ?", params);
    if (!rows) return rows.error();
    for (const auto& row : *rows) page.items.push_back(to_dead_letter(row));
    return {};
  });
  if (!r) return r.error();
  return page;
}

Result<std::vector<DeadLetter>> SqlDeadLetterStore::select(const DeadLetterFilter& filter) {
  std::vector<DeadLetter> out;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    std::vector<storage::Value> params;
    auto where = where_clause(filter, params);
    auto rows = tx.query(
        std::string(kSelect) + where + " ORDER BY original_partition, original_offset, id", params);
    if (!rows) return rows.error();
    for (const auto& row : *rows) out.push_back(to_dead_letter(row));
    return {};
  });
  if (!r) return r.error();
  return out;
}

Result<void> SqlDeadLetterStore::mark(const std::vector<std::int64_t>& ids, DeadLetterStatus status,
                                      const AuditEntry& audit) {
  return db_.write([&](storage::Tx& tx) -> Result<void> {
    bool replayed = status == DeadLetterStatus::kReplayed;
    for (auto id : ids) {
      auto u = tx.exec(replayed ? "UPDATE dead_letters SET status = ?,"
                                  " replay_count = replay_count + 1 WHERE id = ?"
                                : "UPDATE dead_letters SET status = ? WHERE id = ?",
                       {std::string(to_string(status)), id});
      if (!u) return u.error();
      auto a = tx.exec(
          "INSERT INTO dead_letter_audit (dead_letter_id, action, actor, at_ms, details)"
          " VALUES (?, ?, ?, ?, ?)",
          {id, audit.action, audit.actor, to_epoch_ms(audit.at), audit.details});
      if (!a) return a.error();
    }
    return {};
  });
}

Result<std::vector<AuditEntry>> SqlDeadLetterStore::audit_trail(std::int64_t id) {
  std::vector<AuditEntry> out;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query(
        "SELECT dead_letter_id, action, actor, at_ms, details FROM dead_letter_audit"
        " WHERE dead_letter_id = ? ORDER BY id",
        {id});
    if (!rows) return rows.error();
    for (const auto& row : *rows) {
      out.push_back(
          {row.integer(0), row.text(1), row.text(2), from_ms(row.integer(3)), row.text(4)});
    }
    return {};
  });
  if (!r) return r.error();
  return out;
}

Result<std::vector<DeadLetterCount>> SqlDeadLetterStore::counts() {
  std::vector<DeadLetterCount> out;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query(
        "SELECT original_topic, consumer_group, status, COUNT(*) FROM dead_letters"
        " GROUP BY original_topic, consumer_group, status");
    if (!rows) return rows.error();
    for (const auto& row : *rows) {
      out.push_back({row.text(0), row.text(1), row.text(2), row.integer(3)});
    }
    return {};
  });
  if (!r) return r.error();
  return out;
}

}  // namespace orderflow::ops
