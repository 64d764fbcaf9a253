// The payment service's consuming side without a broker, shared by the payment integration
// suites: the real RecordHandler (make_event_handler), PaymentService and SqlPaymentRepository on
// SQLite or PostgreSQL, driven with encoded events; the simulated gateway on its own temp file
// behind a counting wrapper that can fail calls, hold charges and restart the provider.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/gateway/simulated_gateway.h"
#include "adapters/http/payment_routes.h"
#include "adapters/kafka/payment_event_handler.h"
#include "adapters/observability/metrics_payment_alerts.h"
#include "adapters/storage/sql_payment_repository.h"
#include "app/payment_service.h"
#include "domain/payment.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/uuid.h"
#include "orderflow/http/router.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/inbox.h"
#include "orderflow/messaging/outbox.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/auth_tokens.h"
#include "orderflow/testing/row_count.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_database.h"

namespace orderflow {
inline void PrintTo(const Decimal& d, std::ostream* os) { *os << d.to_string(); }
}  // namespace orderflow

namespace orderflow::payment::test {

using namespace std::chrono_literals;
using nlohmann::json;
using Outcome = messaging::HandlerOutcome;
using orderflow::testing::eventually;

constexpr const char* kGroup = "payment-service";
constexpr const char* kPaymentsTopic = "payments.v1";
constexpr const char* kTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

inline Decimal dec(const char* text) { return Decimal::parse(text).value(); }

/// The simulated gateway (on the file `path`) behind the port, counting the calls that reach
/// it; a call can be made to fail (kUnavailable) or charges can be held until released, and the
/// provider can be restarted on the same or another file.
class CountingGateway final : public PaymentGateway {
 public:
  CountingGateway(std::string path, DeclineRule rule)
      : rule_(rule), inner_(std::make_unique<SimulatedGateway>(options(std::move(path)))) {}

  /// A new SimulatedGateway instance on `path` replaces the current one, like a process restart
  /// of the provider (or, on another file, a provider that lost its records). No call may be in
  /// flight.
  void restart(std::string path) {
    inner_.reset();
    inner_ = std::make_unique<SimulatedGateway>(options(std::move(path)));
  }

  Result<GatewayCharge> charge(const ChargeRequest& request) override {
    ++charge_calls;
    {
      std::unique_lock lock(mutex_);
      ++entered_charges_;
      entered_cv_.notify_all();
      release_cv_.wait(lock, [&] { return !hold_charges_; });
    }
    if (fail_charges > 0) {
      --fail_charges;
      return unavailable("GATEWAY_TIMEOUT", "simulated gateway timeout");
    }
    EXPECT_EQ(request.idempotency_key, std::to_string(request.order_id));
    return inner_->charge(request);
  }
  Result<std::optional<GatewayCharge>> find_charge(const std::string& key) override {
    ++lookup_calls;
    if (fail_lookups > 0) {
      --fail_lookups;
      return unavailable("GATEWAY_TIMEOUT", "simulated gateway timeout");
    }
    return inner_->find_charge(key);
  }
  Result<std::string> refund(const std::string& payment_id) override {
    ++refund_calls;
    if (fail_refunds > 0) {
      --fail_refunds;
      return unavailable("GATEWAY_TIMEOUT", "simulated gateway timeout");
    }
    return inner_->refund(payment_id);
  }

  void hold_charges() {
    std::lock_guard lock(mutex_);
    hold_charges_ = true;
  }
  void release_charges() {
    {
      std::lock_guard lock(mutex_);
      hold_charges_ = false;
    }
    release_cv_.notify_all();
  }
  int entered_charges() {
    std::lock_guard lock(mutex_);
    return entered_charges_;
  }

  SimulatedGateway& inner() { return *inner_; }

  std::atomic<int> charge_calls{0};
  std::atomic<int> lookup_calls{0};
  std::atomic<int> refund_calls{0};
  std::atomic<int> fail_charges{0};
  std::atomic<int> fail_lookups{0};
  std::atomic<int> fail_refunds{0};

 private:
  SimulatedGatewayOptions options(std::string path) const {
    SimulatedGatewayOptions o;
    o.decline = rule_;
    o.path = std::move(path);
    return o;
  }

  DeclineRule rule_;
  std::unique_ptr<SimulatedGateway> inner_;
  std::mutex mutex_;
  std::condition_variable entered_cv_;
  std::condition_variable release_cv_;
  bool hold_charges_ = false;
  int entered_charges_ = 0;
};

/// Parametrised over the service's database (…/Sqlite, …/Postgres); the provider's file is
/// always SQLite.
class PaymentServiceTest : public ::testing::TestWithParam<orderflow::testing::DatabaseKind> {
 protected:
  PaymentServiceTest()
      : database_(GetParam()),
        gateway_(dir_.file("payment-gateway.db"), DeclineRule{dec("1000000")}) {
    db_ = storage::open_database(database_.storage_config());
    storage::migrate(*db_, "inbox", messaging::Inbox::migrations());
    storage::migrate(*db_, "outbox", messaging::Outbox::migrations());
    storage::migrate(*db_, "payment", payment_migrations());
    repository_ = std::make_unique<SqlPaymentRepository>(*db_, kPaymentsTopic, "payment-service",
                                                         [this] { ++relay_wakeups_; });
    service_ = std::make_unique<PaymentService>(*repository_, gateway_, alerts_, clock_, kGroup,
                                                &metrics_);
    handler_ = make_event_handler(*service_, observability::make_logger("payment-test", {"off"}));
    add_payment_routes(router_, *service_);
  }

