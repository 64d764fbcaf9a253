#pragma once

#include <functional>
#include <memory>

#include "orderflow/common/result.h"
#include "orderflow/storage/database.h"

namespace orderflow::messaging {

/// Handles several records in one database transaction (issue 15 "Batches"): the runner runs a
/// worker's ready records inside run(), each under record(), so their inbox rows, effects and
/// outbox rows commit together, one commit (and fsync) per batch instead of per record.
/// Offsets still move only past committed records: the runner settles a batch's records after
/// run() returned ok, and treats them as failed (retryable) when the commit failed.
class BatchTransaction {
 public:
  virtual ~BatchTransaction() = default;
  /// Runs `body` in one write transaction; ok = committed. The handlers' own write() and read()
  /// calls on the database, made inside `body` on the thread it runs on, join it (nested
  /// savepoints, storage::Database::write). `body` may run on another thread than the caller's
  /// (SQLite's group commit), which waits meanwhile.
  virtual Result<void> run(const std::function<void()>& body) = 0;
  /// Inside run()'s body: runs `handle` under a savepoint that is kept when it returns true and
  /// rolled back when it returns false, so a failing record undoes only its own changes.
  /// Returns the savepoint's own error, if any.
  virtual Result<void> record(const std::function<bool()>& handle) = 0;
};

/// A BatchTransaction on `db` (which must outlive it). `after_commit` runs after every
/// committed batch, on the committing thread (e.g. wake the outbox relay: rows a handler
/// appended are visible to it only now). Thread-safe.
std::unique_ptr<BatchTransaction> make_database_batch(storage::Database& db,
                                                      std::function<void()> after_commit = {});

}  // namespace orderflow::messaging
