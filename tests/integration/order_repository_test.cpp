// Integration tests of SqlOrderRepository and OrderService on a temp SQLite database: the order,
// its items and exactly one ORDER_CREATED outbox row commit together (transactional outbox).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <strings.h>
#include <atomic>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/http/order_routes.h"
#include "adapters/storage/sql_order_repository.h"
#include "app/order_service.h"
#include "domain/order.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/decimal.h"
#include "orderflow/http/client.h"
#include "orderflow/http/router.h"
#include "orderflow/http/server.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/messaging/outbox.h"
#include "orderflow/messaging/record.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/storage/database.h"
#include "orderflow/testing/auth_tokens.h"
#include "orderflow/testing/row_count.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/test_database.h"

namespace orderflow {
void PrintTo(const Decimal& d, std::ostream* os) { *os << d.to_string(); }
}  // namespace orderflow

namespace orderflow::order {
namespace {

using namespace std::chrono_literals;

Decimal dec(const char* text) { return Decimal::parse(text).value(); }

class OrderRepositoryTest : public ::testing::TestWithParam<orderflow::testing::DatabaseKind> {
 protected:
  OrderRepositoryTest() : database_(GetParam()) {
    db_ = storage::open_database(database_.storage_config());
    storage::migrate(*db_, "outbox", messaging::Outbox::migrations());
    storage::migrate(*db_, "order", order_migrations());
    repository_ =
        std::make_unique<SqlOrderRepository>(*db_, kTopic, "order-service", [this] { ++commits_; });
    service_ = std::make_unique<OrderService>(*repository_, catalog_, clock_);
  }

  std::int64_t count(const std::string& table) {
    return orderflow::testing::row_count(*db_, table);
  }

  std::vector<messaging::OutboxStore::Row> outbox_rows() {
    auto store = messaging::make_outbox_store(*db_);
    auto rows = store->fetch_unsent(1000);
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    return rows.ok() ? rows.value() : std::vector<messaging::OutboxStore::Row>{};
  }

  OrderRequest seed003_request(const std::string& user = "42") {
    OrderRequest r;
    r.user_id = user;
    r.items.push_back({"ABC-001", 2, std::nullopt});
    return r;
  }

  static constexpr const char* kTopic = "orders.v1";
  orderflow::testing::TestDatabase database_;
  std::unique_ptr<storage::Database> db_;
  Catalog catalog_{"KRW",
                   {{"ABC-001", "Wireless Mouse", dec("12900"), 1000},
                    {"1", "Sample Product 1", dec("100.00"), 1000}}};
  // order-service's routes on a started server on an ephemeral port (authentication `mode` when
  // given); the router and metrics must outlive it.
  std::unique_ptr<http::Server> serve_orders(http::Router& router, observability::Metrics& metrics,
                                             std::optional<http::AuthMode> mode = std::nullopt) {
    add_order_routes(router, *service_, [] { return true; });
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    if (mode) options.auth = orderflow::testing::test_auth_config(*mode);
    auto server = std::make_unique<http::Server>(
        options, router, metrics, observability::make_logger("order-http-test", {"warn", "text"}));
    server->start();
    return server;
  }

