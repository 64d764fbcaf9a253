#include "sql_payment_repository.h"

#include "../kafka/payment_events.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/outbox.h"

namespace orderflow::payment {
namespace {

const storage::Migration kMigrations[] = {
    {1, "payments and cancelled orders",
     "CREATE TABLE payments ("
     " payment_id TEXT PRIMARY KEY,"
     " order_id INTEGER NOT NULL UNIQUE,"
     " user_id TEXT NOT NULL,"
     " amount TEXT NOT NULL,"
     " currency TEXT NOT NULL,"
     " status TEXT NOT NULL,"
     " reason TEXT NOT NULL DEFAULT '',"
     " refund_id TEXT NOT NULL DEFAULT '',"
     " created_at_ms INTEGER NOT NULL,"
     " updated_at_ms INTEGER NOT NULL);"
     "CREATE TABLE cancelled_orders ("
     " order_id INTEGER PRIMARY KEY,"
     " user_id TEXT NOT NULL,"
     " reason TEXT NOT NULL DEFAULT '',"
     " cancelled_at_ms INTEGER NOT NULL);",
     "CREATE TABLE payments ("
     " payment_id TEXT PRIMARY KEY,"
     " order_id BIGINT NOT NULL UNIQUE,"
     " user_id TEXT NOT NULL,"
     " amount TEXT NOT NULL,"
     " currency TEXT NOT NULL,"
     " status TEXT NOT NULL,"
     " reason TEXT NOT NULL DEFAULT '',"
     " refund_id TEXT NOT NULL DEFAULT '',"
     " created_at_ms BIGINT NOT NULL,"
     " updated_at_ms BIGINT NOT NULL);"
     "CREATE TABLE cancelled_orders ("
     " order_id BIGINT PRIMARY KEY,"
     " user_id TEXT NOT NULL,"
     " reason TEXT NOT NULL DEFAULT '',"
     " cancelled_at_ms BIGINT NOT NULL);"},
    // One row per order that a write transaction has locked: its payment and cancel mark may
    // not exist yet, and PostgreSQL cannot lock a row that does not exist.
    {2, "order locks", "CREATE TABLE payment_order_locks (order_id BIGINT PRIMARY KEY)"},
};

constexpr const char* kPaymentColumns =
    "payment_id, order_id, user_id, amount, currency, status, reason, refund_id, created_at_ms,"
    " updated_at_ms";

Clock::TimePoint from_ms(std::int64_t ms) {
  return Clock::TimePoint{std::chrono::milliseconds{ms}};
}

Payment payment_from_row(const storage::Row& row) {
  Payment p;
  p.id = row.text(0);
  p.order_id = row.integer(1);
  p.user_id = row.text(2);
  // Only this repository writes these columns, from a Decimal and to_string(status).
  p.amount = Decimal::parse(row.text(3)).value_or(Decimal{});
  p.currency = row.text(4);
  p.status = parse_payment_status(row.text(5)).value_or(PaymentStatus::kFailed);
  p.reason = row.text(6);
  p.refund_id = row.text(7);
  p.created_at = from_ms(row.integer(8));
  p.updated_at = from_ms(row.integer(9));
  return p;
}

Result<void> write_payment(storage::Tx& tx, const PaymentChange& change) {
  const Payment& p = *change.payment;
  if (change.insert) {
    auto r = tx.exec(std::string("INSERT INTO payments (") + kPaymentColumns +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     {p.id, p.order_id, p.user_id, p.amount.to_string(), p.currency,
                      std::string(to_string(p.status)), p.reason, p.refund_id,
                      to_epoch_ms(p.created_at), to_epoch_ms(p.updated_at)});
    if (!r) return r.error();
    return {};
  }
  auto changed = tx.exec(
      "UPDATE payments SET status = ?, reason = ?, refund_id = ?, updated_at_ms = ?"
      " WHERE payment_id = ? AND status = ?",
      {std::string(to_string(p.status)), p.reason, p.refund_id, to_epoch_ms(p.updated_at), p.id,
       std::string(to_string(change.expected_status))});
  if (!changed) return changed.error();
  if (changed.value() != 1) {
    return conflict("PAYMENT_CHANGED",
                    "payment " + p.id + " is no longer " + to_string(change.expected_status));
  }
  return {};
}

Result<void> insert_cancel_mark(storage::Tx& tx, std::int64_t order_id, const std::string& user_id,
                                const std::string& reason, Clock::TimePoint at) {
  auto r = tx.exec(
      "INSERT INTO cancelled_orders (order_id, user_id, reason, cancelled_at_ms)"
      " VALUES (?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING",
      {order_id, user_id, reason, to_epoch_ms(at)});
  if (!r) return r.error();
  return {};
}

// Takes the order's row lock until the end of the transaction (inserting its row the first
// time). Every transaction that changes an order's payment or cancel mark, or appends an event
// about it, takes it first: concurrent writers of one order (two instances handling a charge
// and a cancel) run one after the other, and the outbox ids of one order follow commit order.
// SQLite serialises writers anyway.
Result<void> lock_order(storage::Tx& tx, std::int64_t order_id) {
  auto r = tx.exec(
      "INSERT INTO payment_order_locks (order_id) VALUES (?)"
      " ON CONFLICT (order_id) DO UPDATE SET order_id = excluded.order_id",
      {order_id});
  if (!r) return r.error();
  return {};
}

Result<OrderPaymentState> read_state(storage::Tx& tx, std::int64_t order_id) {
  OrderPaymentState state;
  auto payments = tx.query(
      std::string("SELECT ") + kPaymentColumns + " FROM payments WHERE order_id = ?", {order_id});
  if (!payments) return payments.error();
  if (!payments.value().empty()) state.payment = payment_from_row(payments.value()[0]);
  auto cancelled = tx.query("SELECT 1 FROM cancelled_orders WHERE order_id = ?", {order_id});
  if (!cancelled) return cancelled.error();
  state.cancelled = !cancelled.value().empty();
  return state;
}

bool same_state(const OrderPaymentState& a, const OrderPaymentState& b) {
  if (a.cancelled != b.cancelled || a.payment.has_value() != b.payment.has_value()) return false;
  return !a.payment || (a.payment->id == b.payment->id && a.payment->status == b.payment->status);
}

}  // namespace

std::span<const storage::Migration> payment_migrations() { return kMigrations; }

// PaymentTx on the storage transaction of process_once.
class SqlPaymentRepository::Tx final : public PaymentTx {
 public:
  Tx(SqlPaymentRepository& repository, storage::Tx& tx) : repository_(repository), tx_(tx) {}
  Result<void> apply(const PaymentChange& change) override {
    auto written = repository_.write_change(tx_, change);
    published_ = published_ || (written && change.event);
    return written;
  }
  [[nodiscard]] bool published() const { return published_; }

