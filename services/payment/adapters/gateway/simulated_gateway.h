#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "../../app/ports.h"

namespace orderflow::payment {

/// Settings of the simulated gateway (config section `payment.gateway`).
struct SimulatedGatewayOptions {
  std::chrono::milliseconds latency{0};  ///< added to every call (payment.gateway.latency_ms)
  DeclineRule decline;                   ///< payment.gateway.decline_above
};

/// An in-memory payment provider for dev and tests: approves unless the decline rule says no,
/// keeps every charge by idempotency key (charging a key twice returns the first charge) and
/// every refund by paymentId. Its state lives as long as the process, like a provider that
/// forgets nothing while it runs. Thread-safe.
class SimulatedGateway final : public PaymentGateway {
 public:
  explicit SimulatedGateway(SimulatedGatewayOptions options) : options_(std::move(options)) {}

  Result<GatewayCharge> charge(const ChargeRequest& request) override;
  Result<std::optional<GatewayCharge>> find_charge(const std::string& idempotency_key) override;
  Result<std::string> refund(const std::string& payment_id) override;

  /// Interrupts every call waiting out its latency and makes later calls fail fast with
  /// kUnavailable GATEWAY_SHUTDOWN (nothing charged), so that stopping the consumer is prompt.
  /// Idempotent.
  void shutdown();

  /// Distinct charges made (approved or declined) and refunds made; for tests and logs.
  [[nodiscard]] std::int64_t charge_count() const;
  [[nodiscard]] std::int64_t refund_count() const;

 private:
  /// Waits out the latency; false when shut down (then the call does nothing).
  bool wait_latency(std::unique_lock<std::mutex>& lock);

  SimulatedGatewayOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable shutdown_cv_;
  bool shut_down_ = false;
  std::map<std::string, GatewayCharge> charges_by_key_;
  std::map<std::string, std::string> key_by_payment_;
  std::map<std::string, std::string> refund_by_payment_;
};

}  // namespace orderflow::payment
