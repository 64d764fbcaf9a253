// Issue 11 item 3: a charge and a cancel of one order handled at the same moment by two
// payment-service instances (two PaymentService objects on two Database instances of one
// database, sharing the provider) are serialised by the database, not by the partition
// assignment. Invariants after each race: no refund without a charge, a cancelled order's
// charge is refunded (net charge zero), the payment row says so, and the order's events are
// in a possible order (PAYMENT_REFUNDED after any PAYMENT_COMPLETED).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <barrier>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/gateway/simulated_gateway.h"
#include "adapters/observability/metrics_payment_alerts.h"
#include "adapters/storage/sql_payment_repository.h"
#include "app/payment_service.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/outbox.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_database.h"

namespace orderflow::payment {
namespace {

using nlohmann::json;
using orderflow::testing::DatabaseKind;
using orderflow::testing::TestDatabase;

constexpr const char* kGroup = "payment-service";

Decimal dec(const char* text) { return Decimal::parse(text).value(); }

// One instance of the service: its own connection pool on the shared database.
struct Instance {
  Instance(const storage::StorageConfig& config, PaymentGateway& gateway, const Clock& clock)
      : db(storage::open_database(config)),
        repository(*db, "payments.v1", "payment-service", nullptr),
        service(repository, gateway, alerts, clock, kGroup) {}

  std::unique_ptr<storage::Database> db;
  observability::Metrics metrics{"payment-race-test"};
  MetricsPaymentAlerts alerts{metrics, nullptr};
  SqlPaymentRepository repository;
  PaymentService service;
};

class PaymentRaceTest : public ::testing::TestWithParam<DatabaseKind> {
 protected:
  PaymentRaceTest() : database_(GetParam()) {
    SimulatedGatewayOptions options;
    options.path = dir_.file("payment-gateway.db");
    // A remote provider's latency widens the window between a decision and its commit.
    options.latency = std::chrono::milliseconds{2};
    options.decline = DeclineRule{dec("1000000")};
    gateway_ = std::make_unique<SimulatedGateway>(options);
    auto config = database_.storage_config();
    first_ = std::make_unique<Instance>(config, *gateway_, clock_);
    // Both instances start together and migrate once (the schema_migrations lock).
    storage::migrate(*first_->db, "inbox", messaging::Inbox::migrations());
    storage::migrate(*first_->db, "outbox", messaging::Outbox::migrations());
    storage::migrate(*first_->db, "payment", payment_migrations());
    second_ = std::make_unique<Instance>(config, *gateway_, clock_);
  }

  // The order's events in outbox (commit) order.
  std::map<std::int64_t, std::vector<std::string>> events_by_order() {
    std::map<std::int64_t, std::vector<std::string>> out;
    auto rows = messaging::make_outbox_store(*first_->db)->fetch_unsent(100000);
    EXPECT_TRUE(rows.ok());
    if (!rows.ok()) return out;
    for (const auto& row : rows.value()) {
      auto value = json::parse(row.record.value);
      out[value["orderId"].get<std::int64_t>()].push_back(value["eventType"]);
    }
    return out;
  }

  orderflow::testing::TempDir dir_;
  TestDatabase database_;
  ManualClock clock_;
  std::unique_ptr<SimulatedGateway> gateway_;
  std::unique_ptr<Instance> first_;
  std::unique_ptr<Instance> second_;
};

TEST_P(PaymentRaceTest, ChargeAndCancelOfOneOrderOnTwoInstancesLeaveNoMoneyTaken) {
  constexpr int kOrders = 40;
  std::vector<Result<HandleOutcome>> charged(kOrders, HandleOutcome::kDuplicate);
  std::vector<Result<HandleOutcome>> cancelled(kOrders, HandleOutcome::kDuplicate);
  std::barrier start(2);
  auto order_id = [](int i) { return std::int64_t{1000 + i}; };
  // Which instance charges alternates, so that both run both handlers.
  std::thread charger([&] {
    for (int i = 0; i < kOrders; ++i) {
      start.arrive_and_wait();
      auto& instance = i % 2 == 0 ? *first_ : *second_;
      charged[i] = instance.service.charge(
          {"reserved-" + std::to_string(i), order_id(i), "user-1", dec("100"), "KRW", ""});
    }
  });
  std::thread canceller([&] {
    for (int i = 0; i < kOrders; ++i) {
      start.arrive_and_wait();
      auto& instance = i % 2 == 0 ? *second_ : *first_;
      cancelled[i] = instance.service.cancel({"cancelled-" + std::to_string(i), order_id(i),
                                              "user-1", "USER_REQUESTED", dec("100"), "KRW", ""});
    }
  });
  charger.join();
  canceller.join();

  auto events = events_by_order();
  std::map<HandleOutcome, int> outcomes;
  for (int i = 0; i < kOrders; ++i) {
    SCOPED_TRACE("order " + std::to_string(order_id(i)));
    ASSERT_TRUE(charged[i].ok()) << charged[i].error().code << ": " << charged[i].error().message;
    ASSERT_TRUE(cancelled[i].ok())
        << cancelled[i].error().code << ": " << cancelled[i].error().message;
    ++outcomes[charged[i].value()];
    ++outcomes[cancelled[i].value()];

    auto charge = gateway_->find_charge(std::to_string(order_id(i)));
    ASSERT_TRUE(charge.ok());
    auto payments = first_->service.list_by_order(order_id(i));
    ASSERT_TRUE(payments.ok());
    const auto& order_events = events[order_id(i)];
    if (!charge.value()) {
      // Cancelled before the charge: never charged, nothing recorded, nothing emitted.
      EXPECT_TRUE(payments->empty());
      EXPECT_TRUE(order_events.empty());
      continue;
    }
    // Charged, so refunded: the net charge of a cancelled order is zero.
    EXPECT_TRUE(charge.value()->approved);
    EXPECT_TRUE(charge.value()->refunded);
    ASSERT_EQ(payments->size(), 1u);
    EXPECT_EQ(payments->front().status, PaymentStatus::kRefunded);
    EXPECT_EQ(payments->front().id, charge.value()->payment_id);
    ASSERT_FALSE(order_events.empty());
    EXPECT_EQ(order_events.back(), "PAYMENT_REFUNDED");
    if (order_events.size() == 2) EXPECT_EQ(order_events.front(), "PAYMENT_COMPLETED");
    EXPECT_LE(order_events.size(), 2u);
  }
  // A refund only ever follows a charge (the provider's refunds reference its charges).
  EXPECT_LE(gateway_->refund_count(), gateway_->charge_count());
  EXPECT_EQ(gateway_->refund_count(), gateway_->charge_count());
  for (const auto& [outcome, n] : outcomes) {
    std::cout << "[ outcomes ] " << to_string(outcome) << ": " << n << "\n";
  }
}

ORDERFLOW_ON_BOTH_DATABASES(PaymentRaceTest);

}  // namespace
}  // namespace orderflow::payment
