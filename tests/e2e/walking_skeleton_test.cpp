// e2e: the real `orderflow up` (broker + order-service + notification-service as processes),
// the seeds' requests, and the topic read back with a real Kafka client (kcat). On both brokers:
// .../Embedded (orderflow-broker) and .../Kafka (the ctest run's shared 3-node cluster).
#include <gtest/gtest.h>

#include <cctype>
#include <sstream>

#include "orderflow/testing/broker_param.h"
#include "orderflow/testing/system_under_test.h"

namespace orderflow::testing {
namespace {

class WalkingSkeletonTest : public SystemSuite<WalkingSkeletonTest> {
 public:
  static std::map<std::string, std::vector<std::string>> overrides() { return {}; }

 protected:
  nlohmann::json notifications_for(const std::string& user) {
    auto r = system_->call("notification-service", "GET", "/api/notifications?userId=" + user);
    return r.status == 200 ? r.body["items"] : nlohmann::json::array();
  }

  bool notified(const std::string& user, std::int64_t order_id) {
    for (const auto& n : notifications_for(user)) {
      if (n["orderId"] == order_id) return true;
    }
    return false;
  }

  // Every record of orders.v1 as kcat's JSON envelope.
  std::vector<nlohmann::json> topic_records() {
    int rc = 0;
    auto out = run_command("kcat -b " + system_->bootstrap_servers() + " -C -t " +
                               system_->topic("orders.v1") + " -o beginning -e -J -q 2>/dev/null",
                           &rc);
    std::vector<nlohmann::json> records;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      auto doc = nlohmann::json::parse(line, nullptr, false);
      if (doc.is_object()) records.push_back(doc);
    }
    return records;
  }

  /// The ORDER_CREATED records of orders.v1 (the saga adds the order's later events to the
  /// same topic within milliseconds, so counting every record races with it).
  std::size_t created_records() {
    std::size_t n = 0;
    for (const auto& record : topic_records()) {
      if (record.contains("headers") &&
          record["headers"].dump().find("\"ORDER_CREATED\"") != std::string::npos) {
        ++n;
      }
    }
    return n;
  }
};

ORDERFLOW_ON_BOTH_BROKERS(WalkingSkeletonTest);

TEST_P(WalkingSkeletonTest, Seed003OrderIsPendingAndNotified) {
  auto r = system_->call("order-service", "POST", "/api/orders",
                         R"({"userId":42,"items":[{"sku":"ABC-001","qty":2}]})");
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["status"], "PENDING");
  EXPECT_EQ(r.body["userId"], "42");
  EXPECT_EQ(r.body["totalAmount"], "25800");
  EXPECT_EQ(r.body["currency"], "KRW");
  EXPECT_EQ(r.body["items"][0]["sku"], "ABC-001");
  EXPECT_EQ(r.body["items"][0]["quantity"], 2);
  EXPECT_TRUE(r.body.contains("createdAt"));
  auto id = r.body["orderId"].get<std::int64_t>();

  EXPECT_TRUE(eventually([&] { return notified("42", id); })) << "no notification for order " << id;
  auto fetched = system_->call("order-service", "GET", "/api/orders/" + std::to_string(id));
  EXPECT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.body["orderId"], id);
}

TEST_P(WalkingSkeletonTest, Seed000AndSeed001BodiesAreAccepted) {
  auto seed000 = system_->call(
      "order-service", "POST", "/api/orders",
      R"({"customerId":"user-1001","customerEmail":"user1001@example.com","totalAmount":12900,"currency":"KRW"})");
  ASSERT_EQ(seed000.status, 201) << seed000.raw;
  EXPECT_EQ(seed000.body["userId"], "user-1001");
  EXPECT_EQ(seed000.body["totalAmount"], "12900");

  auto seed001 = system_->call("order-service", "POST", "/api/orders",
                               R"({"items":[{"productId":1,"quantity":2,"price":100.00}]})",
                               {{"X-User-Id", "7"}});
  ASSERT_EQ(seed001.status, 201) << seed001.raw;
  EXPECT_EQ(seed001.body["userId"], "7");
  EXPECT_EQ(seed001.body["totalAmount"], "200");

  auto id000 = seed000.body["orderId"].get<std::int64_t>();
  auto id001 = seed001.body["orderId"].get<std::int64_t>();
  EXPECT_TRUE(eventually([&] { return notified("user-1001", id000); }));
  EXPECT_TRUE(eventually([&] { return notified("7", id001); }));
}

