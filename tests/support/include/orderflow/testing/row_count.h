#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "orderflow/storage/database.h"

namespace orderflow::testing {

/// Rows in `table` of `db`; -1 and a test failure naming the error when the read fails.
inline std::int64_t row_count(storage::Database& db, const std::string& table) {
  std::int64_t n = -1;
  auto r = db.read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query("SELECT COUNT(*) FROM " + table);
    if (!rows) return rows.error();
    n = rows->front().integer(0);
    return {};
  });
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return n;
}

/// The integer in the first column of the first row of `sql` on `db` (e.g. a COUNT(*)); -1 and
/// a test failure naming the error when the read fails.
inline std::int64_t scalar(storage::Database& db, const std::string& sql,
                           const std::vector<storage::Value>& params = {}) {
  std::int64_t n = -1;
  auto r = db.read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query(sql, params);
    if (!rows) return rows.error();
    n = rows->front().integer(0);
    return {};
  });
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return n;
}

}  // namespace orderflow::testing
