#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "orderflow/common/clock.h"
#include "orderflow/messaging/parked_key_store.h"

namespace orderflow::messaging {

std::span<const storage::Migration> parked_key_migrations() {
  static const std::vector<storage::Migration> kMigrations = {
      {.version = 1,
       .name = "create_parked_keys",
       .sql = "CREATE TABLE parked_keys("
              "consumer_group TEXT NOT NULL, topic TEXT NOT NULL, record_key TEXT NOT NULL, "
              "parked_at TEXT NOT NULL, dead_letters INTEGER NOT NULL, "
              "PRIMARY KEY(consumer_group, topic, record_key))",
       .postgres_sql = {}},
  };
  return kMigrations;
}

namespace {

class SqlParkedKeyStore final : public ParkedKeyStore {
 public:
  explicit SqlParkedKeyStore(storage::Database& db) : db_(db) {}

  Result<void> park(std::string_view group, std::string_view topic, std::string_view key) override {
    return db_.write([&](storage::Tx& tx) -> Result<void> {
      auto changed = tx.exec(
          "INSERT INTO parked_keys(consumer_group, topic, record_key, parked_at, dead_letters) "
          "VALUES (?, ?, ?, ?, 1) ON CONFLICT(consumer_group, topic, record_key) "
          "DO UPDATE SET dead_letters = parked_keys.dead_letters + 1",
          {std::string(group), std::string(topic), std::string(key),
           format_iso8601(std::chrono::system_clock::now())});
      if (!changed) return changed.error();
      return {};
    });
  }

  Result<std::int64_t> count(std::string_view group, std::string_view topic,
                             std::string_view key) override {
    std::int64_t n = 0;
    auto done = db_.read([&](storage::Tx& tx) -> Result<void> {
      auto rows = tx.query(
          "SELECT dead_letters FROM parked_keys WHERE consumer_group = ? AND topic = ? AND "
          "record_key = ?",
          {std::string(group), std::string(topic), std::string(key)});
      if (!rows) return rows.error();
      if (!rows->empty()) n = rows->front().integer(0);
      return {};
    });
    if (!done) return done.error();
    return n;
  }

  Result<void> unpark(std::string_view group, std::string_view topic,
                      std::string_view key) override {
    return db_.write([&](storage::Tx& tx) -> Result<void> {
      auto changed = tx.exec(
          "DELETE FROM parked_keys WHERE consumer_group = ? AND topic = ? AND record_key = ?",
          {std::string(group), std::string(topic), std::string(key)});
      if (!changed) return changed.error();
      return {};
    });
  }

  Result<std::vector<ParkedKey>> load(std::string_view group) override {
    std::vector<ParkedKey> out;
    auto done = db_.read([&](storage::Tx& tx) -> Result<void> {
      auto rows = tx.query(
          "SELECT topic, record_key, dead_letters FROM parked_keys WHERE consumer_group = ? "
          "ORDER BY topic, record_key",
          {std::string(group)});
      if (!rows) return rows.error();
      for (const auto& row : *rows) out.push_back({row.text(0), row.text(1), row.integer(2)});
      return {};
    });
    if (!done) return done.error();
    return out;
  }

 private:
  storage::Database& db_;
};

class MemoryParkedKeyStore final : public ParkedKeyStore {
 public:
  Result<void> park(std::string_view group, std::string_view topic, std::string_view key) override {
    std::lock_guard lock(mutex_);
    ++parked_[{std::string(group), std::string(topic), std::string(key)}];
    return {};
  }

  Result<std::int64_t> count(std::string_view group, std::string_view topic,
                             std::string_view key) override {
    std::lock_guard lock(mutex_);
    auto it = parked_.find({std::string(group), std::string(topic), std::string(key)});
    return it == parked_.end() ? 0 : it->second;
  }

  Result<void> unpark(std::string_view group, std::string_view topic,
                      std::string_view key) override {
    std::lock_guard lock(mutex_);
    parked_.erase({std::string(group), std::string(topic), std::string(key)});
    return {};
  }

  Result<std::vector<ParkedKey>> load(std::string_view group) override {
    std::lock_guard lock(mutex_);
    std::vector<ParkedKey> out;
    for (const auto& [id, n] : parked_) {
      if (std::get<0>(id) == group) out.push_back({std::get<1>(id), std::get<2>(id), n});
    }
    return out;
  }

 private:
  std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> parked_;
};

}  // namespace

std::unique_ptr<ParkedKeyStore> make_parked_key_store(storage::Database& db) {
  return std::make_unique<SqlParkedKeyStore>(db);
}

std::unique_ptr<ParkedKeyStore> make_memory_parked_key_store() {
  return std::make_unique<MemoryParkedKeyStore>();
}

}  // namespace orderflow::messaging
