#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../domain/order.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/inbox_port.h"

namespace orderflow::order {

/// One page of a user's orders, newest first.
struct OrderPage {
  std::vector<Order> orders;
  std::int64_t total = 0;
  int page = 0;
  int size = 0;
};

/// What a saga step does to an order: the status changes (timeline entries, in order) and the
/// orders.v1 events to emit, one per entry (ORDER_CONFIRMED, …, ORDER_CANCELLED).
struct OrderChange {
  std::vector<TimelineEntry> entries;
  std::string cancel_reason;
  std::string skip_reason;  ///< set when nothing changes
  std::string traceparent;  ///< W3C trace context of the emitted events; empty = a new trace
};

/// Decides the change for the order as currently stored (called inside the transaction).
using OrderDecider = std::function<Result<OrderChange>(const Order&)>;

struct OrderUpdate {
  bool duplicate = false;  ///< the event was already processed by this consumer group
  Order order;             ///< after the change
  OrderChange change;
};

/// Admission control for new orders (backpressure): Ok when one may be accepted now, else the
/// error to answer — kUnavailable "OVERLOADED" (HTTP 503 with Retry-After) when the service is
/// at capacity. Called before anything is written. Must be thread-safe.
using OrderAdmission = std::function<Result<void>()>;

/// An order the saga timeout cancels.
struct StalledOrder {
  std::int64_t id = 0;
  std::string traceparent;  ///< what its ORDER_CREATED carried; "" for an order stored before
                            ///< the trace context was kept (schema version 3)
};

/// The operations of one write transaction of the order service. Valid only inside the
/// function it is passed to.
class OrderTx {
 public:
  virtual ~OrderTx() = default;
  /// Reads order `id` (locked until the end of the transaction), runs `decide`, stores the new
  /// status, the timeline entries and one outbox event per entry (carrying the change's
  /// traceparent). kNotFound ORDER_NOT_FOUND when the order is absent; `decide`'s error is
  /// returned. OrderUpdate::duplicate is false.
  virtual Result<OrderUpdate> update(std::int64_t id, const OrderDecider& decide) = 0;
};

/// Persistence of orders. Implementations are thread-safe. A saga event's change runs through
/// the messaging::InboxPort every service has (process_once: the change in one transaction
/// with the event's inbox entry); a user action or the saga timeout through transact().
class OrderRepository : public messaging::InboxPort<OrderTx> {
 public:
  using TxFn = std::function<Result<void>(OrderTx&)>;
  /// Stores a new order, its items and its ORDER_CREATED event (outbox, with `traceparent`;
  /// empty or invalid = a new trace) in one transaction, and keeps with the order the trace
  /// context ORDER_CREATED carries (stalled() returns it); returns the order with its id.
  /// kUnavailable when the DB is busy.
  virtual Result<Order> create(const Order& order, const std::string& traceparent) = 0;
  /// kNotFound ORDER_NOT_FOUND when absent.
  virtual Result<Order> find(std::int64_t id) = 0;
  /// Runs `fn` in one write transaction without an inbox entry; `fn`'s error rolls it back.
  virtual Result<void> transact(const TxFn& fn) = 0;
  /// Orders in a non-terminal state whose last change is older than `before` (saga timeout),
  /// least recently changed first, at most `limit`.
  virtual Result<std::vector<StalledOrder>> stalled(Clock::TimePoint before, int limit) = 0;
  /// Newest first; `page` from 0.
  virtual Result<OrderPage> list_by_user(const std::string& user_id, int page, int size) = 0;
};

}  // namespace orderflow::order
