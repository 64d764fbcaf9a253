#pragma once

#include <span>
#include <string_view>

#include "orderflow/common/result.h"
#include "orderflow/storage/database.h"

namespace orderflow::messaging {

/// Idempotent consumer: table processed_events(consumer_group, event_id, processed_at),
/// primary key (consumer_group, event_id). (ARCHITECTURE.md "Consuming", seeds 000/004.)
class Inbox {
 public:
  /// Schema steps; run with storage::migrate(db, "inbox", Inbox::migrations()).
  static std::span<const storage::Migration> migrations();
  /// Records (group, eventId) inside the handler's transaction. Returns true the first time,
  /// false when the event was already processed by this group (the handler then does nothing
  /// and reports kDuplicate).
  static Result<bool> record(storage::Tx& tx, std::string_view consumer_group,
                             std::string_view event_id);
};

}  // namespace orderflow::messaging
