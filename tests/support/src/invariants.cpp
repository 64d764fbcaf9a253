#include "orderflow/testing/invariants.h"

#include <set>

namespace orderflow::testing {
namespace {

// Lists come as {"items":[…]}; a single resource (one reservation per order) as an object.
nlohmann::json items_of(const nlohmann::json& body) {
  if (body.is_array()) return body;
  if (body.is_object() && body.contains("items")) return body["items"];
  if (body.is_object() && body.contains("status")) return nlohmann::json::array({body});
  return nlohmann::json::array();
}

std::int64_t as_int(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_string()) return std::stoll(v.get<std::string>());
  return 0;
}

}  // namespace

std::map<std::string, std::int64_t> stock_totals(const RunningSystem& system) {
  std::map<std::string, std::int64_t> totals;
  auto r = system.call("inventory-service", "GET", "/api/products");
  for (const auto& p : items_of(r.body)) {
    totals[p["sku"].get<std::string>()] =
        as_int(p["available"]) + as_int(p["reserved"]) + as_int(p["sold"]);
  }
  return totals;
}

std::map<std::int64_t, nlohmann::json> wait_terminal(const RunningSystem& system,
                                                     const std::vector<PlacedOrder>& orders,
                                                     std::chrono::milliseconds deadline) {
  std::map<std::int64_t, nlohmann::json> done;
  eventually(
      [&] {
        for (const auto& o : orders) {
          if (done.count(o.id) != 0) continue;
          auto r = system.call("order-service", "GET", "/api/orders/" + std::to_string(o.id));
          if (r.status != 200) continue;
          auto status = r.body.value("status", "");
          if (status == "COMPLETED" || status == "CANCELLED") done[o.id] = r.body;
        }
        return done.size() == orders.size();
      },
      deadline, std::chrono::milliseconds{50});
  return done;
}

std::vector<std::string> check_invariants(const RunningSystem& system,
                                          const std::vector<PlacedOrder>& orders,
                                          const std::map<std::string, std::int64_t>& initial,
                                          std::chrono::milliseconds deadline) {
  std::vector<std::string> violations;
  auto order_name = [](std::int64_t id) { return "order " + std::to_string(id) + ": "; };

  // 2. terminal
  auto final_orders = wait_terminal(system, orders, deadline);
  for (const auto& o : orders) {
    if (final_orders.count(o.id) == 0) {
      auto r = system.call("order-service", "GET", "/api/orders/" + std::to_string(o.id));
      violations.push_back(order_name(o.id) + "not terminal, status " +
                           r.body.value("status", "?") + " (invariant 2)");
    }
  }

  // 3. payments and reservations per order. Compensation (refund, release) follows the
  // terminal state asynchronously, so it is awaited.
  for (const auto& [id, order] : final_orders) {
    auto status = order.value("status", "");
    auto total = order.value("totalAmount", "");
    std::string problem;
    // Structured bindings are captured by name: clang 14 (make test-asan) cannot capture them.
    bool settled = eventually(
        [&, id = id] {
          problem.clear();
          auto payments = items_of(
              system.call("payment-service", "GET", "/api/payments?orderId=" + std::to_string(id))
                  .body);
          auto reservations = items_of(system
                                           .call("inventory-service", "GET",
                                                 "/api/reservations?orderId=" + std::to_string(id))
                                           .body);
          int captured = 0;
          int refunded = 0;
          int refund_failed = 0;
          for (const auto& p : payments) {
            auto s = p.value("status", "");
            if (s == "CAPTURED") {
              ++captured;
              if (p.value("amount", "") != total) problem += "captured amount differs from total; ";
            }
            if (s == "REFUNDED") ++refunded;
            // Money taken and not given back: never right, whatever the order's state.
            if (s == "REFUND_FAILED") ++refund_failed;
          }
          if (refund_failed != 0) {
            problem += status + " with a REFUND_FAILED payment (net charge not zero); ";
          }
          int held = 0;
          int deducted = 0;
          for (const auto& r : reservations) {
            auto s = r.value("status", "");
            if (s == "RESERVED") ++held;
            if (s == "DEDUCTED") ++deducted;
          }
          if (status == "COMPLETED") {
            if (captured != 1 || refunded != 0) {
              problem += "COMPLETED but captured=" + std::to_string(captured) +
                         " refunded=" + std::to_string(refunded) + "; ";
            }
            if (deducted != 1 || held != 0) {
              problem += "COMPLETED but deducted=" + std::to_string(deducted) +
                         " held=" + std::to_string(held) + "; ";
            }
          } else if (status == "CANCELLED") {
            if (captured != 0) problem += "CANCELLED with a captured payment; ";
            if (held != 0 || deducted != 0) {
              problem += "CANCELLED with stock held (reserved=" + std::to_string(held) +
                         " deducted=" + std::to_string(deducted) + "); ";
            }
          }
          return problem.empty();
        },
        deadline, std::chrono::milliseconds{100});
    if (!settled) violations.push_back(order_name(id) + problem + "(invariant 3)");
  }

  // 1. stock conservation
  auto after = system.call("inventory-service", "GET", "/api/products");
  for (const auto& p : items_of(after.body)) {
    auto sku = p["sku"].get<std::string>();
    auto available = as_int(p["available"]);
    auto sum = available + as_int(p["reserved"]) + as_int(p["sold"]);
    if (available < 0) violations.push_back("sku " + sku + ": available < 0 (invariant 1)");
    auto it = initial.find(sku);
    if (it != initial.end() && it->second != sum) {
      violations.push_back("sku " + sku + ": available+reserved+sold " + std::to_string(sum) +
                           " != initial " + std::to_string(it->second) + " (invariant 1)");
    }
  }

  // 4. notifications: one per (event, user), none lost
  std::map<std::string, std::vector<const PlacedOrder*>> by_user;
  for (const auto& o : orders) by_user[o.user_id].push_back(&o);
  for (const auto& [user, user_orders] : by_user) {
    std::string problem;
    bool complete = eventually(
        [&, &user = user, &user_orders = user_orders] {
          problem.clear();
          auto notes = items_of(system
                                    .call("notification-service", "GET",
                                          "/api/notifications?userId=" + user + "&size=100")
                                    .body);
          std::set<std::string> sources;
          std::map<std::pair<std::int64_t, std::string>, int> per_type;
          for (const auto& n : notes) {
            auto source = n.value("sourceEventId", "");
            if (!sources.insert(source).second)
              problem += "duplicate sourceEventId " + source + "; ";
            per_type[{as_int(n["orderId"]), n.value("type", "")}]++;
          }
          for (const auto* o : user_orders) {
            auto it = final_orders.find(o->id);
            if (it == final_orders.end()) continue;
            std::vector<std::string> expected{"ORDER_CREATED"};
            for (const auto& t : it->second["timeline"]) {
              auto to = t.value("to", "");
              expected.push_back("ORDER_" + to);
            }
            auto payments = items_of(system
                                         .call("payment-service", "GET",
                                               "/api/payments?orderId=" + std::to_string(o->id))
                                         .body);
            for (const auto& p : payments) {
              if (p.value("status", "") == "REFUNDED") expected.emplace_back("PAYMENT_REFUNDED");
            }
            for (const auto& type : expected) {
              int count = per_type[{o->id, type}];
              if (count != 1) {
                problem +=
                    order_name(o->id) + type + " notified " + std::to_string(count) + " times; ";
              }
            }
          }
          return problem.empty();
        },
        deadline, std::chrono::milliseconds{100});
    if (!complete) violations.push_back("user " + user + ": " + problem + "(invariant 4)");
  }
  return violations;
}

}  // namespace orderflow::testing
