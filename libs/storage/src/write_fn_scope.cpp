#include "write_fn_scope.h"

namespace orderflow::storage::detail {
namespace {

thread_local const WriteFnScope* tl_innermost = nullptr;

// One name at every depth: SQLite and PostgreSQL release and roll back to the most recent
// savepoint of a name, which is the innermost; a constant text stays in the statement cache.
constexpr std::string_view kSavepoint = "SAVEPOINT orderflow_nested";
constexpr std::string_view kRollbackTo = "ROLLBACK TO SAVEPOINT orderflow_nested";
constexpr std::string_view kRelease = "RELEASE SAVEPOINT orderflow_nested";

}  // namespace

WriteFnScope::WriteFnScope(const void* database, Tx& tx)
    : database_(database), tx_(tx), outer_(tl_innermost) {
  tl_innermost = this;
}

WriteFnScope::~WriteFnScope() { tl_innermost = outer_; }

Tx* WriteFnScope::current(const void* database) {
  for (const WriteFnScope* s = tl_innermost; s != nullptr; s = s->outer_) {
    if (s->database_ == database) return &s->tx_;
  }
  return nullptr;
}

Result<void> run_nested(const void* database, Tx& tx, const Database::TxFn& fn) {
  if (auto r = tx.exec(kSavepoint); !r) return r.error();
  auto undo = [&tx] {
    auto r = tx.exec(kRollbackTo);
    if (r) r = tx.exec(kRelease);
    return r;
  };
  Result<void> result;
  try {
    WriteFnScope scope(database, tx);
    result = fn(tx);
  } catch (...) {
    (void)undo();
    throw;
  }
  if (!result) {
    if (auto undone = undo(); !undone) return undone.error();
    return result;
  }
  if (auto released = tx.exec(kRelease); !released) return released.error();
  return result;
}

}  // namespace orderflow::storage::detail
