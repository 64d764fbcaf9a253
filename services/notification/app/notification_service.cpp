#include "notification_service.h"

#include <algorithm>

namespace orderflow::notification {

Result<HandleOutcome> NotificationService::handle(const IncomingEvent& event) {
  // Checked before delivering so a redelivered event is not sent to the user again.
  auto seen = repository_.already_processed(consumer_group_, event.event_id);
  if (!seen) return seen.error();
  if (seen.value()) return HandleOutcome::kDuplicate;

  auto message = templates_.render(event);
  std::vector<Notification> notifications;
  if (message) {
    if (event.user_id.empty()) {
      return invalid_input("MISSING_USER", "event " + event.event_id + " has no userId");
    }
    Notification n;
    n.user_id = event.user_id;
    n.type = event.event_type;
    n.message = *message;
    n.order_id = event.order_id;
    n.source_event_id = event.event_id;
    n.created_at = clock_.now();
    // Delivered before the transaction so the DB write lock is never held across a channel
    // call; a crash in between re-sends on redelivery (at-least-once per channel).
    for (auto* notifier : notifiers_) {
      auto sent = notifier->send(n);
      if (!sent) return sent.error();
      n.deliveries.push_back({notifier->channel(), "DELIVERED", clock_.now()});
    }
    notifications.push_back(std::move(n));
  }
  auto stored = repository_.process_once(consumer_group_, event.event_id, [&](NotificationTx& tx) {
    for (const auto& n : notifications) {
      if (auto added = tx.add(n); !added) return added;
    }
    return Result<void>{};
  });
  if (!stored) return stored.error();
  if (!stored.value()) return HandleOutcome::kDuplicate;
  return message ? HandleOutcome::kNotified : HandleOutcome::kNotNotified;
}

Result<NotificationPage> NotificationService::list(const std::string& user_id, int page, int size) {
  if (user_id.empty()) return invalid_input("MISSING_USER", "userId is required");
  return repository_.list_by_user(user_id, page, std::clamp(size, 1, 100));
}

}  // namespace orderflow::notification
