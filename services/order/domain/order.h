#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "orderflow/common/clock.h"
#include "orderflow/common/decimal.h"
#include "orderflow/common/result.h"

namespace orderflow::order {

/// Order states (ARCHITECTURE.md "Saga").
enum class OrderStatus { kPending, kConfirmed, kPaid, kCompleted, kCancelled };

/// "PENDING", "CONFIRMED", "PAID", "COMPLETED", "CANCELLED".
const char* to_string(OrderStatus status);
std::optional<OrderStatus> parse_order_status(const std::string& text);

struct OrderItem {
  std::string sku;
  std::int64_t quantity = 0;
  Decimal unit_price;
};

/// One status change of an order, kept in its timeline (issue 3).
struct TimelineEntry {
  OrderStatus from = OrderStatus::kPending;
  OrderStatus to = OrderStatus::kPending;
  std::string event_type;  ///< the event (or USER_CANCEL / SAGA_TIMEOUT) that caused it
  std::string event_id;
  std::string reason;
  Clock::TimePoint at;
};

struct Order {
  std::int64_t id = 0;  ///< assigned by the repository
  std::string user_id;
  std::string customer_email;  ///< optional (seed 000)
  OrderStatus status = OrderStatus::kPending;
  std::string cancel_reason;  ///< set when CANCELLED
  Decimal total_amount;
  std::string currency;
  std::vector<OrderItem> items;
  Clock::TimePoint created_at;
  Clock::TimePoint updated_at;
  std::vector<TimelineEntry> timeline;  ///< oldest first; filled by find()
};

/// A requested line before pricing: the price is optional (the catalog fills it in).
struct RequestedItem {
  std::string sku;
  std::int64_t quantity = 0;
  std::optional<Decimal> unit_price;
};

/// A create-order request after normalisation of the seeds' field names.
struct OrderRequest {
  std::string user_id;
  std::string customer_email;
  std::string currency;  ///< empty = the catalog's currency
  std::vector<RequestedItem> items;
  std::optional<Decimal> total_amount;
};

struct Product {
  std::string sku;
  std::string name;
  Decimal unit_price;
  std::int64_t stock = 0;
};

/// Read-only product prices (seeded from the bundled catalog file).
class Catalog {
 public:
  Catalog(std::string currency, std::vector<Product> products);
  [[nodiscard]] const Product* find(const std::string& sku) const;
  [[nodiscard]] const std::string& currency() const { return currency_; }
  [[nodiscard]] const std::vector<Product>& products() const { return products_; }

 private:
  std::string currency_;
  std::vector<Product> products_;
  std::map<std::string, std::size_t> index_;
};

inline constexpr std::int64_t kMaxQuantity = 1'000'000;
inline constexpr std::size_t kMaxItems = 200;

/// Prices a request into a new PENDING order (id 0, timestamps `now`). Rules:
/// - quantity must be 1..kMaxQuantity (422 INVALID_QUANTITY), at most kMaxItems lines;
/// - a catalog SKU takes the catalog price; a request price that differs is 422 PRICE_MISMATCH;
/// - a SKU not in the catalog needs a request price (422 UNKNOWN_SKU), which must be ≥ 0;
/// - no items: totalAmount is required (422 EMPTY_ORDER) and must be > 0 (422 INVALID_TOTAL);
/// - items and totalAmount: they must agree (422 TOTAL_MISMATCH);
/// - currency: 3 upper-case letters (422 INVALID_CURRENCY), default the catalog's.
/// Pure; thread-safe.
Result<Order> price_order(const OrderRequest& request, const Catalog& catalog,
                          Clock::TimePoint now);

}  // namespace orderflow::order
