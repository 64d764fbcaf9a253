#include "simulated_gateway.h"

#include "orderflow/common/uuid.h"

namespace orderflow::payment {
namespace {

const storage::Migration kMigrations[] = {
    {1, "charges and refunds",
     "CREATE TABLE charges ("
     " idempotency_key TEXT PRIMARY KEY,"
     " payment_id TEXT NOT NULL UNIQUE,"
     " order_id INTEGER NOT NULL,"
     " user_id TEXT NOT NULL,"
     " amount TEXT NOT NULL,"
     " currency TEXT NOT NULL,"
     " approved INTEGER NOT NULL,"
     " decline_reason TEXT NOT NULL DEFAULT '');"
     "CREATE TABLE refunds ("
     " payment_id TEXT PRIMARY KEY REFERENCES charges (payment_id),"
     " refund_id TEXT NOT NULL UNIQUE);"},
};

// The provider's file is always SQLite, so one dialect. `refunded` is derived from the refunds
// table rather than kept twice.
constexpr const char* kSelectCharge =
    "SELECT c.payment_id, c.approved, c.decline_reason, c.amount, c.currency,"
    " CASE WHEN r.refund_id IS NULL THEN 0 ELSE 1 END"
    " FROM charges c LEFT JOIN refunds r ON r.payment_id = c.payment_id";

Error shut_down_error() {
  return unavailable("GATEWAY_SHUTDOWN", "the payment gateway is shutting down");
}

GatewayCharge charge_from_row(const storage::Row& row) {
  GatewayCharge c;
  c.payment_id = row.text(0);
  c.approved = row.integer(1) != 0;
  c.decline_reason = row.text(2);
  // Only this gateway writes the column, from a Decimal.
  c.amount = Decimal::parse(row.text(3)).value_or(Decimal{});
  c.currency = row.text(4);
  c.refunded = row.integer(5) != 0;
  return c;
}

Result<std::optional<GatewayCharge>> select_charge(storage::Tx& tx, const char* column,
                                                   const std::string& value) {
  auto rows = tx.query(std::string(kSelectCharge) + " WHERE c." + column + " = ?", {value});
  if (!rows) return rows.error();
  if (rows.value().empty()) return std::optional<GatewayCharge>{};
  return std::optional<GatewayCharge>{charge_from_row(rows.value()[0])};
}

storage::StorageConfig storage_config(const SimulatedGatewayOptions& options) {
  storage::StorageConfig cfg;
  cfg.sqlite_path = options.path;
  cfg.busy_timeout_ms = options.busy_timeout_ms;
  cfg.pool_size = 2;
  return cfg;
}

}  // namespace

std::span<const storage::Migration> simulated_gateway_migrations() { return kMigrations; }

SimulatedGateway::SimulatedGateway(SimulatedGatewayOptions options)
    : options_(std::move(options)), db_(storage::open_database(storage_config(options_))) {
  storage::migrate(*db_, "payment-gateway", simulated_gateway_migrations());
}

SimulatedGateway::~SimulatedGateway() = default;

bool SimulatedGateway::wait_latency() {
  std::unique_lock lock(mutex_);
  if (shut_down_) return false;
  if (options_.latency.count() > 0) {
    // The lock is released while waiting, so concurrent calls overlap like remote calls do.
    shutdown_cv_.wait_for(lock, options_.latency, [this] { return shut_down_; });
  }
  return !shut_down_;
}

Result<GatewayCharge> SimulatedGateway::charge(const ChargeRequest& request) {
  if (!wait_latency()) return shut_down_error();
  GatewayCharge result;
  // Look-up and insert in one write transaction: two concurrent calls with one key cannot both
  // insert, the second finds the first's charge.
  auto written = db_->write([&](storage::Tx& tx) -> Result<void> {
    auto existing = select_charge(tx, "idempotency_key", request.idempotency_key);
    if (!existing) return existing.error();
    if (const auto& c = existing.value()) {
      if (c->amount != request.amount || c->currency != request.currency) {
        return conflict("IDEMPOTENCY_KEY_REUSED",
                        "key " + request.idempotency_key + " was charged " + c->amount.to_string() +
                            " " + c->currency + ", now asked for " + request.amount.to_string() +
                            " " + request.currency);
      }
      result = *c;
      return {};
    }
    result.payment_id = new_uuid();
    result.amount = request.amount;
    result.currency = request.currency;
    result.approved = !options_.decline.declines(request.amount);
    if (!result.approved) result.decline_reason = std::string(kReasonAmountLimitExceeded);
    auto inserted = tx.exec(
        "INSERT INTO charges (idempotency_key, payment_id, order_id, user_id, amount, currency,"
        " approved, decline_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {request.idempotency_key, result.payment_id, request.order_id, request.user_id,
         request.amount.to_string(), request.currency, std::int64_t{result.approved ? 1 : 0},
         result.decline_reason});
    if (!inserted) return inserted.error();
    return {};
  });
  if (!written) return written.error();
  return result;
}

Result<std::optional<GatewayCharge>> SimulatedGateway::find_charge(
    const std::string& idempotency_key) {
  if (!wait_latency()) return shut_down_error();
  std::optional<GatewayCharge> found;
  auto read = db_->read([&](storage::Tx& tx) -> Result<void> {
    auto charge = select_charge(tx, "idempotency_key", idempotency_key);
    if (!charge) return charge.error();
    found = std::move(charge.value());
    return {};
  });
  if (!read) return read.error();
  return found;
}

Result<std::string> SimulatedGateway::refund(const std::string& payment_id) {
  if (!wait_latency()) return shut_down_error();
  std::string refund_id;
  auto written = db_->write([&](storage::Tx& tx) -> Result<void> {
    auto charge = select_charge(tx, "payment_id", payment_id);
    if (!charge) return charge.error();
    if (!charge.value()) {
      return not_found("UNKNOWN_PAYMENT", "no charge with paymentId " + payment_id);
    }
    if (!charge.value()->approved) {
      return conflict("NOT_REFUNDABLE", "charge " + payment_id + " was declined");
    }
    auto done = tx.query("SELECT refund_id FROM refunds WHERE payment_id = ?", {payment_id});
    if (!done) return done.error();
    if (!done.value().empty()) {
      refund_id = done.value()[0].text(0);
      return {};
    }
    refund_id = new_uuid();
    auto inserted = tx.exec("INSERT INTO refunds (payment_id, refund_id) VALUES (?, ?)",
                            {payment_id, refund_id});
    if (!inserted) return inserted.error();
    return {};
  });
  if (!written) return written.error();
  return refund_id;
}

void SimulatedGateway::shutdown() {
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
  }
  shutdown_cv_.notify_all();
}

std::int64_t SimulatedGateway::count(const char* table) const {
  std::int64_t n = -1;
  auto read = db_->read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query(std::string("SELECT COUNT(*) FROM ") + table);
    if (!rows) return rows.error();
    n = rows.value().at(0).integer(0);
    return {};
  });
  return read ? n : -1;
}

std::int64_t SimulatedGateway::charge_count() const { return count("charges"); }

std::int64_t SimulatedGateway::refund_count() const { return count("refunds"); }

}  // namespace orderflow::payment
