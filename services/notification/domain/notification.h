#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "orderflow/common/clock.h"
#include "orderflow/common/result.h"

namespace orderflow::notification {

/// Delivery states of one notification on one channel.
namespace delivery_status {
inline constexpr const char* kPending = "PENDING";  ///< stored, not yet attempted
inline constexpr const char* kDelivered =
    "DELIVERED";  ///< the channel accepted it (never sent again)
/// The last attempt failed for a technical reason (5xx, timeout): sent again on the next attempt
/// of the event (a retry, or a replay of its dead letter).
inline constexpr const char* kFailed = "FAILED";
/// The channel refused it (4xx): kept as it is, never sent again.
inline constexpr const char* kRejected = "REJECTED";
}  // namespace delivery_status

/// Delivery of one notification through one channel (seed 004's Notifier channels).
struct Delivery {
  std::string channel;
  std::string status;             ///< delivery_status::k*
  Clock::TimePoint delivered_at;  ///< when it was stored or last attempted
  int attempts = 0;
  std::string last_error;  ///< the last failed attempt's error ("" when none)
  int http_status = 0;     ///< the last attempt's HTTP status (0: none, e.g. the log channel)

  /// True when no further attempt is made (DELIVERED or REJECTED).
  [[nodiscard]] bool final() const {
    return status == delivery_status::kDelivered || status == delivery_status::kRejected;
  }
};

/// A notification shown to a user (seed 001: userId, type, message, createdAt).
struct Notification {
  std::int64_t id = 0;
  std::string user_id;
  std::string type;  ///< the event type that caused it, e.g. ORDER_CREATED
  std::string message;
  std::int64_t order_id = 0;
  std::string source_event_id;  ///< eventId of the source event; unique per user
  Clock::TimePoint created_at;
  std::vector<Delivery> deliveries;
  /// W3C traceparent of this delivery attempt: a child span of the source event's (set before
  /// the channels are called, not stored). The log channel's line carries its trace_id, the HTTP
  /// channels send it as the `traceparent` header; empty = none.
  std::string traceparent;
};

/// What the notification service needs of an incoming event (decoded by the Kafka adapter).
struct IncomingEvent {
  std::string event_id;
  std::string event_type;
  std::int64_t order_id = 0;
  std::string user_id;
  /// Template variables: orderId, userId, totalAmount, currency, reason, amount, …
  std::map<std::string, std::string> fields;
  /// W3C traceparent of the work done for it: a child span of the record's (or a new trace).
  std::string traceparent;
};

/// Message templates per event type for one locale. `{name}` placeholders are replaced by
/// event fields; an unknown placeholder stays as written. Immutable; thread-safe.
class Templates {
 public:
  Templates() = default;
  explicit Templates(std::map<std::string, std::string> by_event_type)
      : by_event_type_(std::move(by_event_type)) {}
  /// nullopt when there is no template for the event type (the event is not notified).
  [[nodiscard]] std::optional<std::string> render(const IncomingEvent& event) const;
  [[nodiscard]] bool has(const std::string& event_type) const {
    return by_event_type_.count(event_type) != 0;
  }

 private:
  std::map<std::string, std::string> by_event_type_;
};

/// Replaces `{name}` in `text` by vars[name]. Pure.
std::string render_template(const std::string& text,
                            const std::map<std::string, std::string>& vars);

}  // namespace orderflow::notification
