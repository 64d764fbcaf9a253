#include "simulated_gateway.h"

#include "orderflow/common/uuid.h"

namespace orderflow::payment {
namespace {

Error shut_down_error() {
  return unavailable("GATEWAY_SHUTDOWN", "the payment gateway is shutting down");
}

}  // namespace

bool SimulatedGateway::wait_latency(std::unique_lock<std::mutex>& lock) {
  if (shut_down_) return false;
  if (options_.latency.count() > 0) {
    // The lock is released while waiting, so concurrent calls overlap like remote calls do.
    shutdown_cv_.wait_for(lock, options_.latency, [this] { return shut_down_; });
  }
  return !shut_down_;
}

Result<GatewayCharge> SimulatedGateway::charge(const ChargeRequest& request) {
  std::unique_lock lock(mutex_);
  if (!wait_latency(lock)) return shut_down_error();
  if (auto it = charges_by_key_.find(request.idempotency_key); it != charges_by_key_.end()) {
    if (it->second.amount != request.amount || it->second.currency != request.currency) {
      return conflict("IDEMPOTENCY_KEY_REUSED",
                      "key " + request.idempotency_key + " was charged " +
                          it->second.amount.to_string() + " " + it->second.currency +
                          ", now asked for " + request.amount.to_string() + " " + request.currency);
    }
    return it->second;
  }
  GatewayCharge c;
  c.payment_id = new_uuid();
  c.amount = request.amount;
  c.currency = request.currency;
  c.approved = !options_.decline.declines(request.amount);
  if (!c.approved) c.decline_reason = std::string(kReasonAmountLimitExceeded);
  charges_by_key_.emplace(request.idempotency_key, c);
  key_by_payment_.emplace(c.payment_id, request.idempotency_key);
  return c;
}

Result<std::optional<GatewayCharge>> SimulatedGateway::find_charge(
    const std::string& idempotency_key) {
  std::unique_lock lock(mutex_);
  if (!wait_latency(lock)) return shut_down_error();
  auto it = charges_by_key_.find(idempotency_key);
  if (it == charges_by_key_.end()) return std::optional<GatewayCharge>{};
  return std::optional<GatewayCharge>{it->second};
}

Result<std::string> SimulatedGateway::refund(const std::string& payment_id) {
  std::unique_lock lock(mutex_);
  if (!wait_latency(lock)) return shut_down_error();
  auto key = key_by_payment_.find(payment_id);
  if (key == key_by_payment_.end()) {
    return not_found("UNKNOWN_PAYMENT", "no charge with paymentId " + payment_id);
  }
  auto& charge = charges_by_key_.at(key->second);
  if (!charge.approved) {
    return conflict("NOT_REFUNDABLE", "charge " + payment_id + " was declined");
  }
  if (auto done = refund_by_payment_.find(payment_id); done != refund_by_payment_.end()) {
    return done->second;
  }
  std::string refund_id = new_uuid();
  refund_by_payment_.emplace(payment_id, refund_id);
  charge.refunded = true;
  return refund_id;
}

void SimulatedGateway::shutdown() {
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
  }
  shutdown_cv_.notify_all();
}

std::int64_t SimulatedGateway::charge_count() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::int64_t>(charges_by_key_.size());
}

std::int64_t SimulatedGateway::refund_count() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::int64_t>(refund_by_payment_.size());
}

}  // namespace orderflow::payment
