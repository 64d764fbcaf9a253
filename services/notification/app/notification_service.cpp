#include "notification_service.h"

#include <algorithm>

namespace orderflow::notification {

Result<std::optional<Notification>> NotificationService::prepare(const IncomingEvent& event) {
  auto message = templates_.render(event);
  if (!message) return std::optional<Notification>{};
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
  std::vector<std::string> channels;
  for (auto* notifier : notifiers_) channels.push_back(notifier->channel());
  auto stored = repository_.store_pending(n, channels);
  if (!stored) return stored.error();
  return std::optional<Notification>(std::move(stored.value()));
}

Result<HandleOutcome> NotificationService::deliver(const IncomingEvent& event,
                                                   Notification stored) {
  // Checked before sending so a redelivered event is not sent to the user again.
  auto seen = store_.seen(consumer_group_, event.event_id);
  if (!seen) return seen.error();
  if (seen.value()) return HandleOutcome::kDuplicate;

  stored.traceparent = event.traceparent;
  std::optional<Error> technical;
  bool rejected = false;
  for (auto* notifier : notifiers_) {
    auto channel = notifier->channel();
    auto it = std::find_if(stored.deliveries.begin(), stored.deliveries.end(),
                           [&](const Delivery& d) { return d.channel == channel; });
    if (it == stored.deliveries.end()) {
      return internal_error("NO_DELIVERY", "notification " + std::to_string(stored.id) +
                                               " has no delivery for channel " + channel);
    }
    Delivery& d = *it;
    if (d.final()) {
      rejected = rejected || d.status == delivery_status::kRejected;
      continue;
    }
    auto attempt = notifier->send(stored);
    ++d.attempts;
    d.http_status = attempt.http_status;
    d.delivered_at = clock_.now();
    if (!attempt.error) {
      d.status = delivery_status::kDelivered;
      d.last_error.clear();
    } else {
      d.status = attempt.error->retryable() ? delivery_status::kFailed : delivery_status::kRejected;
      d.last_error = attempt.error->code + ": " + attempt.error->message;
      if (attempt.error->retryable()) {
        if (!technical) technical = attempt.error;
      } else {
        rejected = true;
      }
    }
    // Recorded at once: a later failure (or a crash) must not make a delivered channel send
    // again.
    if (auto recorded = repository_.record_delivery(stored.id, d); !recorded) {
      return recorded.error();
    }
  }
  if (technical) return *technical;
  if (auto marked = store_.mark(consumer_group_, event.event_id); !marked) return marked.error();
  return rejected ? HandleOutcome::kRejected : HandleOutcome::kNotified;
}

Result<HandleOutcome> NotificationService::handle(const IncomingEvent& event) {
  auto prepared = prepare(event);
  if (!prepared) return prepared.error();
  if (!prepared->has_value()) return HandleOutcome::kNotNotified;
  return deliver(event, std::move(**prepared));
}

Result<NotificationPage> NotificationService::list(const std::string& user_id, int page, int size) {
  if (user_id.empty()) return invalid_input("MISSING_USER", "userId is required");
  return repository_.list_by_user(user_id, page, std::clamp(size, 1, 100));
}

}  // namespace orderflow::notification
