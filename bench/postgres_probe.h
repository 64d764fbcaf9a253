#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "db_probe.h"

namespace orderflow::bench {

/// Raw PostgreSQL commit rate with the transaction shape of POST /api/orders, as
/// run_db_baseline() measures SQLite's: BEGIN, INSERT orders … RETURNING id, INSERT order_items,
/// INSERT outbox (600-byte value), COMMIT with synchronous_commit on (durable: the commit
/// waits for the WAL flush) — `connections` threads, one libpq connection each, prepared
/// statements, nothing else, for `duration`. `conninfo` names an empty database the probe may
/// fill (a libpq URI, password included or in PGPASSWORD). Throws std::runtime_error on a
/// PostgreSQL error.
DbBaselineResult run_postgres_baseline(const std::string& conninfo, int connections,
                                       std::chrono::milliseconds duration);

/// The values of `names` (SHOW name: e.g. server_version, fsync, synchronous_commit,
/// shared_buffers) on the server at `conninfo`. Throws std::runtime_error when the connection
/// or a SHOW fails.
std::map<std::string, std::string> postgres_settings(const std::string& conninfo,
                                                     const std::vector<std::string>& names);

}  // namespace orderflow::bench
