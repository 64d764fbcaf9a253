#pragma once

#include <string_view>

namespace orderflow::observability {

class Metrics;

/// Business counters of seed 002 on a service's Metrics (thread-safe, as Metrics). Each is
/// counted once per committed state change by the service that owns it; a duplicate event
/// counts nothing. Names:
///   orderflow_orders_created_total{service}                 counter (order-service)
///   orderflow_orders_completed_total{service}               counter (order-service)
///   orderflow_orders_cancelled_total{service,reason}        counter (order-service)
///   orderflow_stock_reservations_total{service,outcome}     counter (inventory-service;
///                                                                    accepted|rejected)
///   orderflow_payments_total{service,outcome}               counter (payment-service;
///                                                                    completed|failed|refunded)
/// The register_* functions create a service's fixed series at 0 (call once at start), so
/// that rate() and increase() see their first increment.
void register_order_counters(Metrics& metrics);
void count_order_created(Metrics& metrics);
void count_order_completed(Metrics& metrics);
/// `reason`: the order's cancel reason (OUT_OF_STOCK, PAYMENT_FAILED, USER_REQUESTED, …).
void count_order_cancelled(Metrics& metrics, std::string_view reason);

void register_reservation_counters(Metrics& metrics);
/// A reservation of an order's stock: accepted (STOCK_RESERVED) or rejected (STOCK_REJECTED).
void count_reservation(Metrics& metrics, bool accepted);

void register_payment_counters(Metrics& metrics);
/// `outcome`: "completed", "failed" or "refunded" (the payment event emitted).
void count_payment(Metrics& metrics, std::string_view outcome);

/// orderflow_outbox_oldest_unsent_age_seconds{service}: age of the oldest outbox row not yet
/// acknowledged by the broker, 0 when none waits (set by the outbox relay).
void set_outbox_oldest_age(Metrics& metrics, double seconds);

}  // namespace orderflow::observability
