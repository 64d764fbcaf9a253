// e2e: a real Prometheus (Debian's /usr/bin/prometheus) on a free loopback port, with its own
// data dir under a temp dir, scrapes a running `orderflow up` (embedded broker) through the
// file_sd targets `orderflow up --prometheus-targets FILE` writes. Orders of every kind flow
// (completed, out of stock, payment declined, a dead-lettered FAIL item); then every PromQL
// query of deploy/grafana/orderflow.json must return data through Prometheus's HTTP API, and
// the consumer-lag alert of deploy/prometheus/alerts.yml must fire while notification-service
// is stopped (SIGSTOP) with orders flowing and resolve once it runs again (SIGCONT).
//
// Test-only rules: the lag warning's threshold (1,000 records) and `for: 5m` would take minutes
// and thousands of orders, so this test loads alerts.yml with that one rule at "> 5" and
// "for: 2s" (the expression is otherwise the file's); scrape and evaluation every second.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "orderflow/testing/system_under_test.h"

namespace orderflow::testing {
namespace {

using namespace std::chrono_literals;

// How often Prometheus is asked (each ask is a curl process).
constexpr auto kPoll = 250ms;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// alerts.yml with the lag warning made reachable in a test (see the file comment).
std::string test_rules() {
  auto rules = read_file(std::string(ORDERFLOW_SOURCE_DIR) + "/deploy/prometheus/alerts.yml");
  const std::string name = "- alert: OrderflowConsumerLagWarning";
  auto begin = rules.find(name);
  auto end = rules.find("- alert:", begin + name.size());
  if (begin == std::string::npos || end == std::string::npos) return {};
  auto rule = rules.substr(begin, end - begin);
  auto threshold = rule.find("> 1000");
  auto hold = rule.find("for: 5m");
  if (threshold == std::string::npos || hold == std::string::npos) return {};
  rule.replace(hold, 7, "for: 2s");
  rule.replace(threshold, 6, "> 5");
  return rules.replace(begin, end - begin, rule);
}

// Prometheus as a child process; SIGTERM and wait on destruction.
class PrometheusServer {
 public:
  PrometheusServer(const TempDir& dir, const std::string& targets_file)
      : port_(free_loopback_port()) {
    write_file((dir.path() / "rules.yml").string(), test_rules());
    write_file((dir.path() / "prometheus.yml").string(),
               "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
               "rule_files:\n  - rules.yml\n"
               "scrape_configs:\n  - job_name: orderflow\n    file_sd_configs:\n"
               "      - files: ['" +
                   targets_file + "']\n        refresh_interval: 1s\n");
    const std::string config = (dir.path() / "prometheus.yml").string();
    const std::string data = "--storage.tsdb.path=" + (dir.path() / "data").string();
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
    const std::string log = (dir.path() / "prometheus.log").string();
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::fopen(log.c_str(), "w");
      if (out != nullptr) {
        dup2(fileno(out), STDOUT_FILENO);
        dup2(fileno(out), STDERR_FILENO);
      }
      execl("/usr/bin/prometheus", "prometheus", ("--config.file=" + config).c_str(), data.c_str(),
            listen.c_str(), "--log.level=warn", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~PrometheusServer() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] bool ready() const {
    return run_command("curl -sf -o /dev/null -w '%{http_code}' " + url() + "/-/ready") == "200";
  }
  /// GET /api/v1/<path> with `query` (if any) URL-encoded; the JSON answer (null when none).
  [[nodiscard]] nlohmann::json api(const std::string& path, const std::string& query = {}) const {
    std::string command = "curl -s -G " + url() + "/api/v1/" + path;
    if (!query.empty()) {
      // Through a file: the query is not shell-quoted.
      char name[] = "/tmp/orderflow-promql-XXXXXX";
      int fd = mkstemp(name);
      if (fd < 0) return nullptr;
      close(fd);
      write_file(name, query);
      command += std::string(" --data-urlencode query@") + name;
      auto out = run_command(command);
      unlink(name);
      return nlohmann::json::parse(out, nullptr, false);
    }
    return nlohmann::json::parse(run_command(command), nullptr, false);
  }
  /// Result of an instant query; empty when it failed or returned nothing.
  [[nodiscard]] nlohmann::json query(const std::string& promql) const {
    auto answer = api("query", promql);
    if (!answer.is_object() || answer.value("status", "") != "success") {
      return nlohmann::json::array();
    }
    return answer["data"]["result"];
  }
  /// The states ("pending", "firing") of `alertname`'s alerts with label group=`group`.
  [[nodiscard]] std::vector<std::string> alert_states(const std::string& alertname,
                                                      const std::string& group) const {
    std::vector<std::string> states;
    auto answer = api("alerts");
    if (!answer.is_object() || !answer.contains("data")) return states;
    for (const auto& alert : answer["data"]["alerts"]) {
      const auto& labels = alert["labels"];
      if (labels.value("alertname", "") == alertname && labels.value("group", "") == group) {
        states.push_back(alert.value("state", ""));
      }
    }
    return states;
  }
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  int port_;
  pid_t pid_ = -1;
};

// The dashboard's queries with Grafana's variables filled in as "All" would.
std::vector<std::pair<std::string, std::string>> dashboard_queries() {
  auto dashboard = nlohmann::json::parse(
      read_file(std::string(ORDERFLOW_SOURCE_DIR) + "/deploy/grafana/orderflow.json"), nullptr,
      false);
  std::vector<std::pair<std::string, std::string>> out;
  if (!dashboard.is_object()) return out;
  for (const auto& panel : dashboard["panels"]) {
    if (!panel.contains("targets")) continue;
    for (const auto& target : panel["targets"]) {
      auto expr = target["expr"].get<std::string>();
      for (const auto& [var, value] : std::vector<std::pair<std::string, std::string>>{
               {"$__rate_interval", "1m"}, {"$service", ".*"}, {"$topic", ".*"}}) {
        for (auto at = expr.find(var); at != std::string::npos; at = expr.find(var, at)) {
          expr.replace(at, var.size(), value);
        }
      }
      out.emplace_back(
          panel["title"].get<std::string>() + " / " + target["legendFormat"].get<std::string>(),
          expr);
    }
  }
  return out;
}

std::int64_t place(const RunningSystem& system, const std::string& items) {
  auto r = system.call("order-service", "POST", "/api/orders",
                       R"({"userId":"prom","items":[)" + items + "]}");
  EXPECT_EQ(r.status, 201) << r.raw;
  return r.status == 201 ? r.body["orderId"].get<std::int64_t>() : 0;
}

std::string status_of(const RunningSystem& system, std::int64_t id) {
  auto r = system.call("order-service", "GET", "/api/orders/" + std::to_string(id));
  return r.status == 200 ? r.body.value("status", "") : "";
}

TEST(PrometheusTest, DashboardQueriesReturnDataAndTheLagAlertFiresAndResolves) {
  ASSERT_FALSE(test_rules().empty()) << "alerts.yml: OrderflowConsumerLagWarning changed shape";
  TempDir dir;
  const std::string targets = (dir.path() / "targets.json").string();
  SystemOptions options;
  options.up_args = {"--prometheus-targets", targets};
  RunningSystem system({{"inventory-service", {"consumer.retry.backoff_ms=200"}},
                        {"ops-service", {"lag.interval_ms=500"}}},
                       options);
  auto listed = nlohmann::json::parse(read_file(targets), nullptr, false);
  ASSERT_TRUE(listed.is_array()) << read_file(targets);
  EXPECT_EQ(listed.size(), 5u) << listed.dump();
  EXPECT_EQ(listed, nlohmann::json::parse(read_file(system.data_dir() + "/prometheus-targets.json"),
                                          nullptr, false));

  PrometheusServer prometheus(dir, targets);
  ASSERT_TRUE(eventually([&] { return prometheus.ready(); }, 30000ms, kPoll))
      << read_file((dir.path() / "prometheus.log").string());
  auto targets_up = [&] {
    auto r = prometheus.query(R"(sum(up{job="orderflow"}))");
    return r.empty() ? std::string() : r[0]["value"][1].get<std::string>();
  };
  ASSERT_TRUE(eventually([&] { return targets_up() == "5"; }, 30000ms, kPoll))
      << prometheus.api("targets").dump();

  // Every kind of order: completed, out of stock (STOCK_REJECTED), declined payment (over the
  // 1,000,000 limit), and a FAIL item that inventory-service retries and dead-letters.
  std::vector<std::int64_t> completed;
  for (int i = 0; i < 3; ++i) completed.push_back(place(system, R"({"sku":"ABC-001","qty":1})"));
  auto out_of_stock = place(system, R"({"sku":"XYZ-100","qty":51})");
  auto declined = place(system, R"({"sku":"XYZ-100","qty":4})");
  place(system, R"({"sku":"FAIL","qty":1})");
  for (auto id : completed) {
    EXPECT_TRUE(eventually([&] { return status_of(system, id) == "COMPLETED"; }, 30000ms)) << id;
  }
  EXPECT_TRUE(eventually([&] { return status_of(system, out_of_stock) == "CANCELLED"; }, 30000ms));
  EXPECT_TRUE(eventually([&] { return status_of(system, declined) == "CANCELLED"; }, 30000ms));

  auto queries = dashboard_queries();
  ASSERT_GE(queries.size(), 9u);
  for (const auto& [panel, expr] : queries) {
    EXPECT_TRUE(eventually([&] { return !prometheus.query(expr).empty(); }, 30000ms, kPoll))
        << panel << ": no data for " << expr;
  }

  // notification-service stops consuming (and answering) while orders flow: only the
  // ops-service's outside view (orderflow_consumer_group_lag) still sees its group's lag.
  auto notification = system.pids().at("notification-service");
  ASSERT_EQ(kill(notification, SIGSTOP), 0);
  for (int i = 0; i < 10; ++i) place(system, R"({"sku":"ABC-002","qty":1})");
  EXPECT_TRUE(eventually(
      [&] {
        auto states =
            prometheus.alert_states("OrderflowConsumerLagWarning", "notification-service");
        return std::find(states.begin(), states.end(), "firing") != states.end();
      },
      30000ms, kPoll))
      << prometheus.api("alerts").dump() << "\n"
      << prometheus.query("orderflow_consumer_group_lag").dump();
  ASSERT_EQ(kill(notification, SIGCONT), 0);
  EXPECT_TRUE(eventually(
      [&] {
        return prometheus.alert_states("OrderflowConsumerLagWarning", "notification-service")
            .empty();
      },
      60000ms, kPoll))
      << prometheus.api("alerts").dump();
}

}  // namespace
}  // namespace orderflow::testing
