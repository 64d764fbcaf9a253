#pragma once

#include <string>
#include <vector>

#include "../domain/notification.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/inbox_port.h"

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

/// The write of one handled event, inside the transaction of
/// NotificationRepository::process_once. Valid only inside the effect it is passed to.
class NotificationTx {
 public:
  virtual ~NotificationTx() = default;
  /// Stores `notification` with its deliveries; one that exists for the same (sourceEventId,
  /// userId), e.g. stored by another consumer group, is not stored twice.
  virtual Result<void> add(const Notification& notification) = 0;
};

/// Persistence of notifications and of the consumer inbox (the messaging::InboxPort every
/// service has). Thread-safe.
class NotificationRepository : public messaging::InboxPort<NotificationTx> {
 public:
  /// Newest first.
  virtual Result<NotificationPage> list_by_user(const std::string& user_id, int page, int size) = 0;
};

}  // namespace orderflow::notification
