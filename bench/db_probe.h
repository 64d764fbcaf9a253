#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace orderflow::bench {

struct DbBaselineResult {
  double commits_per_s = 0;
  std::int64_t commits = 0;
  std::string synchronous;
};

/// Raw SQLite commit rate with the services' durability settings (WAL, synchronous FULL or
/// NORMAL) and the transaction shape of POST /api/orders: BEGIN IMMEDIATE, INSERT orders …
/// RETURNING id, INSERT order_items, INSERT outbox (600-byte value), COMMIT — one thread,
/// prepared statements, nothing else. `path` must not exist. Throws std::runtime_error on a
/// SQLite error.
DbBaselineResult run_db_baseline(const std::string& path, const std::string& synchronous,
                                 std::chrono::milliseconds duration);

nlohmann::json to_json(const DbBaselineResult& r);

}  // namespace orderflow::bench
