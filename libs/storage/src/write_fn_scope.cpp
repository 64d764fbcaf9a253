#include "write_fn_scope.h"

namespace orderflow::storage::detail {
namespace {

thread_local const WriteFnScope* tl_innermost = nullptr;

}  // namespace

WriteFnScope::WriteFnScope(const void* database) : database_(database), outer_(tl_innermost) {
  tl_innermost = this;
}

WriteFnScope::~WriteFnScope() { tl_innermost = outer_; }

bool WriteFnScope::inside(const void* database) {
  for (const WriteFnScope* s = tl_innermost; s != nullptr; s = s->outer_) {
    if (s->database_ == database) return true;
  }
  return false;
}

}  // namespace orderflow::storage::detail
