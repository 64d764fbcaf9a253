#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "orderflow/common/result.h"
#include "orderflow/storage/database.h"

namespace orderflow::messaging {

/// One key parked by a consumer group (docs/dlq.md "Parking").
struct ParkedKey {
  std::string topic;
  std::string key;
  std::int64_t dead_letters = 0;  ///< dead letters of the key this group parked, ≥ 1
};

/// Persistent parked-key state per (group, topic, key), table parked_keys(consumer_group,
/// topic, record_key, parked_at, dead_letters). Implementations must be thread-safe; the
/// runner calls them from its worker threads. Errors are storage errors (kUnavailable when
/// the database is busy); the runner logs them and keeps its in-memory state.
class ParkedKeyStore {
 public:
  virtual ~ParkedKeyStore() = default;
  /// Adds one dead letter to (group, topic, key), parking the key when it was not parked.
  virtual Result<void> park(std::string_view group, std::string_view topic,
                            std::string_view key) = 0;
  /// Dead letters parked for the key; 0 = not parked.
  virtual Result<std::int64_t> count(std::string_view group, std::string_view topic,
                                     std::string_view key) = 0;
  /// Forgets the key (no-op when it was not parked).
  virtual Result<void> unpark(std::string_view group, std::string_view topic,
                              std::string_view key) = 0;
  /// Every key parked by `group`.
  virtual Result<std::vector<ParkedKey>> load(std::string_view group) = 0;
};

/// Schema of the parked-key table; run with
/// storage::migrate(db, "parked_keys", parked_key_migrations()).
std::span<const storage::Migration> parked_key_migrations();

/// A ParkedKeyStore on `db` (which must outlive it and be migrated). Thread-safe.
std::unique_ptr<ParkedKeyStore> make_parked_key_store(storage::Database& db);

/// A ParkedKeyStore in memory: parked keys are lost when it is destroyed (a consumer without a
/// database, e.g. ops-service's, or a test). Thread-safe; never fails.
std::unique_ptr<ParkedKeyStore> make_memory_parked_key_store();

}  // namespace orderflow::messaging
