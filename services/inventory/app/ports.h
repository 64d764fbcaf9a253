#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../domain/inventory.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/decimal.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/inbox_port.h"

namespace orderflow::inventory {

/// An event the inventory emits (inventory.v1, docs/events.md). Which fields are written
/// depends on `type`: STOCK_RESERVED carries userId, totalAmount, currency, items, expiresAt;
/// STOCK_REJECTED reason and sku; STOCK_DEDUCTED items; STOCK_RELEASED reason and items;
/// STOCK_DEDUCTION_FAILED reason.
struct StockEvent {
  std::string type;  ///< events::kStockReserved, …
  std::int64_t order_id = 0;
  std::string user_id;
  std::string reason;
  std::string sku;
  Decimal total_amount;
  std::string currency;
  std::vector<ReservationItem> items;
  Clock::TimePoint expires_at;
  Clock::TimePoint timestamp;  ///< when the inventory decided
  std::string traceparent;     ///< W3C trace context it carries; empty starts a new trace
};

/// A RESERVED reservation whose hold has ended (the expiry scheduler releases it).
struct DueReservation {
  std::int64_t order_id = 0;
  std::string traceparent;  ///< what its STOCK_RESERVED carried; "" for a reservation stored
                            ///< before the trace context was kept (schema version 3)
};

/// The operations of one write transaction. Not thread-safe; valid only inside the callback
/// it is passed to. Errors: kUnavailable (busy, or a concurrent change: retry), kInternal.
class InventoryTx {
 public:
  virtual ~InventoryTx() = default;
  /// Takes the order's lock until the end of the transaction (a second transaction of the
  /// same order, in this or another instance, waits for this one). Every transaction about an
  /// order takes it before reading the order's reservation or cancel mark and before
  /// appending an event of the order, so that concurrent handlers of one order (a reserve, a
  /// cancel, a payment, an expiry) decide on each other's commits and the order's events are
  /// appended in commit order.
  virtual Result<void> lock_order(std::int64_t order_id) = 0;
  /// The product, locked until the end of the transaction (update_product then cannot miss).
  /// Lock several in sku order (no deadlock between two orders of the same skus).
  virtual Result<std::optional<Product>> find_product(const std::string& sku) = 0;
  virtual Result<void> insert_product(const Product& product) = 0;
  /// Writes `after` (name, price, levels) when the row still has `before`'s levels;
  /// kUnavailable STOCK_CHANGED when another transaction changed them in between.
  virtual Result<void> update_product(const Product& before, const Product& after) = 0;
  virtual Result<std::optional<Reservation>> find_reservation(std::int64_t order_id) = 0;
  /// Stores `reservation` with the W3C `traceparent` its STOCK_RESERVED carries (returned by
  /// due_reservations for the expiry to continue). kConflict when the order already has a
  /// reservation.
  virtual Result<void> insert_reservation(const Reservation& reservation,
                                          const std::string& traceparent) = 0;
  /// Conditional transition (seed 004's natural idempotency): sets the status of the order's
  /// reservation to `to` only where it is `from`. True when this call changed it.
  virtual Result<bool> transition(std::int64_t order_id, ReservationStatus from,
                                  ReservationStatus to, Clock::TimePoint at) = 0;
  /// Whether ORDER_CANCELLED was seen for the order.
  virtual Result<bool> is_cancelled(std::int64_t order_id) = 0;
  /// Records that the order is cancelled (idempotent).
  virtual Result<void> mark_cancelled(std::int64_t order_id, Clock::TimePoint at) = 0;
  /// Appends `event` to the outbox (published after commit).
  virtual Result<void> publish(const StockEvent& event) = 0;
};

/// Persistence of products, reservations, cancelled orders, the inbox and the outbox.
/// Implementations are thread-safe, also across instances sharing the database. The inbox
/// (process_once: an event's effect in one transaction with its inbox entry) is the
/// messaging::InboxPort every service has.
class InventoryRepository : public messaging::InboxPort<InventoryTx> {
 public:
  using TxFn = std::function<Result<void>(InventoryTx&)>;
  /// Runs `fn` in one write transaction.
  virtual Result<void> transact(const TxFn& fn) = 0;
  /// Sorted by sku.
  virtual Result<std::vector<Product>> list_products() = 0;
  virtual Result<std::optional<Product>> find_product(const std::string& sku) = 0;
  virtual Result<std::optional<Reservation>> find_reservation(std::int64_t order_id) = 0;
  /// RESERVED reservations with expires_at ≤ now, earliest first, at most `limit`.
  virtual Result<std::vector<DueReservation>> due_reservations(Clock::TimePoint now, int limit) = 0;
  /// Inserts the products whose sku is absent; never changes an existing one. Returns the
  /// number inserted.
  virtual Result<int> insert_missing_products(const std::vector<Product>& products) = 0;
};

}  // namespace orderflow::inventory
