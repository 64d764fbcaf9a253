#pragma once

#include <functional>
#include <span>
#include <string_view>

#include "orderflow/common/result.h"
#include "orderflow/storage/database.h"

namespace orderflow::messaging {

/// Runs `fn(storage::Tx&, T&)` in one write transaction of `db`, where T = `wrap(tx)` is a
/// storage adapter's transaction port over the storage transaction (e.g. SqlInventoryTx) that
/// tells by `bool published() const` whether it appended an event to the outbox. After a commit
/// that did, calls `on_commit` (when set) to wake the outbox relay. Returns `fn`'s error (all
/// rolled back) or the database's.
template <typename Fn, typename Wrap>
Result<void> write_wrapped(storage::Database& db, Wrap wrap, const Fn& fn,
                           const std::function<void()>& on_commit) {
  bool published = false;
  auto done = db.write([&](storage::Tx& tx) -> Result<void> {
    auto service_tx = wrap(tx);
    auto r = fn(tx, service_tx);
    published = service_tx.published();
    return r;
  });
  if (!done) return done.error();
  if (published && on_commit) on_commit();
  return {};
}

/// Idempotent consumer: table processed_events(consumer_group, event_id, processed_at),
/// primary key (consumer_group, event_id). (ARCHITECTURE.md "Consuming", seeds 000/004.) The
/// storage side of InboxPort (inbox_port.h): process() implements process_once, contains()
/// already_processed.
class Inbox {
 public:
  /// Schema steps; run with storage::migrate(db, "inbox", Inbox::migrations()).
  static std::span<const storage::Migration> migrations();
  /// Records (group, eventId) inside the handler's transaction. Returns true the first time,
  /// false when the event was already processed by this group (the handler then does nothing
  /// and reports kDuplicate).
  static Result<bool> record(storage::Tx& tx, std::string_view consumer_group,
                             std::string_view event_id);
  /// The idempotent-consumer transaction (InboxPort::process_once of a storage adapter): in one
  /// write transaction records (group, eventId) and, the first time only, runs `effect` on the
  /// adapter's transaction port `wrap(tx)` (see write_wrapped, which also wakes the relay
  /// through `on_commit`). Returns true when `effect` ran and committed, false for a duplicate
  /// (nothing ran). An error from `effect` rolls back the inbox entry too, so the event can be
  /// retried.
  template <typename Effect, typename Wrap>
  static Result<bool> process(storage::Database& db, std::string_view consumer_group,
                              std::string_view event_id, const Effect& effect, Wrap wrap,
                              const std::function<void()>& on_commit) {
    bool first = false;
    auto done = write_wrapped(
        db, wrap,
        [&](storage::Tx& tx, auto& service_tx) -> Result<void> {
          auto recorded = record(tx, consumer_group, event_id);
          if (!recorded) return recorded.error();
          first = recorded.value();
          if (!first) return {};
          return effect(service_tx);
        },
        on_commit);
    if (!done) return done.error();
    return first;
  }
  /// True when (group, eventId) is recorded; a read transaction of its own.
  static Result<bool> contains(storage::Database& db, std::string_view consumer_group,
                               std::string_view event_id);
};

}  // namespace orderflow::messaging
