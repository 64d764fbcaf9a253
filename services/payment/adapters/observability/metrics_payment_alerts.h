#pragma once

#include <memory>

#include <spdlog/logger.h>

#include "../../app/ports.h"
#include "orderflow/observability/metrics.h"

namespace orderflow::payment {

/// Counter behind the REFUND_FAILED alert: one per refund the provider refused for good.
inline constexpr const char* kRefundFailuresMetric = "orderflow_payment_refund_failures_total";

/// PaymentAlerts as metrics and logs: refund_failed() adds 1 to
/// orderflow_payment_refund_failures_total{service} (alert on any increase) and logs an error
/// with the payment, order and refusal. Thread-safe.
class MetricsPaymentAlerts final : public PaymentAlerts {
 public:
  /// `logger` may be null (no log line).
  MetricsPaymentAlerts(observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger)
      : metrics_(metrics), logger_(std::move(logger)) {}

  void refund_failed(const Payment& payment, const Error& error) override;

 private:
  observability::Metrics& metrics_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace orderflow::payment