  messaging::ConsumedRecord record(const std::string& topic, const std::string& type,
                                   const json& payload, std::string event_id = {},
                                   int version = 1) {
    messaging::EventMeta meta{event_id.empty() ? new_uuid() : std::move(event_id), type, version,
                              "2026-11-21T10:15:30.123Z"};
    messaging::ConsumedRecord r;
    r.topic = topic;
    r.partition = 1;
    r.offset = next_offset_++;
    r.key = payload.contains("orderId") ? payload["orderId"].dump() : "";
    r.value = messaging::encode_event(meta, payload);
    r.headers = messaging::standard_headers(meta, "test", kTrace);
    return r;
  }

  messaging::ConsumedRecord stock_reserved(std::int64_t order_id, const std::string& amount,
                                           std::string event_id = {},
                                           const std::string& currency = "KRW") {
    return record("inventory.v1", "STOCK_RESERVED",
                  {{"orderId", order_id},
                   {"userId", "user-" + std::to_string(order_id)},
                   {"totalAmount", amount},
                   {"currency", currency},
                   {"items", json::array({{{"sku", "ABC-001"}, {"quantity", 2}}})},
                   {"expiresAt", "2026-11-21T10:30:30.123Z"}},
                  std::move(event_id));
  }

  messaging::ConsumedRecord order_cancelled(std::int64_t order_id, const std::string& amount,
                                            std::string event_id = {},
                                            const std::string& reason = "USER_REQUESTED",
                                            const std::string& currency = "KRW") {
    return record("orders.v1", "ORDER_CANCELLED",
                  {{"orderId", order_id},
                   {"userId", "user-" + std::to_string(order_id)},
                   {"totalAmount", amount},
                   {"currency", currency},
                   {"reason", reason},
                   {"previousStatus", "CONFIRMED"}},
                  std::move(event_id));
  }

  /// The handler's result, its hand-off (the gateway call) run inline.
  messaging::HandlerResult handle(const messaging::ConsumedRecord& r) {
    return messaging::complete(handler_(r));
  }

  std::vector<messaging::OutgoingRecord> outbox() {
    auto rows = messaging::make_outbox_store(*db_)->fetch_unsent(1000);
    EXPECT_TRUE(rows.ok());
    std::vector<messaging::OutgoingRecord> out;
    if (rows.ok()) {
      for (auto& row : rows.value()) out.push_back(std::move(row.record));
    }
    return out;
  }

  std::int64_t count(const std::string& table) {
    return orderflow::testing::row_count(*db_, table);
  }

  std::optional<Payment> payment_of(std::int64_t order_id) {
    auto list = service_->list_by_order(order_id);
    EXPECT_TRUE(list.ok());
    if (!list.ok() || list->empty()) return std::nullopt;
    EXPECT_EQ(list->size(), 1u);
    return list->front();
  }

  /// Dispatches a GET, with `token` as its bearer token when given; authenticated by auth_
  /// when a test set it (auth.mode none otherwise).
  http::Response get(const std::string& path, std::map<std::string, std::string> query = {},
                     const std::optional<std::string>& token = std::nullopt) {
    http::Request req;
    req.method = "GET";
    req.path = path;
    req.query = std::move(query);
    if (token) req.headers.push_back(orderflow::testing::bearer(*token));
    return router_.dispatch(req, auth_.get()).response;
  }

  static void expect_processed(const messaging::HandlerResult& r) {
    EXPECT_EQ(r.outcome, Outcome::kProcessed)
        << (r.error ? r.error->code + ": " + r.error->message : std::string("no error"));
    EXPECT_FALSE(r.error.has_value());
  }
  static void expect_skip(const messaging::HandlerResult& r, const std::string& code) {
    EXPECT_EQ(r.outcome, Outcome::kSkip);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->code, code);
  }

  orderflow::testing::TempDir dir_;
  orderflow::testing::TestDatabase database_;
  ManualClock clock_;
  CountingGateway gateway_;
  observability::Metrics metrics_{"payment-test"};
  MetricsPaymentAlerts alerts_{metrics_, nullptr};
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<SqlPaymentRepository> repository_;
  std::unique_ptr<PaymentService> service_;
  messaging::RecordHandler handler_;
  http::Router router_;
  std::unique_ptr<http::Authenticator> auth_;
  std::atomic<int> relay_wakeups_{0};
  std::int64_t next_offset_ = 0;
};

}  // namespace orderflow::payment::test
