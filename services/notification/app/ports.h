#pragma once

#include <string>
#include <vector>

#include "../domain/notification.h"
#include "orderflow/common/result.h"

namespace orderflow::notification {

/// A delivery channel (seed 004's Notifier interface: log today; email, SMS, push later).
/// Implementations are thread-safe. Errors: kUnavailable when the channel failed (retried).
class Notifier {
 public:
  virtual ~Notifier() = default;
  [[nodiscard]] virtual std::string channel() const = 0;
  virtual Result<void> send(const Notification& notification) = 0;
};

struct NotificationPage {
  std::vector<Notification> items;
  std::int64_t total = 0;
  int page = 0;
  int size = 0;
};

/// Persistence of notifications and of the consumer inbox. Thread-safe.
class NotificationRepository {
 public:
  virtual ~NotificationRepository() = default;
  /// True when (group, eventId) is already in the inbox.
  virtual Result<bool> already_processed(const std::string& consumer_group,
                                         const std::string& event_id) = 0;
  /// In one transaction: records (group, eventId) in the inbox and stores the notifications
  /// (with their deliveries). Returns false, storing nothing, when the event was already
  /// processed. A notification for an existing (sourceEventId, userId) is not stored twice.
  virtual Result<bool> store(const std::string& consumer_group, const std::string& event_id,
                             const std::vector<Notification>& notifications) = 0;
  /// Newest first.
  virtual Result<NotificationPage> list_by_user(const std::string& user_id, int page, int size) = 0;
};

}  // namespace orderflow::notification
