#pragma once

#include <cstdint>
#include <optional>
#include <set>

namespace orderflow::messaging {

/// Per-partition bookkeeping for out-of-order completion: records are dispatched in offset
/// order and may finish in any order (different keys, different workers); the committable
/// offset is the lowest offset not yet finished (or one past the last dispatched). Not
/// thread-safe: the owner locks.
class OffsetTracker {
 public:
  void dispatched(std::int64_t offset);
  void finished(std::int64_t offset);
  /// The offset to commit (next record to read), or nullopt when nothing was dispatched.
  [[nodiscard]] std::optional<std::int64_t> committable() const;
  [[nodiscard]] std::size_t in_flight() const { return pending_.size(); }

 private:
  std::set<std::int64_t> pending_;
  std::optional<std::int64_t> highest_dispatched_;
};

}  // namespace orderflow::messaging
