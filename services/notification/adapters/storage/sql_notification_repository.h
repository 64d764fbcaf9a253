#pragma once

#include <span>

#include "../../app/ports.h"
#include "orderflow/storage/database.h"

namespace orderflow::notification {

/// Schema of the notification service (component "notification").
std::span<const storage::Migration> notification_migrations();

/// NotificationRepository on storage::Database; the inbox is messaging::Inbox. Thread-safe.
class SqlNotificationRepository final : public NotificationRepository {
 public:
  explicit SqlNotificationRepository(storage::Database& db) : db_(db) {}
  Result<bool> already_processed(std::string_view consumer_group,
                                 std::string_view event_id) override;
  Result<bool> process_once(std::string_view consumer_group, std::string_view event_id,
                            const Effect& effect) override;
  Result<NotificationPage> list_by_user(const std::string& user_id, int page, int size) override;
  Result<Notification> store_pending(const Notification& notification,
                                     const std::vector<std::string>& channels) override;
  Result<void> record_delivery(std::int64_t notification_id, const Delivery& delivery) override;

 private:
  storage::Database& db_;
};

}  // namespace orderflow::notification
