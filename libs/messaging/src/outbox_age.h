#pragma once

#include <optional>

#include "orderflow/common/clock.h"
#include "orderflow/common/result.h"

namespace orderflow::messaging {

/// What the database outbox store (make_outbox_store) offers the relay besides OutboxStore:
/// when the oldest unsent row was appended, for orderflow_outbox_oldest_unsent_age_seconds.
/// Kept out of the public OutboxStore so that substitute stores need not implement it (the
/// relay then reports no age).
class OutboxAge {
 public:
  virtual ~OutboxAge() = default;
  /// created_at of the oldest row not yet sent; nullopt when none waits. The store's errors
  /// (kUnavailable when the database is).
  virtual Result<std::optional<Clock::TimePoint>> oldest_unsent_created() = 0;
};

}  // namespace orderflow::messaging
