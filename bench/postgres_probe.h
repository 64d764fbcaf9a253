#pragma once

#include <chrono>
#include <string>

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

}  // namespace orderflow::bench
