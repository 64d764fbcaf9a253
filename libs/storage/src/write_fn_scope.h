#pragma once

#include "orderflow/storage/database.h"

namespace orderflow::storage::detail {

/// Marks, for its lifetime, that a write() fn of `database` runs on this thread with `tx`
/// (frames on a thread-local stack, innermost first), so that a write() or read() from inside
/// that fn on the same database runs in that transaction under a savepoint (run_nested)
/// instead of deadlocking (SQLite's group commit) or running in a second transaction that
/// cannot see the first one's changes (PostgreSQL). Marked where fn runs, which need not be
/// its caller's thread (SQLite's group leader).
class WriteFnScope {
 public:
  WriteFnScope(const void* database, Tx& tx);
  ~WriteFnScope();
  WriteFnScope(const WriteFnScope&) = delete;
  WriteFnScope& operator=(const WriteFnScope&) = delete;

  /// The transaction of the innermost write() fn of `database` running on this thread, or null.
  static Tx* current(const void* database);

 private:
  const void* database_;
  Tx& tx_;
  const WriteFnScope* outer_;
};

/// Runs `fn` on `tx` (a write() fn's transaction, from WriteFnScope::current) under a savepoint:
/// released when fn returns ok, rolled back to when it returns an error or throws (rethrown),
/// so a failing nested fn leaves the enclosing transaction as it was. The savepoint's own
/// failure is fn's error.
Result<void> run_nested(const void* database, Tx& tx, const Database::TxFn& fn);

}  // namespace orderflow::storage::detail
