#pragma once

#include <cstdint>
#include <string>

#include "orderflow/messaging/idempotency_store.h"
#include "ports.h"

namespace orderflow::notification {

/// An ORDER_COMPLETED as the data platform receives it.
struct CompletedOrder {
  std::string event_id;  ///< also the Idempotency-Key
  std::int64_t order_id = 0;
  std::string user_id;       ///< empty when the event had none
  std::string total_amount;  ///< decimal text; empty when absent
  std::string currency;      ///< empty when absent
  std::string completed_at;  ///< the event's timestamp (ISO-8601 UTC)
  /// W3C traceparent of the send: a child span of the record's (or a new trace); sent as the
  /// `traceparent` header, empty = none. Not part of the body.
  std::string traceparent;
};

enum class SinkOutcome { kSent, kDuplicate };

/// Seed 004's DataPlatformClient use case: every completed order to the external data platform,
/// once per event (check the idempotency store, send, then mark). Runs in its own consumer group
/// (data-platform-sink) so a slow or failing platform never delays notifications. Thread-safe.
class SinkService {
 public:
  /// All must outlive the service.
  SinkService(DataPlatformClient& client, messaging::IdempotencyStore& store,
              std::string consumer_group)
      : client_(client), store_(store), consumer_group_(std::move(consumer_group)) {}

  /// kDuplicate when the store has the event; else sends it (with order.traceparent) and marks
  /// it. Errors: the client's
  /// (kUnavailable: retry then dead-letter; another kind: dead-letter at once) or the store's
  /// (kUnavailable). A crash or a failed mark after a successful send sends it again on
  /// redelivery: the platform sees the same Idempotency-Key twice.
  Result<SinkOutcome> handle(const CompletedOrder& order);

  /// The JSON body sent: {"eventId", "eventType": "ORDER_COMPLETED", "orderId", "userId",
  /// "totalAmount", "currency", "completedAt"} (absent values as null). Pure.
  static std::string body(const CompletedOrder& order);

  [[nodiscard]] const std::string& consumer_group() const { return consumer_group_; }

 private:
  DataPlatformClient& client_;
  messaging::IdempotencyStore& store_;
  std::string consumer_group_;
};

}  // namespace orderflow::notification
