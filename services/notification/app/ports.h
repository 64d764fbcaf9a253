#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../domain/notification.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/inbox_port.h"

namespace orderflow::notification {

/// What one send through a channel did.
struct ChannelAttempt {
  /// None: delivered. kUnavailable: a technical failure (5xx, timeout, unreachable), tried
  /// again; any other kind: the channel refused it (4xx), never tried again.
  std::optional<Error> error;
  int http_status = 0;  ///< the channel's HTTP status; 0 when there was none

  static ChannelAttempt delivered(int http_status = 0) { return {std::nullopt, http_status}; }
  static ChannelAttempt failed(Error error, int http_status = 0) {
    return {std::move(error), http_status};
  }
};

/// A delivery channel (seed 004's Notifier interface: log, webhook, discord, slack; Firebase,
/// Kakao, SMS later). Implementations are thread-safe; a send may block for the channel's
/// timeout (it runs on the consumer's hand-off pool, never inside a database transaction).
class Notifier {
 public:
  virtual ~Notifier() = default;
  /// The channel name as configured (notification.channels).
  [[nodiscard]] virtual std::string channel() const = 0;
  virtual ChannelAttempt send(const Notification& notification) = 0;
};

/// The external data platform (seed 004's DataPlatformClient): receives completed orders.
/// Thread-safe. Errors: kUnavailable for a 5xx, a timeout or an unreachable endpoint
/// (retried, then dead-lettered); any other kind for a refusal (4xx), with the response status
/// and body in the message (dead-lettered at once).
class DataPlatformClient {
 public:
  virtual ~DataPlatformClient() = default;
  /// Sends `body` (JSON) with `idempotency_key` (the event's id) so the platform can drop a
  /// repeat, in the trace `traceparent` (W3C; empty = none).
  virtual Result<void> send(const std::string& idempotency_key, const std::string& body,
                            const std::string& traceparent) = 0;
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
  /// In one write (which joins a consumer batch's transaction when called inside it): stores
  /// `notification` unless one exists for its (sourceEventId, userId), adds a PENDING delivery
  /// for each of `channels` it lacks, and returns the stored notification (id set) with all its
  /// deliveries. Errors: kUnavailable (database busy or unreachable).
  virtual Result<Notification> store_pending(const Notification& notification,
                                             const std::vector<std::string>& channels) = 0;
  /// Records one attempt's outcome (status, attempts, last error, HTTP status, time) of the
  /// delivery (notification_id, delivery.channel), in a short write of its own.
  virtual Result<void> record_delivery(std::int64_t notification_id, const Delivery& delivery) = 0;
  /// Newest first.
  virtual Result<NotificationPage> list_by_user(const std::string& user_id, int page, int size) = 0;
};

}  // namespace orderflow::notification
