#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orderflow/common/clock.h"
#include "orderflow/common/decimal.h"
#include "orderflow/common/result.h"

/// Inventory domain (issue 3, seeds 002/003/004): products with stock levels and per-order
/// reservations that expire. Pure: no I/O, no clock reads; every function is thread-safe.
namespace orderflow::inventory {

/// A product and its stock. Invariant (ARCHITECTURE.md "Saga", invariant 1): every level is
/// ≥ 0 and available + reserved + sold changes only through an explicit stock update (PUT).
struct Product {
  std::string sku;
  std::string name;
  Decimal unit_price;
  std::int64_t available = 0;  ///< free to reserve
  std::int64_t reserved = 0;   ///< held by RESERVED reservations
  std::int64_t sold = 0;       ///< deducted by paid orders

  /// available + reserved + sold: the quantity conserved by reserve/release/deduct.
  [[nodiscard]] std::int64_t total() const { return available + reserved + sold; }
};

/// Moves `quantity` (≥ 1) from available to reserved. kUnprocessable OUT_OF_STOCK when fewer
/// than `quantity` are available (the product is unchanged).
Result<void> reserve(Product& product, std::int64_t quantity);
/// Moves `quantity` from reserved back to available (cancel, expiry). kInternal
/// STOCK_INVARIANT when fewer than `quantity` are reserved (a bug; the product is unchanged).
Result<void> release(Product& product, std::int64_t quantity);
/// Moves `quantity` from reserved to sold (payment completed). kInternal STOCK_INVARIANT when
/// fewer than `quantity` are reserved (the product is unchanged).
Result<void> deduct(Product& product, std::int64_t quantity);

/// Moves `quantity` from sold back to available: the compensation when an order is cancelled
/// after its stock was deducted. kInternal STOCK_INVARIANT when fewer than `quantity` are sold.
Result<void> restock(Product& product, std::int64_t quantity);

/// Lifecycle of one order's reservation. RESERVED and DEDUCTED hold stock; DEDUCTED becomes
/// RELEASED only when the order is cancelled after all (compensation); the rest are final.
enum class ReservationStatus { kReserved, kDeducted, kReleased, kExpired };

/// "RESERVED", "DEDUCTED", "RELEASED", "EXPIRED".
const char* to_string(ReservationStatus status);
std::optional<ReservationStatus> parse_reservation_status(std::string_view text);

struct ReservationItem {
  std::string sku;
  std::int64_t quantity = 0;
};

/// The stock one order holds (one reservation per order). `user_id`, `total_amount` and
/// `currency` are copied from ORDER_CREATED so the events of later steps can carry them.
struct Reservation {
  std::int64_t order_id = 0;
  std::string user_id;
  Decimal total_amount;
  std::string currency;
  ReservationStatus status = ReservationStatus::kReserved;
  std::vector<ReservationItem> items;  ///< one line per sku; empty for a totalAmount-only order
  Clock::TimePoint expires_at;
  Clock::TimePoint created_at;
  Clock::TimePoint updated_at;
};

/// True when `reservation` still holds stock and its hold ended at or before `now` (seed 004:
/// an unpaid hold expires; the scheduler then returns the stock).
bool is_due(const Reservation& reservation, Clock::TimePoint now);

/// Order lines merged per sku, in order of first appearance, so two lines of one sku are
/// checked against the stock together. kInvalidInput INVALID_ITEM for an empty sku or a
/// quantity outside 1..kMaxQuantity (per line and per merged sku).
Result<std::vector<ReservationItem>> merge_lines(const std::vector<ReservationItem>& lines);

inline constexpr std::int64_t kMaxQuantity = 1'000'000'000;

/// Why an order could not be reserved: reason OUT_OF_STOCK or UNKNOWN_SKU, and the first sku
/// (in line order) that failed.
struct Rejection {
  std::string reason;
  std::string sku;
};

/// Outcome of reserve_all: either a rejection, or every touched product after the reservation.
struct ReserveDecision {
  std::optional<Rejection> rejection;
  std::vector<Product> updated;  ///< same order as the lines; empty when rejected
};

/// All-or-none reservation of merged `lines` against `products` (by sku): checks every line
/// first and changes nothing unless all fit, so available never goes below 0.
ReserveDecision reserve_all(const std::vector<ReservationItem>& lines,
                            const std::map<std::string, Product>& products);

/// What PAYMENT_COMPLETED does to a reservation.
enum class DeductionDecision {
  kDeduct,           ///< RESERVED: stock becomes sold, STOCK_DEDUCTED
  kAlreadyDeducted,  ///< DEDUCTED: a second payment event; nothing to do
  kFailedExpired,    ///< EXPIRED: STOCK_DEDUCTION_FAILED RESERVATION_EXPIRED (refund)
  kFailedReleased,   ///< RELEASED or never reserved after a cancel: RESERVATION_RELEASED
};

/// The decision for a payment of an order whose reservation has `status` (nullopt: none, e.g.
/// the cancel overtook the order's creation).
DeductionDecision decide_deduction(std::optional<ReservationStatus> status);

/// A PUT /api/products/{sku} body after parsing: any subset of the fields.
struct ProductUpdate {
  std::optional<std::string> name;
  std::optional<Decimal> unit_price;
  std::optional<std::int64_t> stock;  ///< sets available
};

/// Applies `update` to `existing` (nullopt: create product `sku`). Rules: stock and price
/// must be ≥ 0 (kUnprocessable NEGATIVE_STOCK / NEGATIVE_PRICE); creating needs a unitPrice
/// (kUnprocessable MISSING_UNIT_PRICE); a new product's name defaults to its sku; the name is
/// 1..200 characters (kUnprocessable INVALID_NAME); stock ≤ kMaxQuantity (INVALID_STOCK).
Result<Product> apply_update(const std::string& sku, const std::optional<Product>& existing,
                             const ProductUpdate& update);

/// True when fault injection is on (`prefix` non-empty) and `sku` starts with it (seed 003's
/// FAIL items).
bool is_fault_sku(std::string_view sku, std::string_view prefix);

}  // namespace orderflow::inventory
