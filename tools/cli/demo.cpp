#include "demo.h"

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "orderflow/http/client.h"

namespace orderflow::cli {
namespace {

struct Sample {
  std::string title;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

const std::vector<Sample>& samples() {
  static const std::vector<Sample> kSamples = {
      {"seed 003: userId + items with sku/qty",
       R"({"userId":42,"items":[{"sku":"ABC-001","qty":2}]})",
       {}},
      {"seed 000: customerId + totalAmount, no items",
       R"({"customerId":"user-1001","customerEmail":"user1001@example.com","totalAmount":12900,"currency":"KRW"})",
       {}},
      {"seed 001: productId/quantity/price, user from X-User-Id",
       R"({"items":[{"productId":1,"quantity":2,"price":100.00}]})",
       {{"X-User-Id", "7"}}},
  };
  return kSamples;
}

}  // namespace

int run_demo(const std::map<std::string, Endpoint>& endpoints, std::ostream& out,
             std::chrono::milliseconds wait) {
  auto order_it = endpoints.find("order-service");
  auto notif_it = endpoints.find("notification-service");
  if (order_it == endpoints.end() || notif_it == endpoints.end()) {
    out << "demo: order-service and notification-service must be running\n";
    return 1;
  }
  const auto& orders = order_it->second;
  const auto& notifications = notif_it->second;
  int failures = 0;
  for (const auto& sample : samples()) {
    out << "\n== " << sample.title << "\n   POST /api/orders " << sample.body << "\n";
    std::vector<std::pair<std::string, std::string>> headers = sample.headers;
    headers.emplace_back("Content-Type", "application/json");
    auto created = http::request(orders.host, orders.port, "POST", "/api/orders", sample.body,
                                 headers);
    if (!created.ok() || created->status != 201) {
      out << "   failed: " << (created.ok() ? created->body : created.error().message) << "\n";
      ++failures;
      continue;
    }
    auto order = nlohmann::json::parse(created->body);
    auto order_id = order.value("orderId", std::int64_t{0});
    auto user = order.value("userId", std::string{});
    out << "   -> " << created->status << " " << order.dump() << "\n";

    nlohmann::json found;
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline && found.is_null()) {
      auto listed = http::request(notifications.host, notifications.port, "GET",
                                  "/api/notifications?userId=" + user);
      if (listed.ok() && listed->status == 200) {
        auto doc = nlohmann::json::parse(listed->body, nullptr, false);
        for (const auto& n : doc.value("items", nlohmann::json::array())) {
          if (n.value("orderId", std::int64_t{0}) == order_id) found.push_back(n);
        }
      }
      if (found.is_null()) std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    auto current = http::request(orders.host, orders.port, "GET",
                                 "/api/orders/" + std::to_string(order_id));
    if (current.ok()) out << "   order now: " << current->body << "\n";
    if (found.is_null()) {
      out << "   no notification within " << wait.count() << " ms\n";
      ++failures;
      continue;
    }
    for (const auto& n : found) {
      out << "   notification [" << n.value("type", "") << "] " << n.value("message", "") << "\n";
    }
  }
  out << "\n" << (failures == 0 ? "demo: all orders notified" : "demo: some orders failed")
      << "\n";
  return failures == 0 ? 0 : 1;
}

}  // namespace orderflow::cli
