#pragma once

#include <functional>
#include <span>
#include <string>

#include "../../app/ports.h"
#include "orderflow/storage/database.h"

namespace orderflow::payment {

/// Schema of the payment service (component "payment"): payments (one per order) and
/// cancelled_orders. The inbox and outbox tables come from messaging::Inbox / Outbox.
std::span<const storage::Migration> payment_migrations();

/// PaymentRepository on storage::Database (SQLite or PostgreSQL). process_once() runs
/// messaging::Inbox::process with the payment row and messaging::Outbox::append (record built
/// for `payments_topic`, header source = `source`) in one transaction and calls `on_commit`
/// after a commit that appended an event (to wake the outbox relay). Thread-safe.
class SqlPaymentRepository final : public PaymentRepository {
 public:
  SqlPaymentRepository(storage::Database& db, std::string payments_topic, std::string source,
                       std::function<void()> on_commit)
      : db_(db),
        payments_topic_(std::move(payments_topic)),
        source_(std::move(source)),
        on_commit_(std::move(on_commit)) {}

  Result<bool> already_processed(std::string_view consumer_group,
                                 std::string_view event_id) override;
  Result<bool> process_once(std::string_view consumer_group, std::string_view event_id,
                            const Effect& effect) override;
  Result<OrderPaymentState> state_of(std::int64_t order_id) override;
  Result<void> apply_outside_inbox(const PaymentChange& change) override;
  Result<void> mark_cancelled(std::int64_t order_id, const std::string& user_id,
                              const std::string& reason, Clock::TimePoint at) override;
  Result<std::vector<Payment>> find_by_order(std::int64_t order_id) override;
  Result<Payment> find(const std::string& payment_id) override;

 private:
  class Tx;

  /// The payment row, cancel mark and outbox record of `change`, in `tx`.
  Result<void> write_change(storage::Tx& tx, const PaymentChange& change);

  storage::Database& db_;
  std::string payments_topic_;
  std::string source_;
  std::function<void()> on_commit_;
};

}  // namespace orderflow::payment
