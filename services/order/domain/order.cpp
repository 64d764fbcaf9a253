#include "order.h"

#include <cctype>
#include <stdexcept>

namespace orderflow::order {

const char* to_string(OrderStatus status) {
  switch (status) {
    case OrderStatus::kPending:
      return "PENDING";
    case OrderStatus::kConfirmed:
      return "CONFIRMED";
    case OrderStatus::kPaid:
      return "PAID";
    case OrderStatus::kCompleted:
      return "COMPLETED";
    case OrderStatus::kCancelled:
      return "CANCELLED";
  }
  return "PENDING";
}

std::optional<OrderStatus> parse_order_status(const std::string& text) {
  for (auto s : {OrderStatus::kPending, OrderStatus::kConfirmed, OrderStatus::kPaid,
                 OrderStatus::kCompleted, OrderStatus::kCancelled}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

Catalog::Catalog(std::string currency, std::vector<Product> products)
    : currency_(std::move(currency)), products_(std::move(products)) {
  for (std::size_t i = 0; i < products_.size(); ++i) index_[products_[i].sku] = i;
}

const Product* Catalog::find(const std::string& sku) const {
  auto it = index_.find(sku);
  return it == index_.end() ? nullptr : &products_[it->second];
}

Result<Order> price_order(const OrderRequest& request, const Catalog& catalog,
                          Clock::TimePoint now) {
  if (request.user_id.empty()) return invalid_input("MISSING_USER", "userId is required");
  Order order;
  order.user_id = request.user_id;
  order.customer_email = request.customer_email;
  order.currency = request.currency.empty() ? catalog.currency() : request.currency;
  if (!is_currency_code(order.currency)) {
    return unprocessable("INVALID_CURRENCY",
                         "currency must be a 3-letter ISO code, got '" + order.currency + "'");
  }
  if (request.items.size() > kMaxItems) {
    return unprocessable("TOO_MANY_ITEMS",
                         "at most " + std::to_string(kMaxItems) + " items per order");
  }
  if (request.items.empty()) {
    if (!request.total_amount) {
      return unprocessable("EMPTY_ORDER", "an order needs items or a totalAmount");
    }
    if (*request.total_amount <= Decimal{}) {
      return unprocessable("INVALID_TOTAL", "totalAmount must be greater than 0");
    }
    order.total_amount = *request.total_amount;
  }
  Decimal total;
  for (std::size_t i = 0; i < request.items.size(); ++i) {
    const auto& item = request.items[i];
    std::string where = "items[" + std::to_string(i) + "]";
    if (item.sku.empty()) return invalid_input("MISSING_SKU", where + ": sku is required");
    if (item.quantity < 1 || item.quantity > kMaxQuantity) {
      return unprocessable("INVALID_QUANTITY", where + ": quantity must be between 1 and " +
                                                   std::to_string(kMaxQuantity));
    }
    OrderItem priced{item.sku, item.quantity, {}};
    if (const auto* product = catalog.find(item.sku)) {
      if (item.unit_price && *item.unit_price != product->unit_price) {
        return unprocessable("PRICE_MISMATCH", where + ": price " + item.unit_price->to_string() +
                                                   " differs from the catalog price " +
                                                   product->unit_price.to_string() + " of " +
                                                   item.sku);
      }
      priced.unit_price = product->unit_price;
    } else if (item.unit_price) {
      if (item.unit_price->is_negative()) {
        return unprocessable("INVALID_PRICE", where + ": price must not be negative");
      }
      priced.unit_price = *item.unit_price;
    } else {
      return unprocessable("UNKNOWN_SKU",
                           where + ": unknown sku '" + item.sku + "' and no price given");
    }
    try {
      total += priced.unit_price * priced.quantity;
    } catch (const std::overflow_error&) {
      return unprocessable("AMOUNT_TOO_LARGE", where + ": the amount is too large");
    }
    order.items.push_back(std::move(priced));
  }
  if (!request.items.empty()) {
    if (request.total_amount && *request.total_amount != total) {
      return unprocessable("TOTAL_MISMATCH", "totalAmount " + request.total_amount->to_string() +
                                                 " does not match the items' total " +
                                                 total.to_string());
    }
    order.total_amount = total;
  }
  order.status = OrderStatus::kPending;
  order.created_at = now;
  order.updated_at = now;
  return order;
}

}  // namespace orderflow::order