// Issue 12, seed 001 as its README walk: a token minted by `orderflow token` from the system's
// configuration (auth.mode optional, as config/orderflow.yaml) places the order without any user
// in the body, and the same token lists that user's orders and notifications and no one else's.
TEST_P(WalkingSkeletonTest, Seed001WithAMintedTokenSeesOnlyItsOwnOrdersAndNotifications) {
  auto mint = [&](const std::string& user) {
    int rc = -1;
    auto out = run_command(std::string(ORDERFLOW_BIN_DIR) + "/orderflow token --user " + user +
                               " --config " + system_->config_file(),
                           &rc);
    EXPECT_EQ(rc, 0) << out;
    while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
    return out;
  };
  // Bad input: a user id or an audit actor with a control character is refused before anything
  // is minted or sent (every service would refuse it as a token's sub or X-Actor).
  for (const std::string args :
       {"token --user \"$(printf 'alice\\nroot')\" --config " + system_->config_file(),
        "dlq replay 1 --actor \"$(printf 'ops\\033[2J')\" --data-dir " + system_->data_dir()}) {
    int rc = 0;
    auto out = run_command(std::string(ORDERFLOW_BIN_DIR) + "/orderflow " + args + " 2>&1", &rc);
    EXPECT_NE(rc, 0) << args << ": " << out;
    EXPECT_NE(out.find("UTF-8 text without control characters"), std::string::npos) << out;
    EXPECT_EQ(out.find("eyJ"), std::string::npos) << "no token: " << out;
  }
  const std::string user = "e2e-" + unique_name("u").substr(2);
  const std::vector<std::pair<std::string, std::string>> mine{
      {"Authorization", "Bearer " + mint(user)}};
  const std::vector<std::pair<std::string, std::string>> theirs{
      {"Authorization", "Bearer " + mint(user + "-other")}};

  auto created = system_->call("order-service", "POST", "/api/orders",
                               R"({"items":[{"productId":1,"quantity":2,"price":100.00}]})", mine);
  ASSERT_EQ(created.status, 201) << created.raw;
  EXPECT_EQ(created.body["userId"], user);
  auto id = created.body["orderId"].get<std::int64_t>();

  auto listed = system_->call("order-service", "GET", "/api/orders", "", mine);
  ASSERT_EQ(listed.status, 200) << listed.raw;
  ASSERT_EQ(listed.body["total"], 1) << listed.raw;
  EXPECT_EQ(listed.body["items"][0]["orderId"], id);
  auto notified_with = [&](const std::vector<std::pair<std::string, std::string>>& headers) {
    auto r = system_->call("notification-service", "GET", "/api/notifications", "", headers);
    EXPECT_EQ(r.status, 200) << r.raw;
    for (const auto& n : r.body["items"]) {
      EXPECT_EQ(n["userId"], headers == mine ? user : user + "-other");
      if (n["orderId"] == id) return true;
    }
    return false;
  };
  EXPECT_TRUE(eventually([&] { return notified_with(mine); })) << "no notification for " << id;

  EXPECT_EQ(system_->call("order-service", "GET", "/api/orders", "", theirs).body["total"], 0);
  EXPECT_FALSE(notified_with(theirs));
  EXPECT_EQ(
      system_->call("order-service", "GET", "/api/orders/" + std::to_string(id), "", theirs).status,
      404);
  EXPECT_EQ(
      system_->call("order-service", "GET", "/api/orders/" + std::to_string(id), "", mine).status,
      200);
  auto bad = system_->call("order-service", "GET", "/api/orders", "",
                           {{"Authorization", "Bearer not.a.token"}});
  EXPECT_EQ(bad.status, 401) << bad.raw;
}

TEST_P(WalkingSkeletonTest, ListsNewestFirstWithPagination) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = system_->call("order-service", "POST", "/api/orders",
                           R"({"userId":"pager","items":[{"sku":"ABC-002","qty":1}]})");
    ASSERT_EQ(r.status, 201);
    ids.push_back(r.body["orderId"].get<std::int64_t>());
  }
  auto page0 = system_->call("order-service", "GET", "/api/orders?userId=pager&size=2");
  ASSERT_EQ(page0.status, 200);
  EXPECT_EQ(page0.body["total"], 3);
  ASSERT_EQ(page0.body["items"].size(), 2u);
  EXPECT_EQ(page0.body["items"][0]["orderId"], ids[2]);
  EXPECT_EQ(page0.body["items"][1]["orderId"], ids[1]);
  auto page1 = system_->call("order-service", "GET", "/api/orders?userId=pager&size=2&page=1");
  ASSERT_EQ(page1.body["items"].size(), 1u);
  EXPECT_EQ(page1.body["items"][0]["orderId"], ids[0]);

  EXPECT_TRUE(eventually([&] {
    return notified("pager", ids[0]) && notified("pager", ids[1]) && notified("pager", ids[2]);
  }));
  // Different orders are handled in parallel, so "newest first" is by notification, not order.
  auto notes = notifications_for("pager");
  for (std::size_t i = 1; i < notes.size(); ++i) {
    EXPECT_GT(notes[i - 1]["id"].get<std::int64_t>(), notes[i]["id"].get<std::int64_t>())
        << "notifications are newest first";
    EXPECT_GE(notes[i - 1]["createdAt"].get<std::string>(),
              notes[i]["createdAt"].get<std::string>());
  }
}

