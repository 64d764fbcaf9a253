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
  Result<bool> already_processed(const std::string& consumer_group,
                                 const std::string& event_id) override;
  Result<bool> store(const std::string& consumer_group, const std::string& event_id,
                     const std::vector<Notification>& notifications) override;
  Result<NotificationPage> list_by_user(const std::string& user_id, int page, int size) override;

 private:
  storage::Database& db_;
};

}  // namespace orderflow::notification
