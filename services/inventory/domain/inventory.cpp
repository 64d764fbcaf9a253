#include "inventory.h"

namespace orderflow::inventory {
namespace {

// `held` is the count the operation takes from (reserved for release/deduct, sold for
// restock), so the message names the count that was actually checked.
Error stock_invariant(const Product& product, std::int64_t quantity, const char* what,
                      std::int64_t held, const char* held_as) {
  return internal_error("STOCK_INVARIANT", std::string(what) + " " + std::to_string(quantity) +
                                               " of " + product.sku + " but only " +
                                               std::to_string(held) + " " + held_as);
}

}  // namespace

Result<void> reserve(Product& product, std::int64_t quantity) {
  if (quantity < 1) return invalid_input("INVALID_QUANTITY", "quantity must be ≥ 1");
  if (product.available < quantity) {
    return unprocessable("OUT_OF_STOCK", product.sku + ": " + std::to_string(quantity) +
                                             " requested, " + std::to_string(product.available) +
                                             " available");
  }
  product.available -= quantity;
  product.reserved += quantity;
  return {};
}

Result<void> release(Product& product, std::int64_t quantity) {
  if (quantity < 0 || product.reserved < quantity) {
    return stock_invariant(product, quantity, "release", product.reserved, "reserved");
  }
  product.reserved -= quantity;
  product.available += quantity;
  return {};
}

Result<void> restock(Product& product, std::int64_t quantity) {
  if (quantity < 0 || product.sold < quantity) {
    return stock_invariant(product, quantity, "restock", product.sold, "sold");
  }
  product.sold -= quantity;
  product.available += quantity;
  return {};
}

Result<void> deduct(Product& product, std::int64_t quantity) {
  if (quantity < 0 || product.reserved < quantity) {
    return stock_invariant(product, quantity, "deduct", product.reserved, "reserved");
  }
  product.reserved -= quantity;
  product.sold += quantity;
  return {};
}

const char* to_string(ReservationStatus status) {
  switch (status) {
    case ReservationStatus::kReserved:
      return "RESERVED";
    case ReservationStatus::kDeducted:
      return "DEDUCTED";
    case ReservationStatus::kReleased:
      return "RELEASED";
    case ReservationStatus::kExpired:
      return "EXPIRED";
  }
  return "RESERVED";
}

std::optional<ReservationStatus> parse_reservation_status(std::string_view text) {
  for (auto s : {ReservationStatus::kReserved, ReservationStatus::kDeducted,
                 ReservationStatus::kReleased, ReservationStatus::kExpired}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

bool is_due(const Reservation& reservation, Clock::TimePoint now) {
  return reservation.status == ReservationStatus::kReserved && reservation.expires_at <= now;
}

Result<std::vector<ReservationItem>> merge_lines(const std::vector<ReservationItem>& lines) {
  std::vector<ReservationItem> merged;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    std::string where = "items[" + std::to_string(i) + "]";
    if (line.sku.empty()) return invalid_input("INVALID_ITEM", where + ": sku is empty");
    if (line.quantity < 1 || line.quantity > kMaxQuantity) {
      return invalid_input("INVALID_ITEM",
                           where + ": quantity must be 1.." + std::to_string(kMaxQuantity));
    }
    auto [it, inserted] = index.try_emplace(line.sku, merged.size());
    if (inserted) {
      merged.push_back(line);
    } else {
      // Checked after each step so the sum can never overflow (each line ≤ kMaxQuantity).
      merged[it->second].quantity += line.quantity;
      if (merged[it->second].quantity > kMaxQuantity) {
        return invalid_input("INVALID_ITEM", "total quantity of " + line.sku + " exceeds " +
                                                 std::to_string(kMaxQuantity));
      }
    }
  }
  return merged;
}

ReserveDecision reserve_all(const std::vector<ReservationItem>& lines,
                            const std::map<std::string, Product>& products) {
  ReserveDecision decision;
  std::vector<Product> updated;
  updated.reserve(lines.size());
  for (const auto& line : lines) {
    auto it = products.find(line.sku);
    if (it == products.end()) {
      decision.rejection = Rejection{"UNKNOWN_SKU", line.sku};
      return decision;
    }
    Product product = it->second;
    if (!reserve(product, line.quantity)) {
      decision.rejection = Rejection{"OUT_OF_STOCK", line.sku};
      return decision;
    }
    updated.push_back(std::move(product));
  }
  decision.updated = std::move(updated);
  return decision;
}

DeductionDecision decide_deduction(std::optional<ReservationStatus> status) {
  if (!status) return DeductionDecision::kFailedReleased;
  switch (*status) {
    case ReservationStatus::kReserved:
      return DeductionDecision::kDeduct;
    case ReservationStatus::kDeducted:
      return DeductionDecision::kAlreadyDeducted;
    case ReservationStatus::kExpired:
      return DeductionDecision::kFailedExpired;
    case ReservationStatus::kReleased:
      return DeductionDecision::kFailedReleased;
  }
  return DeductionDecision::kFailedReleased;
}

Result<Product> apply_update(const std::string& sku, const std::optional<Product>& existing,
                             const ProductUpdate& update) {
  if (update.unit_price && update.unit_price->is_negative()) {
    return unprocessable("NEGATIVE_PRICE", "unitPrice must be ≥ 0");
  }
  if (update.stock && *update.stock < 0) {
    return unprocessable("NEGATIVE_STOCK", "stock must be ≥ 0");
  }
  if (update.stock && *update.stock > kMaxQuantity) {
    return unprocessable("INVALID_STOCK", "stock must be ≤ " + std::to_string(kMaxQuantity));
  }
  if (update.name && (update.name->empty() || update.name->size() > 200)) {
    return unprocessable("INVALID_NAME", "name must be 1 to 200 characters");
  }
  Product product;
  if (existing) {
    product = *existing;
  } else {
    if (!update.unit_price) {
      return unprocessable("MISSING_UNIT_PRICE", "a new product needs a unitPrice");
    }
    product.sku = sku;
    product.name = sku;
  }
  if (update.name) product.name = *update.name;
  if (update.unit_price) product.unit_price = *update.unit_price;
  if (update.stock) product.available = *update.stock;
  return product;
}

bool is_fault_sku(std::string_view sku, std::string_view prefix) {
  return !prefix.empty() && sku.starts_with(prefix);
}

}  // namespace orderflow::inventory
