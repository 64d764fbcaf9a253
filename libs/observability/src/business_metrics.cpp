#include "orderflow/observability/business_metrics.h"

#include <map>
#include <string>

#include "orderflow/observability/metrics.h"

namespace orderflow::observability {
namespace {

struct CounterName {
  const char* name;
  const char* help;
};

constexpr CounterName kCreated{"orderflow_orders_created_total", "Orders created"};
constexpr CounterName kCompleted{"orderflow_orders_completed_total",
                                 "Orders completed (stock deducted after payment)"};
constexpr CounterName kCancelled{"orderflow_orders_cancelled_total", "Orders cancelled, by reason"};
constexpr CounterName kReservations{"orderflow_stock_reservations_total",
                                    "Stock reservations of orders, accepted or rejected"};
constexpr CounterName kPayments{"orderflow_payments_total", "Payments by outcome"};

void add(Metrics& metrics, const CounterName& counter,
         const std::map<std::string, std::string>& labels = {}, double by = 1) {
  metrics.add_counter(counter.name, counter.help, labels, by);
}

}  // namespace

void register_order_counters(Metrics& metrics) {
  add(metrics, kCreated, {}, 0);
  add(metrics, kCompleted, {}, 0);
}

void count_order_created(Metrics& metrics) { add(metrics, kCreated); }

void count_order_completed(Metrics& metrics) { add(metrics, kCompleted); }

void count_order_cancelled(Metrics& metrics, std::string_view reason) {
  add(metrics, kCancelled, {{"reason", std::string(reason)}});
}

void register_reservation_counters(Metrics& metrics) {
  for (const char* outcome : {"accepted", "rejected"}) {
    add(metrics, kReservations, {{"outcome", outcome}}, 0);
  }
}

void count_reservation(Metrics& metrics, bool accepted) {
  add(metrics, kReservations, {{"outcome", accepted ? "accepted" : "rejected"}});
}

void register_payment_counters(Metrics& metrics) {
  for (const char* outcome : {"completed", "failed", "refunded"}) {
    add(metrics, kPayments, {{"outcome", outcome}}, 0);
  }
}

void count_payment(Metrics& metrics, std::string_view outcome) {
  add(metrics, kPayments, {{"outcome", std::string(outcome)}});
}

void set_outbox_oldest_age(Metrics& metrics, double seconds) {
  metrics.set_gauge("orderflow_outbox_oldest_unsent_age_seconds",
                    "Age of the oldest outbox row not yet acknowledged by the broker", {}, seconds);
}

}  // namespace orderflow::observability
