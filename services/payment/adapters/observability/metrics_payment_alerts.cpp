#include "metrics_payment_alerts.h"

namespace orderflow::payment {

void MetricsPaymentAlerts::refund_failed(const Payment& payment, const Error& error) {
  metrics_.add_counter(kRefundFailuresMetric,
                       "Refunds the payment provider refused for good (payments REFUND_FAILED)",
                       {});
  if (logger_) {
    logger_->error(
        "\"payment REFUND_FAILED\" paymentId={} orderId={} amount={} currency={} code={} "
        "error=\"{}\"",
        payment.id, payment.order_id, payment.amount.to_string(), payment.currency, error.code,
        error.message);
  }
}

}  // namespace orderflow::payment
