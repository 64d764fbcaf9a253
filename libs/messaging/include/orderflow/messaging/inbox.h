#pragma once

#include <functional>
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
  /// The idempotent-consumer transaction: in one write transaction records (group, eventId)
  /// and, the first time only, runs `fn`. Returns true when `fn` ran and committed, false for a
  /// duplicate (nothing ran). An error from `fn` rolls back the inbox entry too, so the event
  /// can be retried.
  static Result<bool> process(storage::Database& db, std::string_view consumer_group,
                              std::string_view event_id,
                              const std::function<Result<void>(storage::Tx&)>& fn);
};

}  // namespace orderflow::messaging