  ManualClock clock_;
  std::atomic<int> commits_{0};
  std::unique_ptr<SqlOrderRepository> repository_;
  std::unique_ptr<OrderService> service_;
};

TEST_P(OrderRepositoryTest, CreateStoresOrderItemsAndExactlyOneOutboxRow) {
  auto created = service_->create(seed003_request());
  ASSERT_TRUE(created.ok()) << created.error().message;
  const Order& order = created.value();
  EXPECT_GT(order.id, 0);
  EXPECT_EQ(order.status, OrderStatus::kPending);
  EXPECT_EQ(order.total_amount, dec("25800"));
  EXPECT_EQ(commits_.load(), 1);

  EXPECT_EQ(count("orders"), 1);
  EXPECT_EQ(count("order_items"), 1);
  EXPECT_EQ(count("outbox"), 1);

  auto rows = outbox_rows();
  ASSERT_EQ(rows.size(), 1u);
  const auto& record = rows[0].record;
  EXPECT_EQ(record.topic, kTopic);
  EXPECT_EQ(record.key, std::to_string(order.id));

  auto decoded = messaging::decode_event(record.value);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message << ": " << record.value;
  EXPECT_EQ(decoded->meta.event_type, "ORDER_CREATED");
  EXPECT_EQ(decoded->meta.event_version, 1);
  EXPECT_EQ(decoded->meta.timestamp, format_iso8601(clock_.now()));
  EXPECT_FALSE(decoded->meta.event_id.empty());
  const auto body = nlohmann::json::parse(record.value);
  ASSERT_TRUE(body.at("orderId").is_number_integer()) << record.value;
  EXPECT_EQ(body.at("orderId").get<std::int64_t>(), order.id);
  EXPECT_EQ(body.at("userId"), "42");
  EXPECT_EQ(body.at("totalAmount"), "25800");
  EXPECT_EQ(body.at("currency"), "KRW");
  ASSERT_EQ(body.at("items").size(), 1u);
  EXPECT_EQ(body.at("items")[0].at("sku"), "ABC-001");
  EXPECT_EQ(body.at("items")[0].at("quantity"), 2);
  EXPECT_EQ(body.at("items")[0].at("unitPrice"), "12900");

  auto event_id = messaging::find_header(record.headers, "eventId");
  ASSERT_TRUE(event_id.has_value());
  EXPECT_EQ(*event_id, decoded->meta.event_id);
  EXPECT_EQ(messaging::find_header(record.headers, "eventType"), "ORDER_CREATED");
  EXPECT_EQ(messaging::find_header(record.headers, "source"), "order-service");
  auto traceparent = messaging::find_header(record.headers, "traceparent");
  ASSERT_TRUE(traceparent.has_value());
  EXPECT_TRUE(std::regex_match(*traceparent, std::regex("00-[0-9a-f]{32}-[0-9a-f]{16}-01")))
      << *traceparent;
}

// Issue 15: the events of POST /api/orders and POST /api/orders/{id}/cancel continue the trace
// of the request (a child span of its traceparent header), and start a new trace without a
// valid one.
TEST_P(OrderRepositoryTest, EventsOfHttpRequestsContinueTheRequestsTrace) {
  http::Router router;
  observability::Metrics metrics{"order-service"};
  auto server_ptr = serve_orders(router, metrics);
  http::Server& server = *server_ptr;
  const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const std::string cancel_parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const std::string body = R"({"userId":"42","items":[{"sku":"ABC-001","quantity":1}]})";
  // The traceparent each response carries back: the server's span of the request.
  std::vector<std::string> returned;
  auto returned_trace = [&](const http::Response& response) {
    for (const auto& [name, value] : response.headers) {
      if (strcasecmp(name.c_str(), "traceparent") == 0) returned.push_back(value);
    }
  };
  std::int64_t first_id = 0;
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"traceparent", parent}}, {}, {{"traceparent", "not-a-trace"}}}) {
    auto created = http::request("127.0.0.1", server.port(), "POST", "/api/orders", body, headers);
    ASSERT_TRUE(created.ok()) << created.error().message;
    ASSERT_EQ(created->status, 201) << created->body;
    returned_trace(*created);
    if (first_id == 0) first_id = nlohmann::json::parse(created->body).at("orderId");
  }
  auto cancelled = http::request("127.0.0.1", server.port(), "POST",
                                 "/api/orders/" + std::to_string(first_id) + "/cancel", "",
                                 {{"traceparent", cancel_parent}});
  ASSERT_TRUE(cancelled.ok()) << cancelled.error().message;
  ASSERT_EQ(cancelled->status, 200) << cancelled->body;
  returned_trace(*cancelled);
  server.stop();

  auto rows = outbox_rows();
  ASSERT_EQ(rows.size(), 4u);  // 3 × ORDER_CREATED, ORDER_CANCELLED
  std::vector<std::string> traces;
  for (const auto& row : rows) {
    auto trace = messaging::find_header(row.record.headers, "traceparent").value_or("");
    EXPECT_TRUE(std::regex_match(trace, std::regex("00-[0-9a-f]{32}-[0-9a-f]{16}-01"))) << trace;
    traces.push_back(trace);
  }
  EXPECT_EQ(traces[0].substr(0, 36), parent.substr(0, 36)) << "the caller's trace";
  EXPECT_NE(traces[0], parent) << "a span of order-service's own";
  EXPECT_NE(traces[1].substr(0, 36), parent.substr(0, 36)) << "no header: a new trace";
  EXPECT_NE(traces[2].substr(0, 36), traces[1].substr(0, 36)) << "a bad header: a new trace";
  EXPECT_EQ(traces[3].substr(0, 36), cancel_parent.substr(0, 36)) << "the cancel's trace";
  EXPECT_NE(traces[3], cancel_parent);
  EXPECT_EQ(returned, traces) << "each event carries the span its request's response names";
}

