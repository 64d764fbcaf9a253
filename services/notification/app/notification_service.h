#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "orderflow/common/clock.h"
#include "orderflow/messaging/idempotency_store.h"
#include "ports.h"

namespace orderflow::notification {

/// What happened to one incoming event.
enum class HandleOutcome {
  kNotified,     ///< every channel delivered
  kDuplicate,    ///< already done (idempotency store)
  kNotNotified,  ///< no template for its type: nothing to send
  kRejected,     ///< done, but a channel refused it (4xx): stored REJECTED, not sent again
};

/// Notification use cases (seeds 000, 001, 004). Thread-safe.
///
/// One notification per (event, user), delivered through every configured channel with a
/// delivery record per channel. Handling has two parts so that no channel call runs inside the
/// consumer's database transaction: prepare() stores the notification with PENDING deliveries
/// (in the transaction), deliver() calls the channels afterwards (on the consumer's hand-off
/// pool) and records each attempt in a short write of its own.
class NotificationService {
 public:
  /// `store` decides duplicates (check, act, mark: messaging/idempotency_store.h); all must
  /// outlive the service.
  NotificationService(NotificationRepository& repository, Templates templates,
                      std::vector<Notifier*> notifiers, const Clock& clock,
                      std::string consumer_group, messaging::IdempotencyStore& store)
      : repository_(repository),
        templates_(std::move(templates)),
        notifiers_(std::move(notifiers)),
        clock_(clock),
        consumer_group_(std::move(consumer_group)),
        store_(store) {}

  /// The database part: renders the template and stores the notification with a PENDING
  /// delivery per channel (idempotent: an existing one is returned with its deliveries as they
  /// are). nullopt when the event type has no template (nothing to deliver). kInvalidInput
  /// MISSING_USER when a notified event has no userId; kUnavailable from the database.
  Result<std::optional<Notification>> prepare(const IncomingEvent& event);

  /// The channel part, for `stored` from prepare(): kDuplicate when the store has the event;
  /// else sends through every channel whose delivery is not final (DELIVERED or REJECTED), so a
  /// retry re-sends only the channels that failed, and records each attempt. When every
  /// channel is final the event is marked in the store: kNotified, or kRejected when a channel
  /// refused it. A technical failure of any channel (or of the store) is returned as its
  /// kUnavailable error after the other channels were tried: the consumer retries, then
  /// dead-letters the event.
  Result<HandleOutcome> deliver(const IncomingEvent& event, Notification stored);

  /// prepare() and deliver() in a row (callers without a hand-off pool: tools, tests).
  Result<HandleOutcome> handle(const IncomingEvent& event);

  Result<NotificationPage> list(const std::string& user_id, int page, int size);

  [[nodiscard]] const std::string& consumer_group() const { return consumer_group_; }

 private:
  NotificationRepository& repository_;
  Templates templates_;
  std::vector<Notifier*> notifiers_;
  const Clock& clock_;
  std::string consumer_group_;
  messaging::IdempotencyStore& store_;
};

}  // namespace orderflow::notification
