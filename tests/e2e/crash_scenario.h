// Shared by the e2e crash tests (issue 9): a steady order load with every saga path, the
// catalog it needs, kill -9 with a wait for the supervisor's restart, and the invariant check.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "orderflow/testing/invariants.h"

namespace orderflow::testing::crash {

using namespace std::chrono_literals;
using Overrides = std::map<std::string, std::vector<std::string>>;

constexpr int kRatePerSecond = 100;
constexpr auto kLoadFor = 20s;  // ≥ 15 s, and ≥ 10 s of it while the restarted part is up
// The fewest orders a scenario must get in to mean anything (expect_invariants' default).
constexpr std::size_t kMinOrders = kRatePerSecond * 10;

// A catalog whose stock outlasts the load, so most orders run the whole saga; LIM-001 (3
// units) keeps the rejection path busy.
inline std::string write_catalog(const TempDir& dir) {
  auto path = dir.file("crash-catalog.yaml");
  std::ofstream(path)
      << "currency: KRW\nproducts:\n"
      << "  - {sku: ABC-001, name: \"Mouse\", unitPrice: \"12900\", stock: 1000000}\n"
      << "  - {sku: ABC-002, name: \"Keyboard\", unitPrice: \"89000\", stock: 1000000}\n"
      << "  - {sku: LIM-001, name: \"Figure\", unitPrice: \"150000\", stock: 3}\n";
  return path;
}

// The system's overrides: that catalog (written into `dir`) in the order and inventory services.
inline Overrides overrides_for(const TempDir& dir) {
  auto catalog = write_catalog(dir);
  return {{"order-service", {"order.catalog_file=" + catalog}},
          {"inventory-service", {"inventory.catalog_file=" + catalog}}};
}

// Posts orders at `rate` per second (default kRatePerSecond) for `duration` on its own thread,
// in turn to each of `order_services` (instances of the order-service), with a mix that
// exercises every saga path: completion, rejection for stock, a payment decline (over
// 1,000,000), and a cancel by the user right after the POST (which may race the payment: then it
// is refunded).
class Load {
 public:
  Load(const RunningSystem& system, std::chrono::milliseconds duration, int rate = kRatePerSecond,
       std::vector<std::string> order_services = {"order-service"})
      : system_(system),
        rate_(rate),
        order_services_(std::move(order_services)),
        thread_([this, duration] { run(duration); }) {}
  ~Load() { join(); }

  void join() {
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] std::vector<PlacedOrder> accepted() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }
  /// How many orders each order-service instance accepted.
  [[nodiscard]] std::map<std::string, int> accepted_by() const {
    std::lock_guard lock(mutex_);
    return accepted_by_;
  }
  /// Refused POSTs by HTTP status (0 = could not connect), e.g. "0:120 503:3".
  [[nodiscard]] std::string refused() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [status, n] : refused_) {
      out += std::to_string(status) + ":" + std::to_string(n) + " ";
    }
    return out;
  }
  /// Waits until `orders` were accepted (the moment a scenario crashes something).
  bool reached(std::size_t orders) const {
    return eventually([&] { return accepted().size() >= orders; }, 30s, 20ms);
  }

 private:
  void run(std::chrono::milliseconds duration) {
    auto next = std::chrono::steady_clock::now();
    const auto end = next + duration;
    // On a loaded machine the POSTs fall behind the pace: the load then goes on (up to twice its
    // duration) until it got the orders expect_invariants needs, rather than end short of them.
    const auto cap = end + duration;
    auto more = [&] {
      auto now = std::chrono::steady_clock::now();
      if (now < end) return true;
      std::lock_guard lock(mutex_);
      return now < cap && accepted_.size() < kMinOrders;
    };
    for (int i = 0; more(); ++i) {
      std::string user = "crash-" + std::to_string(i % 300);
      std::string item = R"({"sku":"ABC-001","qty":1})";
      if (i % 10 == 3) item = R"({"sku":"LIM-001","qty":2})";
      if (i % 10 == 6) item = R"({"sku":"ABC-002","qty":12})";  // 1,068,000: declined
      if (i % 10 == 8) item = R"({"sku":"ABC-002","qty":1})";
      const auto& target = order_services_[i % order_services_.size()];
      auto r = system_.call(target, "POST", "/api/orders",
                            R"({"userId":")" + user + R"(","items":[)" + item + "]}");
      if (r.status == 201) {
        PlacedOrder o{r.body["orderId"].get<std::int64_t>(), r.body["userId"].get<std::string>()};
        if (i % 10 == 9) {
          system_.call(target, "POST", "/api/orders/" + std::to_string(o.id) + "/cancel");
        }
        std::lock_guard lock(mutex_);
        accepted_.push_back(o);
        ++accepted_by_[target];
      } else {
        // The order-service was down or restarting: not accepted, nothing to check.
        std::lock_guard lock(mutex_);
        ++refused_[r.status];
      }
      next += std::chrono::microseconds{1'000'000 / rate_};
      std::this_thread::sleep_until(next);  // the load's pace, not a wait for a condition
    }
  }

  const RunningSystem& system_;
  const int rate_;
  const std::vector<std::string> order_services_;
  mutable std::mutex mutex_;
  std::vector<PlacedOrder> accepted_;
  std::map<std::string, int> accepted_by_;
  std::map<int, int> refused_;
  std::thread thread_;  // last: starts after the fields above exist
};

// `min_orders`: how many the load must have got in for the scenario to mean anything.
inline void expect_invariants(const RunningSystem& system, const Load& load,
                              const std::map<std::string, std::int64_t>& before,
                              std::size_t min_orders = kMinOrders) {
  auto orders = load.accepted();
  ASSERT_GE(orders.size(), min_orders)
      << "the load did not get enough orders in; refused: " << load.refused() << "\n"
      << system.output();
  auto violations = check_invariants(system, orders, before, 120s);
  for (std::size_t i = 0; i < violations.size() && i < 20; ++i) ADD_FAILURE() << violations[i];
  EXPECT_TRUE(violations.empty()) << violations.size() << " violations";
}

inline bool ready(const RunningSystem& system, const std::string& service) {
  return system.call(service, "GET", "/health/ready").status == 200;
}

inline pid_t pid_of(const RunningSystem& system, const std::string& name) {
  auto pids = system.pids();
  auto it = pids.find(name);
  return it == pids.end() ? -1 : it->second;
}

// Kills `name` with SIGKILL and waits until the supervisor runs a new, ready process of it.
inline void kill_and_await_restart(RunningSystem& system, const std::string& name) {
  pid_t old_pid = pid_of(system, name);
  ASSERT_GT(old_pid, 0) << name << " has no pid in pids.json";
  ASSERT_EQ(kill(old_pid, SIGKILL), 0);
  ASSERT_TRUE(eventually(
      [&] {
        pid_t now = pid_of(system, name);
        return now > 0 && now != old_pid;
      },
      30s, 50ms))
      << name << " was not restarted:\n"
      << system.output();
}

}  // namespace orderflow::testing::crash