TEST_P(OrderRepositoryTest, FindReturnsTheStoredOrder) {
  OrderRequest request;
  request.user_id = "1001";
  request.customer_email = "u1001@example.com";
  request.items.push_back({"1", 2, dec("100.00")});
  request.items.push_back({"NEW-9", 3, dec("0.1")});
  auto created = service_->create(request);
  ASSERT_TRUE(created.ok()) << created.error().message;

  auto found = service_->get(created->id);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->id, created->id);
  EXPECT_EQ(found->user_id, "1001");
  EXPECT_EQ(found->customer_email, "u1001@example.com");
  EXPECT_EQ(found->status, OrderStatus::kPending);
  EXPECT_EQ(found->currency, "KRW");
  EXPECT_EQ(found->total_amount, dec("200.3"));
  EXPECT_EQ(found->created_at, clock_.now());
  EXPECT_EQ(found->updated_at, clock_.now());
  ASSERT_EQ(found->items.size(), 2u);
  EXPECT_EQ(found->items[0].sku, "1");
  EXPECT_EQ(found->items[0].quantity, 2);
  EXPECT_EQ(found->items[0].unit_price, dec("100"));
  EXPECT_EQ(found->items[1].sku, "NEW-9");
  EXPECT_EQ(found->items[1].quantity, 3);
  EXPECT_EQ(found->items[1].unit_price, dec("0.1"));
}

TEST_P(OrderRepositoryTest, TotalOnlyOrderHasNoItems) {
  OrderRequest request;
  request.user_id = "user-1001";
  request.currency = "KRW";
  request.total_amount = dec("12900");
  auto created = service_->create(request);
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto found = service_->get(created->id);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->items.empty());
  EXPECT_EQ(found->total_amount, dec("12900"));
  auto rows = outbox_rows();
  ASSERT_EQ(rows.size(), 1u);
  auto decoded = messaging::decode_event(rows[0].record.value);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->body.field_json("items"), "[]");
  EXPECT_EQ(decoded->body.field_json("totalAmount"), "\"12900\"");
}

TEST_P(OrderRepositoryTest, FindAbsentIdIsNotFound) {
  for (std::int64_t id : {std::int64_t{1}, std::int64_t{999}, std::int64_t{-1}}) {
    auto r = service_->get(id);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
    EXPECT_EQ(r.error().code, "ORDER_NOT_FOUND");
  }
  ASSERT_TRUE(service_->create(seed003_request()).ok());
  auto r = service_->get(999);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
}

TEST_P(OrderRepositoryTest, ListByUserNewestFirstWithPaginationAndTotal) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto created = service_->create(seed003_request("alice"));
    ASSERT_TRUE(created.ok()) << created.error().message;
    ids.push_back(created->id);
    clock_.advance(1s);
    ASSERT_TRUE(service_->create(seed003_request(i < 2 ? "bob" : "carol")).ok());
  }

  auto page0 = service_->list("alice", 0, 2);
  ASSERT_TRUE(page0.ok()) << page0.error().message;
  EXPECT_EQ(page0->total, 5);
  EXPECT_EQ(page0->page, 0);
  EXPECT_EQ(page0->size, 2);
  ASSERT_EQ(page0->orders.size(), 2u);
  EXPECT_EQ(page0->orders[0].id, ids[4]);
  EXPECT_EQ(page0->orders[1].id, ids[3]);
  for (const auto& o : page0->orders) {
    EXPECT_EQ(o.user_id, "alice");
    ASSERT_EQ(o.items.size(), 1u);  // items are attached to listed orders
    EXPECT_EQ(o.items[0].sku, "ABC-001");
  }

  auto page1 = service_->list("alice", 1, 2);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->orders.size(), 2u);
  EXPECT_EQ(page1->orders[0].id, ids[2]);
  EXPECT_EQ(page1->orders[1].id, ids[1]);

  auto page2 = service_->list("alice", 2, 2);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->orders.size(), 1u);
  EXPECT_EQ(page2->orders[0].id, ids[0]);
  EXPECT_EQ(page2->total, 5);

  auto past_end = service_->list("alice", 3, 2);
  ASSERT_TRUE(past_end.ok());
  EXPECT_TRUE(past_end->orders.empty());
  EXPECT_EQ(past_end->total, 5);

  auto bob = service_->list("bob", 0, 20);
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->total, 2);
  EXPECT_EQ(bob->orders.size(), 2u);

  auto nobody = service_->list("nobody", 0, 20);
  ASSERT_TRUE(nobody.ok());
  EXPECT_EQ(nobody->total, 0);
  EXPECT_TRUE(nobody->orders.empty());
}

