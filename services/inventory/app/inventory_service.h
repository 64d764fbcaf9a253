#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "orderflow/common/clock.h"
#include "orderflow/observability/business_metrics.h"
#include "ports.h"

namespace orderflow::inventory {

/// An event consumed from orders.v1 or payments.v1, already decoded and validated by the
/// Kafka adapter (messaging/event_decoders.h: required fields present and typed, a supported
/// eventVersion).
struct IncomingEvent {
  std::string event_id;
  std::string event_type;
  std::int64_t order_id = 0;
  std::string user_id;                 ///< may be empty except for ORDER_CREATED
  Decimal total_amount;                ///< ORDER_CREATED
  std::string currency;                ///< ORDER_CREATED
  std::vector<ReservationItem> items;  ///< ORDER_CREATED, as ordered (not merged)
  std::string traceparent;             ///< child of the record's traceparent; carried by our events
};

/// What handling one event did.
enum class HandleOutcome {
  kApplied,    ///< state changed and/or events appended, committed with the inbox entry
  kDuplicate,  ///< the eventId was already processed by this consumer group: nothing done
  kIgnored,    ///< an event type this service does not act on (nothing stored)
  kSkipped,    ///< a business rule said no (committed with the inbox entry; see code/detail)
};

struct HandleReport {
  HandleOutcome outcome = HandleOutcome::kApplied;
  std::string code;    ///< why, for kSkipped (e.g. ORDER_ALREADY_CANCELLED)
  std::string detail;  ///< human text for the log
};

/// Settings of the use cases (config section `inventory`).
struct InventorySettings {
  std::string consumer_group = "inventory-service";
  std::chrono::milliseconds reservation_ttl{900000};  ///< inventory.reservation_ttl_ms
  std::string fail_sku_prefix;                        ///< inventory.faults.fail_sku_prefix
  int expiry_batch_size = 100;                        ///< inventory.expiry_batch_size
};

/// Result of PUT /api/products/{sku}.
struct ProductUpsert {
  Product product;
  bool created = false;
};

/// Inventory use cases (issue 3; seeds 002, 003, 004). Thread-safe: every state change runs in
/// one serialised DB transaction together with its inbox entry and outbox events.
class InventoryService {
 public:
  /// `metrics` (optional, must outlive the service) counts the reservations accepted and
  /// rejected (orderflow_stock_reservations_total), once per committed decision.
  InventoryService(InventoryRepository& repository, const Clock& clock, InventorySettings settings,
                   observability::Metrics* metrics = nullptr)
      : repository_(repository), clock_(clock), settings_(std::move(settings)), metrics_(metrics) {
    if (metrics_ != nullptr) observability::register_reservation_counters(*metrics_);
  }

  /// Handles one consumed event exactly once per eventId (inbox):
  /// - ORDER_CREATED: reserves every item or none → STOCK_RESERVED (expiresAt = now + ttl) or
  ///   STOCK_REJECTED {OUT_OF_STOCK|UNKNOWN_SKU, sku}; an order without items reserves nothing
  ///   and still gets STOCK_RESERVED. Skipped when the order was already cancelled or already
  ///   has a reservation. An item whose sku starts with the fault prefix fails with
  ///   kUnavailable INJECTED_FAULT before anything is stored (the consumer retries).
  /// - ORDER_CANCELLED: records the cancel (a late ORDER_CREATED then never reserves) and
  ///   releases a RESERVED reservation → STOCK_RELEASED {ORDER_CANCELLED}. A DEDUCTED one is
  ///   skipped (code ALREADY_DEDUCTED).
  /// - PAYMENT_COMPLETED: RESERVED → DEDUCTED → STOCK_DEDUCTED; an EXPIRED/RELEASED
  ///   reservation (or none after a cancel) → STOCK_DEDUCTION_FAILED {RESERVATION_EXPIRED|
  ///   RESERVATION_RELEASED}. A payment for an order never seen is kInvalidInput UNKNOWN_ORDER.
  /// - anything else: kIgnored.
  /// Errors: kInvalidInput for bad input, kUnavailable for technical (retryable) failures,
  /// kInternal for a broken invariant (the transaction rolled back: never a wrong state).
  Result<HandleReport> handle(const IncomingEvent& event);

  /// Expires due reservations (seed 004): selects up to expiry_batch_size RESERVED
  /// reservations with expires_at ≤ clock.now() and, one transaction each, conditionally sets
  /// them EXPIRED; only a reservation this call changed returns its stock and emits
  /// STOCK_RELEASED {EXPIRED}, a child span of the trace its STOCK_RESERVED carried (a new trace
  /// for a reservation stored without one). Returns how many it expired; running it again
  /// changes nothing.
  /// An error on one reservation does not stop the others; the first error is returned when
  /// any occurred.
  Result<int> expire_due();

  /// Inserts the catalog products that are absent (first start); never overwrites stock.
  /// Returns the number inserted.
  Result<int> seed_catalog(const std::vector<Product>& products);

  Result<std::vector<Product>> list_products();
  /// kNotFound PRODUCT_NOT_FOUND.
  Result<Product> get_product(const std::string& sku);
  /// Creates or updates a product (see apply_update for the rules). kInvalidInput INVALID_SKU
  /// for an empty sku or one longer than 128 characters.
  Result<ProductUpsert> put_product(const std::string& sku, const ProductUpdate& update);
  /// kNotFound RESERVATION_NOT_FOUND.
  Result<Reservation> get_reservation(std::int64_t order_id);

  [[nodiscard]] const InventorySettings& settings() const { return settings_; }

  /// The live fault prefix (POST /admin/faults); starts as settings.fail_sku_prefix.
  [[nodiscard]] std::string fail_sku_prefix() const {
    std::lock_guard lock(fault_mutex_);
    return fail_sku_prefix_;
  }
  void set_fail_sku_prefix(std::string prefix) {
    std::lock_guard lock(fault_mutex_);
    fail_sku_prefix_ = std::move(prefix);
  }

 private:
  Result<HandleReport> on_order_created(const IncomingEvent& event);
  Result<HandleReport> on_order_cancelled(const IncomingEvent& event);
  Result<HandleReport> on_payment_completed(const IncomingEvent& event);
  Result<HandleReport> process(const IncomingEvent& event,
                               const std::function<Result<void>(InventoryTx&, HandleReport&)>& fn);

  InventoryRepository& repository_;
  const Clock& clock_;
  InventorySettings settings_;
  observability::Metrics* metrics_;
  mutable std::mutex fault_mutex_;
  std::string fail_sku_prefix_ = settings_.fail_sku_prefix;
};

/// Maximum number of lines accepted in one ORDER_CREATED.
inline constexpr std::size_t kMaxOrderLines = 1000;

}  // namespace orderflow::inventory
