#include "inventory_service.h"

#include <algorithm>
#include <map>

#include "orderflow/messaging/events.h"
#include "orderflow/observability/trace_context.h"

namespace orderflow::inventory {
namespace {

// Not (yet) in messaging/events.h; docs/events.md lists it for STOCK_DEDUCTION_FAILED.
constexpr std::string_view kReasonReservationReleased = "RESERVATION_RELEASED";

std::string order_text(std::int64_t order_id) { return "order " + std::to_string(order_id); }

// Returns the held quantities to `available` (cancel, expiry) or moves them to `sold`.
Result<void> apply_to_items(InventoryTx& tx, std::vector<ReservationItem> items,
                            Result<void> (*op)(Product&, std::int64_t)) {
  // In sku order, like every transaction that locks products: no deadlock between two.
  std::sort(items.begin(), items.end(),
            [](const ReservationItem& a, const ReservationItem& b) { return a.sku < b.sku; });
  for (const auto& item : items) {
    auto found = tx.find_product(item.sku);
    if (!found) return found.error();
    if (!found.value()) {
      return internal_error("STOCK_INVARIANT", "reserved sku " + item.sku + " has no product");
    }
    Product after = *found.value();
    if (auto r = op(after, item.quantity); !r) return r.error();
    if (auto r = tx.update_product(*found.value(), after); !r) return r.error();
  }
  return {};
}

StockEvent event_for(std::string_view type, const Reservation& reservation, Clock::TimePoint now,
                     const std::string& traceparent) {
  StockEvent e;
  e.type = std::string(type);
  e.order_id = reservation.order_id;
  e.user_id = reservation.user_id;
  e.total_amount = reservation.total_amount;
  e.currency = reservation.currency;
  e.items = reservation.items;
  e.expires_at = reservation.expires_at;
  e.timestamp = now;
  e.traceparent = traceparent;
  return e;
}

HandleReport skipped(std::string code, std::string detail) {
  return {HandleOutcome::kSkipped, std::move(code), std::move(detail)};
}

}  // namespace

Result<HandleReport> InventoryService::handle(const IncomingEvent& event) {
  if (event.event_type == events::kOrderCreated) return on_order_created(event);
  if (event.event_type == events::kOrderCancelled) return on_order_cancelled(event);
  if (event.event_type == events::kPaymentCompleted) return on_payment_completed(event);
  // PAYMENT_FAILED / PAYMENT_REFUNDED need nothing here: the order service answers them with
  // ORDER_CANCELLED, which releases the stock.
  return HandleReport{HandleOutcome::kIgnored, {}, {}};
}

Result<HandleReport> InventoryService::process(
    const IncomingEvent& event,
    const std::function<Result<void>(InventoryTx&, HandleReport&)>& fn) {
  HandleReport report;
  auto first = repository_.process_once(settings_.consumer_group, event.event_id,
                                        [&](InventoryTx& tx) { return fn(tx, report); });
  if (!first) return first.error();
  if (!first.value()) return HandleReport{HandleOutcome::kDuplicate, {}, {}};
  return report;
}

Result<HandleReport> InventoryService::on_order_created(const IncomingEvent& event) {
  // Before any DB work: the injected fault stands for a technical failure (seed 003), so
  // nothing may be stored and the consumer retries, then dead-letters.
  const auto fault_prefix = fail_sku_prefix();
  for (const auto& item : event.items) {
    if (is_fault_sku(item.sku, fault_prefix)) {
      return unavailable("INJECTED_FAULT", "injected fault for sku " + item.sku +
                                               " (inventory.faults.fail_sku_prefix)");
    }
  }
  if (event.items.size() > kMaxOrderLines) {
    return invalid_input("INVALID_ITEM", "more than " + std::to_string(kMaxOrderLines) + " items");
  }
  auto lines = merge_lines(event.items);
  if (!lines) return lines.error();
  const auto now = clock_.now();

  std::optional<bool> reserved;  // set by the effect: accepted or rejected
  auto handled = process(event, [&](InventoryTx& tx, HandleReport& report) -> Result<void> {
    if (auto r = tx.lock_order(event.order_id); !r) return r.error();
    auto cancelled = tx.is_cancelled(event.order_id);
    if (!cancelled) return cancelled.error();
    if (cancelled.value()) {
      report = skipped("ORDER_ALREADY_CANCELLED",
                       order_text(event.order_id) + " was cancelled before it was reserved");
      return {};
    }
    auto existing = tx.find_reservation(event.order_id);
    if (!existing) return existing.error();
    if (existing.value()) {
      report =
          skipped("ALREADY_RESERVED", order_text(event.order_id) + " already has a " +
                                          to_string(existing.value()->status) + " reservation");
      return {};
    }

    std::map<std::string, Product> products;
    std::vector<std::string> skus;
    for (const auto& line : lines.value()) skus.push_back(line.sku);
    std::sort(skus.begin(), skus.end());  // locked in sku order, see apply_to_items
    for (const auto& sku : skus) {
      auto found = tx.find_product(sku);
      if (!found) return found.error();
      if (found.value()) products.emplace(sku, *found.value());
    }
    auto decision = reserve_all(lines.value(), products);
    if (decision.rejection) {
      StockEvent rejected;
      rejected.type = std::string(events::kStockRejected);
      rejected.order_id = event.order_id;
      rejected.user_id = event.user_id;
      rejected.reason = decision.rejection->reason;
      rejected.sku = decision.rejection->sku;
      rejected.timestamp = now;
      rejected.traceparent = event.traceparent;
      report.code = decision.rejection->reason;
      report.detail = "rejected on sku " + decision.rejection->sku;
      reserved = false;
      return tx.publish(rejected);
    }
    for (const auto& after : decision.updated) {
      if (auto r = tx.update_product(products.at(after.sku), after); !r) return r.error();
    }
    Reservation reservation;
    reservation.order_id = event.order_id;
    reservation.user_id = event.user_id;
    reservation.total_amount = event.total_amount;
    reservation.currency = event.currency;
    reservation.status = ReservationStatus::kReserved;
    reservation.items = lines.value();
    reservation.expires_at = now + settings_.reservation_ttl;
    reservation.created_at = now;
    reservation.updated_at = now;
    // Kept with the reservation: its expiry continues the trace STOCK_RESERVED carries.
    const auto trace = observability::traceparent_or_new(event.traceparent);
    if (auto r = tx.insert_reservation(reservation, trace); !r) return r.error();
    reserved = true;
    return tx.publish(event_for(events::kStockReserved, reservation, now, trace));
  });
  if (handled && handled->outcome != HandleOutcome::kDuplicate && reserved && metrics_ != nullptr) {
    observability::count_reservation(*metrics_, *reserved);
  }
  return handled;
}

Result<HandleReport> InventoryService::on_order_cancelled(const IncomingEvent& event) {
  const auto now = clock_.now();
  return process(event, [&](InventoryTx& tx, HandleReport& report) -> Result<void> {
    if (auto r = tx.lock_order(event.order_id); !r) return r.error();
    if (auto r = tx.mark_cancelled(event.order_id, now); !r) return r.error();
    auto found = tx.find_reservation(event.order_id);
    if (!found) return found.error();
    if (!found.value()) {
      report.code = "NO_RESERVATION";
      return {};
    }
    Reservation reservation = *found.value();
    auto from = reservation.status;
    switch (reservation.status) {
      case ReservationStatus::kReserved:
      case ReservationStatus::kDeducted:
        // DEDUCTED: the payment raced the cancel (or the saga timed out while PAID); the
        // order is cancelled, so the sold stock goes back (the payment service refunds).
        break;
      case ReservationStatus::kReleased:
      case ReservationStatus::kExpired:
        report.code = std::string("ALREADY_") + to_string(reservation.status);
        return {};
    }
    auto changed = tx.transition(event.order_id, from, ReservationStatus::kReleased, now);
    if (!changed) return changed.error();
    if (!changed.value()) return {};
    auto undo = from == ReservationStatus::kReserved ? &release : &restock;
    if (auto r = apply_to_items(tx, reservation.items, undo); !r) return r.error();
    if (reservation.user_id.empty()) reservation.user_id = event.user_id;
    auto released = event_for(events::kStockReleased, reservation, now, event.traceparent);
    released.reason = std::string(events::kReasonOrderCancelled);
    return tx.publish(released);
  });
}

Result<HandleReport> InventoryService::on_payment_completed(const IncomingEvent& event) {
  const auto now = clock_.now();
  return process(event, [&](InventoryTx& tx, HandleReport& report) -> Result<void> {
    if (auto r = tx.lock_order(event.order_id); !r) return r.error();
    auto found = tx.find_reservation(event.order_id);
    if (!found) return found.error();
    std::optional<ReservationStatus> status;
    Reservation reservation;
    if (found.value()) {
      reservation = *found.value();
      status = reservation.status;
    } else {
      auto cancelled = tx.is_cancelled(event.order_id);
      if (!cancelled) return cancelled.error();
      // A payment can only follow our STOCK_RESERVED; without a reservation or a cancel the
      // event names an order this service never saw.
      if (!cancelled.value()) {
        return invalid_input(
            "UNKNOWN_ORDER",
            "PAYMENT_COMPLETED for " + order_text(event.order_id) + ", which has no reservation");
      }
      reservation.order_id = event.order_id;
    }
    if (reservation.user_id.empty()) reservation.user_id = event.user_id;

    switch (decide_deduction(status)) {
      case DeductionDecision::kDeduct: {
        auto changed = tx.transition(event.order_id, ReservationStatus::kReserved,
                                     ReservationStatus::kDeducted, now);
        if (!changed) return changed.error();
        if (!changed.value()) return {};
        if (auto r = apply_to_items(tx, reservation.items, &deduct); !r) return r.error();
        return tx.publish(event_for(events::kStockDeducted, reservation, now, event.traceparent));
      }
      case DeductionDecision::kAlreadyDeducted:
        report = skipped("ALREADY_DEDUCTED", order_text(event.order_id) + " was already deducted");
        return {};
      case DeductionDecision::kFailedExpired:
      case DeductionDecision::kFailedReleased: {
        auto failed = event_for(events::kStockDeductionFailed, reservation, now, event.traceparent);
        failed.reason = decide_deduction(status) == DeductionDecision::kFailedExpired
                            ? std::string(events::kReasonReservationExpired)
                            : std::string(kReasonReservationReleased);
        report.code = failed.reason;
        return tx.publish(failed);
      }
    }
    return {};
  });
}

Result<int> InventoryService::expire_due() {
  const auto now = clock_.now();
  auto due = repository_.due_reservations(now, settings_.expiry_batch_size);
  if (!due) return due.error();
  int expired = 0;
  std::optional<Error> first_error;
  for (const auto& reservation : due.value()) {
    const auto order_id = reservation.order_id;
    bool changed = false;
    auto done = repository_.transact([&](InventoryTx& tx) -> Result<void> {
      if (auto r = tx.lock_order(order_id); !r) return r.error();
      // The conditional update decides (seed 004): a reservation that a payment, a cancel or
      // another run (of this or another instance) already moved on is left alone, so running
      // twice changes nothing and each reservation is released once.
      auto moved =
          tx.transition(order_id, ReservationStatus::kReserved, ReservationStatus::kExpired, now);
      if (!moved) return moved.error();
      if (!moved.value()) return {};
      auto found = tx.find_reservation(order_id);
      if (!found) return found.error();
      if (!found.value()) return internal_error("STOCK_INVARIANT", "reservation vanished");
      if (auto r = apply_to_items(tx, found.value()->items, &release); !r) return r.error();
      // The scheduler works for the order: a span of the reservation's trace.
      auto released = event_for(events::kStockReleased, *found.value(), now,
                                observability::child_traceparent(reservation.traceparent));
      released.reason = std::string(events::kReasonExpired);
      if (auto r = tx.publish(released); !r) return r.error();
      changed = true;
      return {};
    });
    if (!done) {
      if (!first_error) first_error = done.error();
    } else if (changed) {
      ++expired;
    }
  }
  if (first_error) return *first_error;
  return expired;
}

Result<int> InventoryService::seed_catalog(const std::vector<Product>& products) {
  return repository_.insert_missing_products(products);
}

Result<std::vector<Product>> InventoryService::list_products() {
  return repository_.list_products();
}

Result<Product> InventoryService::get_product(const std::string& sku) {
  auto found = repository_.find_product(sku);
  if (!found) return found.error();
  if (!found.value()) return not_found("PRODUCT_NOT_FOUND", "product " + sku + " not found");
  return *found.value();
}

Result<ProductUpsert> InventoryService::put_product(const std::string& sku,
                                                    const ProductUpdate& update) {
  if (sku.empty() || sku.size() > 128) {
    return invalid_input("INVALID_SKU", "sku must be 1 to 128 characters");
  }
  ProductUpsert out;
  auto done = repository_.transact([&](InventoryTx& tx) -> Result<void> {
    auto existing = tx.find_product(sku);
    if (!existing) return existing.error();
    auto next = apply_update(sku, existing.value(), update);
    if (!next) return next.error();
    if (existing.value()) {
      if (auto r = tx.update_product(*existing.value(), next.value()); !r) return r.error();
    } else {
      if (auto r = tx.insert_product(next.value()); !r) return r.error();
    }
    out.product = next.value();
    out.created = !existing.value().has_value();
    return {};
  });
  if (!done) return done.error();
  return out;
}

Result<Reservation> InventoryService::get_reservation(std::int64_t order_id) {
  auto found = repository_.find_reservation(order_id);
  if (!found) return found.error();
  if (!found.value()) {
    return not_found("RESERVATION_NOT_FOUND", "no reservation for " + order_text(order_id));
  }
  return *found.value();
}

}  // namespace orderflow::inventory