TEST_P(WalkingSkeletonTest, BadInputIsRejectedAndNothingIsStoredOrPublished) {
  auto before = created_records();
  std::string big(2 * 1024 * 1024, 'x');
  struct Case {
    std::string body;
    int status;
  };
  std::vector<Case> cases = {
      {"{not json", 400},
      {R"({"userId":"bad","items":"nope"})", 400},
      {R"({"userId":"bad","items":[{"sku":"ABC-001","qty":"2"}]})", 400},
      {R"({"userId":"bad","items":[{"sku":"ABC-001","qty":0}]})", 422},
      {R"({"userId":"bad","items":[{"sku":"ABC-001","qty":-1}]})", 422},
      {R"({"userId":"bad","items":[{"sku":"NOPE-404","qty":1}]})", 422},
      {R"({"userId":"bad"})", 422},
      {R"({"userId":"bad","items":[]})", 422},
      {R"({"userId":"bad","items":[{"sku":"ABC-001","qty":1}],"totalAmount":1})", 422},
      {R"({"items":[{"sku":"ABC-001","qty":1}]})", 400},
      {"{\"userId\":\"bad\",\"pad\":\"" + big + "\"}", 413},
  };
  for (const auto& c : cases) {
    auto r = system_->call("order-service", "POST", "/api/orders", c.body);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 80) << " -> " << r.raw.substr(0, 200);
    if (r.status != 0 && r.status != 413) {
      EXPECT_TRUE(r.body["error"].contains("code")) << r.raw;
      EXPECT_TRUE(r.body["error"].contains("message")) << r.raw;
    }
  }
  auto unknown_route = system_->call("order-service", "GET", "/api/nothing");
  EXPECT_EQ(unknown_route.status, 404);
  EXPECT_EQ(unknown_route.body["error"]["code"], "ROUTE_NOT_FOUND");
  auto wrong_method = system_->call("order-service", "DELETE", "/api/orders");
  EXPECT_EQ(wrong_method.status, 405);
  auto missing = system_->call("order-service", "GET", "/api/orders/999999");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["error"]["code"], "ORDER_NOT_FOUND");

  auto listed = system_->call("order-service", "GET", "/api/orders?userId=bad");
  EXPECT_EQ(listed.body["total"], 0) << "a rejected order must not be stored";
  // A valid order after the bad ones proves the topic is readable; only it was added.
  auto ok = system_->call("order-service", "POST", "/api/orders",
                          R"({"userId":"after-bad","items":[{"sku":"ABC-003","qty":1}]})");
  ASSERT_EQ(ok.status, 201);
  ASSERT_TRUE(eventually([&] { return created_records() >= before + 1; },
                         std::chrono::milliseconds{10000}, std::chrono::milliseconds{200}));
  EXPECT_EQ(created_records(), before + 1)
      << "exactly one ORDER_CREATED (the valid order) may have been published";
}

TEST_P(WalkingSkeletonTest, TopicRecordIsKeyedByOrderIdWithEventHeaders) {
  auto r = system_->call("order-service", "POST", "/api/orders",
                         R"({"userId":"kcat","items":[{"sku":"XYZ-200","qty":1}]})");
  ASSERT_EQ(r.status, 201);
  auto id = std::to_string(r.body["orderId"].get<std::int64_t>());
  nlohmann::json record;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& rec : topic_records()) {
          if (rec.value("key", "") == id) {
            record = rec;
            return true;
          }
        }
        return false;
      },
      std::chrono::milliseconds{10000}, std::chrono::milliseconds{200}));
  std::map<std::string, std::string> headers;
  const auto& h = record["headers"];
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) headers[h[i]] = h[i + 1];
  EXPECT_EQ(headers["eventType"], "ORDER_CREATED");
  ASSERT_FALSE(headers["eventId"].empty());
  EXPECT_EQ(headers["source"], "order-service");
  auto value = nlohmann::json::parse(record["payload"].get<std::string>());
  EXPECT_EQ(value["eventId"], headers["eventId"]);
  EXPECT_EQ(value["eventType"], "ORDER_CREATED");
  EXPECT_EQ(value["orderId"].get<std::int64_t>(), std::stoll(id));
  EXPECT_EQ(value["userId"], "kcat");
  EXPECT_EQ(value["totalAmount"], "45900");
}

TEST_P(WalkingSkeletonTest, HealthAndMetricsEndpoints) {
  auto placed = system_->call("order-service", "POST", "/api/orders",
                              R"({"userId":"metrics","items":[{"sku":"ABC-001","qty":1}]})");
  ASSERT_EQ(placed.status, 201);
  for (const std::string service :
       {"order-service", "inventory-service", "payment-service", "notification-service"}) {
    EXPECT_EQ(system_->call(service, "GET", "/health/live").status, 200);
    EXPECT_EQ(system_->call(service, "GET", "/health/ready").status, 200);
    auto metrics = system_->call(service, "GET", "/metrics");
    EXPECT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.raw.find("orderflow_http_requests_total"), std::string::npos);
  }
  EXPECT_TRUE(eventually([&] {
    auto m = system_->call("notification-service", "GET", "/metrics");
    return m.raw.find("orderflow_messages_total") != std::string::npos &&
           m.raw.find("outcome=\"processed\"") != std::string::npos;
  }));
}

}  // namespace
}  // namespace orderflow::testing