TEST_P(OrderRepositoryTest, ListClampsSizeAndRejectsBadArguments) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(service_->create(seed003_request("dave")).ok());
  auto tiny = service_->list("dave", 0, 0);
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->size, 1);
  EXPECT_EQ(tiny->orders.size(), 1u);
  auto huge = service_->list("dave", 0, 1'000'000);
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->size, OrderService::kMaxPageSize);
  EXPECT_EQ(huge->orders.size(), 3u);

  auto negative = service_->list("dave", -1, 10);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().kind, ErrorKind::kInvalidInput);
  auto no_user = service_->list("", 0, 10);
  ASSERT_FALSE(no_user.ok());
  EXPECT_EQ(no_user.error().code, "MISSING_USER");
}

TEST_P(OrderRepositoryTest, BadRequestStoresNothing) {
  std::vector<OrderRequest> bad;
  bad.push_back(seed003_request());
  bad.back().items[0].sku = "UNKNOWN";  // UNKNOWN_SKU
  bad.push_back(seed003_request());
  bad.back().items[0].unit_price = dec("1");  // PRICE_MISMATCH
  bad.push_back(seed003_request());
  bad.back().items[0].quantity = 0;  // INVALID_QUANTITY
  bad.push_back(seed003_request());
  bad.back().items.clear();  // EMPTY_ORDER
  bad.push_back(seed003_request());
  bad.back().user_id.clear();  // MISSING_USER
  bad.push_back(seed003_request());
  bad.back().items.push_back({"ABC-001", 1, std::nullopt});
  bad.back().items.push_back({"NOPE", 1, std::nullopt});  // a later line fails

  for (const auto& request : bad) {
    auto r = service_->create(request);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().kind, ErrorKind::kUnavailable) << r.error().code;
  }
  EXPECT_EQ(count("orders"), 0);
  EXPECT_EQ(count("order_items"), 0);
  EXPECT_EQ(count("outbox"), 0);
  EXPECT_EQ(commits_.load(), 0);
  auto pending = messaging::Outbox::pending(*db_);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending.value(), 0);
}

TEST_P(OrderRepositoryTest, EveryCreateHasItsOwnEvent) {
  std::set<std::int64_t> ids;
  for (int i = 0; i < 4; ++i) {
    auto r = service_->create(seed003_request("u" + std::to_string(i)));
    ASSERT_TRUE(r.ok());
    ids.insert(r->id);
  }
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(commits_.load(), 4);
  auto rows = outbox_rows();
  ASSERT_EQ(rows.size(), 4u);
  std::set<std::string> event_ids;
  std::set<std::int64_t> event_orders;
  for (const auto& row : rows) {
    auto decoded = messaging::decode_event(row.record.value);
    ASSERT_TRUE(decoded.ok());
    event_ids.insert(decoded->meta.event_id);
    auto order_id = decoded->body.field_json("orderId").value_or("");
    event_orders.insert(std::stoll(order_id));
    EXPECT_EQ(row.record.key, order_id);
  }
  EXPECT_EQ(event_ids.size(), 4u);
  EXPECT_EQ(event_orders, ids);
}

TEST_P(OrderRepositoryTest, ConcurrentCreatesEachCommitOneOrderAndOneEvent) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!service_->create(seed003_request("t" + std::to_string(t))).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(count("orders"), kThreads * kPerThread);
  EXPECT_EQ(count("outbox"), kThreads * kPerThread);
  EXPECT_EQ(commits_.load(), kThreads * kPerThread);
}

ORDERFLOW_ON_BOTH_DATABASES(OrderRepositoryTest);

}  // namespace
}  // namespace orderflow::order

