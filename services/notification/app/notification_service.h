#pragma once

#include <memory>
#include <string>
#include <vector>

#include "orderflow/common/clock.h"
#include "ports.h"

namespace orderflow::notification {

/// What happened to one incoming event.
enum class HandleOutcome { kNotified, kDuplicate, kNotNotified };

/// Notification use cases (seeds 000, 001, 004). Thread-safe.
class NotificationService {
 public:
  NotificationService(NotificationRepository& repository, Templates templates,
                      std::vector<Notifier*> notifiers, const Clock& clock,
                      std::string consumer_group)
      : repository_(repository),
        templates_(std::move(templates)),
        notifiers_(std::move(notifiers)),
        clock_(clock),
        consumer_group_(std::move(consumer_group)) {}

  /// One notification per (event, user): renders the template, delivers through every
  /// channel, then stores notification + deliveries + inbox entry in one transaction.
  /// A redelivered event creates nothing new (kDuplicate). An event type without a template is
  /// recorded in the inbox and kNotNotified. A channel failure is returned (kUnavailable: the
  /// consumer retries; nothing was stored). kInvalidInput when the event has no userId.
  Result<HandleOutcome> handle(const IncomingEvent& event);

  Result<NotificationPage> list(const std::string& user_id, int page, int size);

 private:
  NotificationRepository& repository_;
  Templates templates_;
  std::vector<Notifier*> notifiers_;
  const Clock& clock_;
  std::string consumer_group_;
};

}  // namespace orderflow::notification