 private:
  SqlPaymentRepository& repository_;
  storage::Tx& tx_;
  bool published_ = false;
};

Result<bool> SqlPaymentRepository::already_processed(std::string_view consumer_group,
                                                     std::string_view event_id) {
  return messaging::Inbox::contains(db_, consumer_group, event_id);
}

Result<OrderPaymentState> SqlPaymentRepository::state_of(std::int64_t order_id) {
  OrderPaymentState state;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto read = read_state(tx, order_id);
    if (!read) return read.error();
    state = std::move(read.value());
    return {};
  });
  if (!r) return r.error();
  return state;
}

Result<bool> SqlPaymentRepository::process_once(std::string_view consumer_group,
                                                std::string_view event_id, const Effect& effect) {
  return messaging::Inbox::process(
      db_, consumer_group, event_id, effect, [this](storage::Tx& tx) { return Tx(*this, tx); },
      on_commit_);
}

Result<void> SqlPaymentRepository::apply_outside_inbox(const PaymentChange& change) {
  auto written = db_.write([&](storage::Tx& tx) { return write_change(tx, change); });
  if (!written) return written.error();
  if (change.event && on_commit_) on_commit_();
  return {};
}

Result<void> SqlPaymentRepository::write_change(storage::Tx& tx, const PaymentChange& change) {
  if (change.event && !change.payment) {
    return internal_error("INVALID_CHANGE", "an event needs the payment it is about");
  }
  if (auto locked = lock_order(tx, change.order_id); !locked) return locked;
  auto now = read_state(tx, change.order_id);
  if (!now) return now.error();
  if (!same_state(now.value(), change.decided_on)) {
    return conflict(kOrderChanged, "order " + std::to_string(change.order_id) +
                                       " changed since its payment was decided");
  }
  if (change.payment) {
    auto written = write_payment(tx, change);
    if (!written) return written;
  }
  if (change.mark_cancelled) {
    auto marked =
        insert_cancel_mark(tx, change.order_id, change.user_id, change.cancel_reason, change.at);
    if (!marked) return marked;
  }
  if (change.event) {
    return messaging::Outbox::append(
        tx, payment_event_record(*change.event, *change.payment, payments_topic_, source_,
                                 change.traceparent));
  }
  return {};
}

Result<void> SqlPaymentRepository::mark_cancelled(std::int64_t order_id, const std::string& user_id,
                                                  const std::string& reason, Clock::TimePoint at) {
  return db_.write([&](storage::Tx& tx) -> Result<void> {
    if (auto locked = lock_order(tx, order_id); !locked) return locked;
    return insert_cancel_mark(tx, order_id, user_id, reason, at);
  });
}

Result<std::vector<Payment>> SqlPaymentRepository::find_by_order(std::int64_t order_id) {
  std::vector<Payment> out;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto rows = tx.query(std::string("SELECT ") + kPaymentColumns +
                             " FROM payments WHERE order_id = ? ORDER BY created_at_ms, payment_id",
                         {order_id});
    if (!rows) return rows.error();
    for (const auto& row : rows.value()) out.push_back(payment_from_row(row));
    return {};
  });
  if (!r) return r.error();
  return out;
}

Result<Payment> SqlPaymentRepository::find(const std::string& payment_id) {
  std::optional<Payment> found;
  auto r = db_.read([&](storage::Tx& tx) -> Result<void> {
    auto rows =
        tx.query(std::string("SELECT ") + kPaymentColumns + " FROM payments WHERE payment_id = ?",
                 {payment_id});
    if (!rows) return rows.error();
    if (!rows.value().empty()) found = payment_from_row(rows.value()[0]);
    return {};
  });
  if (!r) return r.error();
  if (!found) return not_found("PAYMENT_NOT_FOUND", "payment " + payment_id + " not found");
  return *found;
}

}  // namespace orderflow::payment
