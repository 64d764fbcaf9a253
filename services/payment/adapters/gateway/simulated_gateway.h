#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "../../app/ports.h"
#include "orderflow/storage/database.h"

namespace orderflow::payment {

/// Settings of the simulated gateway (config section `payment.gateway`).
struct SimulatedGatewayOptions {
  std::chrono::milliseconds latency{0};  ///< added to every call (payment.gateway.latency_ms)
  DeclineRule decline;                   ///< payment.gateway.decline_above
  /// The provider's own SQLite file (payment.gateway.path, relative to data_dir; default
  /// payment-gateway.db), apart from the payment service's database: the provider is outside.
  std::string path;
  int busy_timeout_ms = 5000;  ///< how long a call waits for the file's write lock
};

/// Schema of the simulated provider's database (component "payment-gateway"): charges by
/// idempotency key and refunds by paymentId.
std::span<const storage::Migration> simulated_gateway_migrations();

/// A payment provider for dev and tests: approves unless the decline rule says no, keeps every
/// charge by idempotency key (charging a key twice returns the first charge) and every refund by
/// paymentId in its own SQLite file, so that, like a real provider, it remembers them across
/// restarts of the payment service (a new instance on the same file sees them all). The latency
/// is waited out before the database is touched and holds no database lock. Errors: as
/// PaymentGateway; kUnavailable also when the file is busy or unreachable. Thread-safe; several
/// instances on one file are safe too (SQLite serialises their writes).
class SimulatedGateway final : public PaymentGateway {
 public:
  /// Opens (creating it if absent) and migrates `options.path`. Throws std::runtime_error when
  /// it cannot (a startup failure).
  explicit SimulatedGateway(SimulatedGatewayOptions options);
  ~SimulatedGateway() override;

  Result<GatewayCharge> charge(const ChargeRequest& request) override;
  Result<std::optional<GatewayCharge>> find_charge(const std::string& idempotency_key) override;
  Result<std::string> refund(const std::string& payment_id) override;

  /// Interrupts every call waiting out its latency and makes later calls fail fast with
  /// kUnavailable GATEWAY_SHUTDOWN (nothing charged), so that stopping the consumer is prompt.
  /// Idempotent.
  void shutdown();

  /// Distinct charges made (approved or declined) and refunds made, read from the file (so
  /// including those of earlier instances); -1 when the file cannot be read. For tests and logs.
  [[nodiscard]] std::int64_t charge_count() const;
  [[nodiscard]] std::int64_t refund_count() const;

 private:
  /// Waits out the latency; false when shut down (then the call does nothing).
  bool wait_latency();
  [[nodiscard]] std::int64_t count(const char* table) const;

  SimulatedGatewayOptions options_;
  std::unique_ptr<storage::Database> db_;
  std::mutex mutex_;
  std::condition_variable shutdown_cv_;
  bool shut_down_ = false;
};

}  // namespace orderflow::payment
