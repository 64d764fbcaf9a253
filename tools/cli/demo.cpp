#include "demo.h"

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "orderflow/http/client.h"

namespace orderflow::cli {
namespace {

struct Scenario {
  std::string title;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string expect_status;  ///< COMPLETED or CANCELLED
  std::string expect_reason;  ///< cancelReason when CANCELLED
  bool cancel_at_once = false;
  std::string watch_sku;  ///< print this SKU's stock before and after
};

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> kScenarios = {
      {"seed 003: userId + items with sku/qty — completes",
       R"({"userId":42,"items":[{"sku":"ABC-001","qty":2}]})",
       {},
       "COMPLETED",
       "",
       false,
       ""},
      {"seed 000: customerId + totalAmount, no items — completes",
       R"({"customerId":"user-1001","customerEmail":"user1001@example.com","totalAmount":12900,"currency":"KRW"})",
       {},
       "COMPLETED",
       "",
       false,
       ""},
      {"seed 001: productId/quantity/price, user from X-User-Id — completes",
       R"({"items":[{"productId":1,"quantity":2,"price":100.00}]})",
       {{"X-User-Id", "7"}},
       "COMPLETED",
       "",
       false,
       ""},
      {"rejected for stock: 50 of an item with 3 in stock",
       R"({"userId":"demo-stock","items":[{"sku":"LIM-001","qty":50}]})",
       {},
       "CANCELLED",
       "OUT_OF_STOCK",
       false,
       "LIM-001"},
      {"declined by payment: 1,316,000 KRW is over the gateway's limit; the stock comes back",
       R"({"userId":"demo-declined","items":[{"sku":"XYZ-100","qty":4}]})",
       {},
       "CANCELLED",
       "PAYMENT_FAILED",
       false,
       "XYZ-100"},
      {"cancelled by the user right after placing it",
       R"({"userId":"demo-cancel","items":[{"sku":"ABC-002","qty":1}]})",
       {},
       "CANCELLED",
       "USER_REQUESTED",
       true,
       "ABC-002"},
  };
  return kScenarios;
}

std::string stock_line(const Endpoint& inventory, const std::string& sku) {
  auto r = http::request(inventory.host, inventory.port, "GET", "/api/products/" + sku);
  if (!r.ok() || r->status != 200) return "?";
  auto p = nlohmann::json::parse(r->body, nullptr, false);
  return "available=" + std::to_string(p.value("available", 0)) +
         " reserved=" + std::to_string(p.value("reserved", 0)) +
         " sold=" + std::to_string(p.value("sold", 0));
}

}  // namespace

int run_demo(const std::map<std::string, Endpoint>& endpoints, std::ostream& out,
             std::chrono::milliseconds wait) {
  for (const std::string name :
       {"order-service", "inventory-service", "payment-service", "notification-service"}) {
    if (endpoints.count(name) == 0) {
      out << "demo: " << name << " is not running\n";
      return 1;
    }
  }
  const auto& orders = endpoints.at("order-service");
  const auto& inventory = endpoints.at("inventory-service");
  const auto& notifications = endpoints.at("notification-service");
  int failures = 0;
  for (const auto& s : scenarios()) {
    out << "\n== " << s.title << "\n   POST /api/orders " << s.body << "\n";
    if (!s.watch_sku.empty())
      out << "   " << s.watch_sku << " before: " << stock_line(inventory, s.watch_sku) << "\n";
    auto headers = s.headers;
    headers.emplace_back("Content-Type", "application/json");
    auto created = http::request(orders.host, orders.port, "POST", "/api/orders", s.body, headers);
    if (!created.ok() || created->status != 201) {
      out << "   failed: " << (created.ok() ? created->body : created.error().message) << "\n";
      ++failures;
      continue;
    }
    auto order = nlohmann::json::parse(created->body);
    auto id = std::to_string(order.value("orderId", std::int64_t{0}));
    auto user = order.value("userId", std::string{});
    out << "   -> 201 orderId=" << id << " status=" << order.value("status", "")
        << " totalAmount=" << order.value("totalAmount", "") << " " << order.value("currency", "")
        << "\n";
    if (s.cancel_at_once) {
      auto c = http::request(orders.host, orders.port, "POST", "/api/orders/" + id + "/cancel");
      out << "   POST /api/orders/" << id << "/cancel -> " << (c.ok() ? c->status : 0) << "\n";
    }
    nlohmann::json final_order;
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = http::request(orders.host, orders.port, "GET", "/api/orders/" + id);
      if (r.ok() && r->status == 200) {
        final_order = nlohmann::json::parse(r->body, nullptr, false);
        auto status = final_order.value("status", "");
        if (status == "COMPLETED" || status == "CANCELLED") break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    auto status = final_order.value("status", "?");
    auto reason = final_order.value("cancelReason", "");
    out << "   final: " << status << (reason.empty() ? "" : " (" + reason + ")") << "\n";
    out << "   timeline:\n";
    for (const auto& t : final_order.value("timeline", nlohmann::json::array())) {
      out << "     " << t.value("from", "") << " -> " << t.value("to", "") << "  by "
          << t.value("eventType", "")
          << (t.value("reason", "").empty() ? "" : " " + t.value("reason", "")) << "  at "
          << t.value("at", "") << "\n";
    }
    // Notifications follow the terminal state by a few milliseconds.
    std::this_thread::sleep_for(std::chrono::milliseconds{300});
    auto listed = http::request(notifications.host, notifications.port, "GET",
                                "/api/notifications?userId=" + user + "&size=100");
    if (listed.ok() && listed->status == 200) {
      auto doc = nlohmann::json::parse(listed->body, nullptr, false);
      auto items = doc.value("items", nlohmann::json::array());
      for (auto it = items.rbegin(); it != items.rend(); ++it) {
        if (std::to_string(it->value("orderId", std::int64_t{0})) != id) continue;
        out << "   notification [" << it->value("type", "") << "] " << it->value("message", "")
            << "\n";
      }
    }
    if (!s.watch_sku.empty())
      out << "   " << s.watch_sku << " after:  " << stock_line(inventory, s.watch_sku) << "\n";
    bool as_expected =
        status == s.expect_status && (s.expect_reason.empty() || reason == s.expect_reason);
    if (!as_expected) {
      out << "   UNEXPECTED: wanted " << s.expect_status
          << (s.expect_reason.empty() ? "" : " (" + s.expect_reason + ")") << "\n";
      ++failures;
    }
  }
  out << "\n"
      << (failures == 0 ? "demo: every path ended as expected"
                        : "demo: some paths did not end as expected")
      << "\n";
  return failures == 0 ? 0 : 1;
}

}  // namespace orderflow::cli