namespace orderflow::order {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string header_value(const http::Response& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

// Issue 12: order-service's routes over HTTP with bearer tokens. With auth.mode required every
// route needs a valid token; a caller sees and cancels only its own orders (another user's is
// 404 as a missing one), an admin sees all, a body userId other than the token's sub is 403, and
// nothing is stored or published for a refused request. With optional, requests without a token
// keep today's behaviour, while a bad token is still 401.
TEST_P(OrderRepositoryTest, BearerTokensDecideWhoseOrdersAreSeenAndChanged) {
  using orderflow::testing::bearer;
  using orderflow::testing::test_token;
  http::Router router;
  add_order_routes(router, *service_, [] { return true; });
  observability::Metrics metrics{"order-service"};
  auto serve = [&](http::AuthMode mode) {
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.auth = orderflow::testing::test_auth_config(mode);
    auto server = std::make_unique<http::Server>(
        options, router, metrics, observability::make_logger("order-auth-test", {"warn", "text"}));
    server->start();
    return server;
  };
  auto server = serve(http::AuthMode::kRequired);
  auto call = [&](const std::string& method, const std::string& target, const Headers& headers,
                  const std::string& body = {}) {
    auto r = http::request("127.0.0.1", server->port(), method, target, body, headers);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : http::Response{};
  };
  auto code = [](const http::Response& r) {
    return nlohmann::json::parse(r.body)["error"]["code"].get<std::string>();
  };
  const auto seven = bearer(test_token("7"));
  const auto eight = bearer(test_token("8"));
  const auto admin = bearer(test_token("ops", {"admin"}));
  const auto bad = bearer(orderflow::testing::badly_signed_token("7"));
  const std::string body = R"({"items":[{"sku":"ABC-001","quantity":1}]})";

  for (const auto& headers : std::vector<Headers>{
           {}, {bad}, {{"Authorization", "Basic Nzpw"}}, {{"Authorization", "Bearer"}}}) {
    auto refused = call("POST", "/api/orders", headers, body);
    EXPECT_EQ(refused.status, 401) << refused.body;
    EXPECT_EQ(header_value(refused, "WWW-Authenticate"), R"(Bearer error="invalid_token")");
  }
  auto mismatch = call("POST", "/api/orders", {seven},
                       R"({"userId":8,"items":[{"sku":"ABC-001","quantity":1}]})");
  EXPECT_EQ(mismatch.status, 403);
  EXPECT_EQ(code(mismatch), "USER_MISMATCH");
  EXPECT_EQ(count("orders"), 0) << "nothing stored for a refused request";
  EXPECT_EQ(count("outbox"), 0) << "nothing published for a refused request";

  auto created = call("POST", "/api/orders", {seven, {"X-User-Id", "8"}}, body);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(nlohmann::json::parse(created.body)["userId"], "7") << "the token wins";
  ASSERT_EQ(call("POST", "/api/orders", {seven},
                 R"({"userId":7,"items":[{"sku":"ABC-001","quantity":1}]})")
                .status,
            201);
  auto id = std::to_string(nlohmann::json::parse(created.body)["orderId"].get<std::int64_t>());

  EXPECT_EQ(call("GET", "/api/orders/" + id, {}).status, 401);
  EXPECT_EQ(call("GET", "/api/orders/" + id, {bad}).status, 401);
  EXPECT_EQ(call("GET", "/api/orders/" + id, {seven}).status, 200);
  EXPECT_EQ(call("GET", "/api/orders/" + id, {admin}).status, 200);
  auto hidden = call("GET", "/api/orders/" + id, {eight});
  auto missing = call("GET", "/api/orders/999999", {eight});
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(code(hidden), "ORDER_NOT_FOUND");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(hidden.body, std::regex_replace(missing.body, std::regex("999999"), id))
      << "another user's order reads exactly as a missing one";

  auto total = [&](const Headers& headers, const std::string& query = "") {
    auto r = call("GET", "/api/orders" + query, headers);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? nlohmann::json::parse(r.body)["total"].get<int>() : -1;
  };
  EXPECT_EQ(call("GET", "/api/orders", {}).status, 401);
  EXPECT_EQ(call("GET", "/api/orders", {bad}).status, 401);
  EXPECT_EQ(total({seven}), 2);
  EXPECT_EQ(total({eight}), 0);
  EXPECT_EQ(total({eight, {"X-User-Id", "7"}}), 0) << "X-User-Id does not override the token";
  EXPECT_EQ(call("GET", "/api/orders?userId=7", {eight}).status, 403);
  EXPECT_EQ(total({admin}, "?userId=7"), 2);

  auto outbox_before = count("outbox");
  EXPECT_EQ(call("POST", "/api/orders/" + id + "/cancel", {}).status, 401);
  EXPECT_EQ(call("POST", "/api/orders/" + id + "/cancel", {bad}).status, 401);
  EXPECT_EQ(call("POST", "/api/orders/" + id + "/cancel", {eight}).status, 404);
  EXPECT_EQ(count("outbox"), outbox_before) << "another user's cancel published nothing";
  EXPECT_EQ(service_->get(std::stoll(id))->status, OrderStatus::kPending);
  EXPECT_EQ(call("POST", "/api/orders/" + id + "/cancel", {seven}).status, 200);
  server->stop();

  // optional: the seeds' requests without a token work as before; a bad token never falls back.
  server = serve(http::AuthMode::kOptional);
  auto seed =
      call("POST", "/api/orders", {}, R"({"userId":42,"items":[{"sku":"ABC-001","quantity":1}]})");
  EXPECT_EQ(seed.status, 201) << seed.body;
  EXPECT_EQ(total({{"X-User-Id", "42"}}), 1);
  auto orders_before = count("orders");
  EXPECT_EQ(
      call("POST", "/api/orders", {bad}, R"({"userId":7,"items":[{"sku":"ABC-001","quantity":1}]})")
          .status,
      401);
  EXPECT_EQ(call("GET", "/api/orders?userId=7", {bad}).status, 401);
  EXPECT_EQ(count("orders"), orders_before);
  EXPECT_EQ(total({seven}), 2);
  EXPECT_EQ(call("GET", "/api/orders/" + id, {eight}).status, 404);
  server->stop();
}

// Without a token (auth.mode optional) the X-User-Id header and ?userId= are checked as a body
// userId is: a non-UTF-8 header made an order whose stored userId differed from the one in its
// ORDER_CREATED event (which replaces invalid UTF-8). Refused with 400 INVALID_FIELD, nothing
// stored or published; a valid non-ASCII user is the same text in the order and its event.
TEST_P(OrderRepositoryTest, UserIdFromTheHeaderOrTheQueryIsCheckedAsTheBodys) {
  http::Router router;
  observability::Metrics metrics{"order-service"};
  auto server_ptr = serve_orders(router, metrics, http::AuthMode::kOptional);
  http::Server& server = *server_ptr;
  auto call = [&](const std::string& method, const std::string& target, const Headers& headers,
                  const std::string& body = {}) {
    auto r = http::request("127.0.0.1", server.port(), method, target, body, headers);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : http::Response{};
  };
  auto expect_invalid = [](const http::Response& r, const std::string& field) {
    EXPECT_EQ(r.status, 400) << r.body;
    if (r.status != 400) return;
    auto error = nlohmann::json::parse(r.body)["error"];
    EXPECT_EQ(error["code"], "INVALID_FIELD");
    EXPECT_NE(error["message"].get<std::string>().find(field), std::string::npos) << r.body;
  };
  const std::string items = R"({"items":[{"sku":"ABC-001","quantity":1}]})";
  const std::string with_user = R"({"userId":42,"items":[{"sku":"ABC-001","quantity":1}]})";
  for (const std::string& bad : {std::string("u\xFF"), std::string(129, 'u')}) {
    SCOPED_TRACE(bad);
    expect_invalid(call("POST", "/api/orders", {{"X-User-Id", bad}}, items), "X-User-Id");
    expect_invalid(call("POST", "/api/orders", {{"X-User-Id", bad}}, with_user), "X-User-Id");
    expect_invalid(call("GET", "/api/orders", {{"X-User-Id", bad}}), "X-User-Id");
  }
  expect_invalid(call("GET", "/api/orders?userId=u%FF", {}), "userId");
  EXPECT_EQ(count("orders"), 0) << "nothing stored for a refused request";
  EXPECT_EQ(count("outbox"), 0) << "nothing published for a refused request";

  const std::string korean = "사용자-1";
  auto created = call("POST", "/api/orders", {{"X-User-Id", korean}}, items);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(nlohmann::json::parse(created.body)["userId"], korean);
  auto rows = outbox_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(rows[0].record.value)["userId"], korean)
      << "the event names the stored user";
  auto listed = call("GET", "/api/orders?userId=" + http::percent_encode(korean, false), {});
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(nlohmann::json::parse(listed.body)["total"], 1);
  server.stop();
}

}  // namespace
}  // namespace orderflow::order
