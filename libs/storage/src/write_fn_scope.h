#pragma once

namespace orderflow::storage::detail {

/// Marks, for its lifetime, that a write() fn of `database` runs on this thread (frames on a
/// thread-local stack, innermost first), so that a write() from inside that fn on the same
/// database is refused (DB_NESTED_WRITE) instead of deadlocking (SQLite's group commit) or
/// running in a second transaction that cannot see the first one's changes (PostgreSQL).
/// Marked where fn runs, which need not be its caller's thread (SQLite's group leader).
class WriteFnScope {
 public:
  explicit WriteFnScope(const void* database);
  ~WriteFnScope();
  WriteFnScope(const WriteFnScope&) = delete;
  WriteFnScope& operator=(const WriteFnScope&) = delete;

  /// Whether a write() fn of `database` runs on this thread.
  static bool inside(const void* database);

 private:
  const void* database_;
  const WriteFnScope* outer_;
};

}  // namespace orderflow::storage::detail
