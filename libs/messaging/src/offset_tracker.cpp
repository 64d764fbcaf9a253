#include "orderflow/messaging/offset_tracker.h"

#include <algorithm>

namespace orderflow::messaging {

void OffsetTracker::dispatched(std::int64_t offset) {
  pending_.insert(offset);
  highest_dispatched_ = highest_dispatched_ ? std::max(*highest_dispatched_, offset) : offset;
}

void OffsetTracker::finished(std::int64_t offset) { pending_.erase(offset); }

std::optional<std::int64_t> OffsetTracker::committable() const {
  if (!pending_.empty()) return *pending_.begin();
  if (highest_dispatched_) return *highest_dispatched_ + 1;
  return std::nullopt;
}

}  // namespace orderflow::messaging
