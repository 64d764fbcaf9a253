// orderflow-bench: the load generator and benchmark suite (docs/benchmarks.md).
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "kafka_probe.h"
#include "load_generator.h"
#include "report.h"
#include "suite.h"

namespace fs = std::filesystem;
using namespace orderflow::bench;
using Clock = std::chrono::steady_clock;

namespace {

std::string today() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

std::string git_commit(const std::string& dir) {
  std::string cmd = "git -C '" + dir + "' rev-parse --short HEAD 2>/dev/null";
  std::FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "?";
  char buf[64] = {};
  std::string out = std::fgets(buf, sizeof buf, p) != nullptr ? buf : "?";
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::pair<std::string, std::uint16_t> split_host_port(std::string url) {
  if (auto at = url.find("://"); at != std::string::npos) url = url.substr(at + 3);
  if (auto slash = url.find('/'); slash != std::string::npos) url = url.substr(0, slash);
  auto colon = url.rfind(':');
  if (colon == std::string::npos) throw CLI::ValidationError("--url", "needs host:port");
  return {url.substr(0, colon), static_cast<std::uint16_t>(std::stoi(url.substr(colon + 1)))};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"orderflow-bench: load generator and benchmark suite"};
  app.require_subcommand(1);
  auto log = spdlog::stdout_color_mt("bench");
  log->set_pattern("%H:%M:%S.%e %v");

  SuiteOptions suite;
  suite.source_dir = ORDERFLOW_SOURCE_DIR;
  suite.bin_dir = ORDERFLOW_BIN_DIR;
  std::string out_md = std::string(ORDERFLOW_SOURCE_DIR) + "/docs/benchmarks.md";
  std::string out_json;
  int phase_ms = 10000;
  auto* suite_cmd = app.add_subcommand("suite", "run the standard suite and write the report");
  suite_cmd->add_option("--out", out_md, "Markdown report (hand-written tail is kept)");
  suite_cmd->add_option("--json", out_json, "also write every figure as JSON here");
  suite_cmd->add_option("--work-dir", suite.work_dir, "temp dir (default: a new one in /tmp)");
  suite_cmd->add_option("--phase-ms", phase_ms, "length of each load phase")
      ->check(CLI::Range(1000, 600000));
  suite_cmd->add_option("--connections", suite.connections)->check(CLI::Range(1, 1024));
  suite_cmd->add_option("--rates", suite.saga_rates, "fixed saga rates (orders/s)");
  suite_cmd->add_option("--search-steps", suite.max_search_steps)->check(CLI::Range(0, 10));
  suite_cmd->add_option("--service-set", suite.service_overrides,
                        "key=value passed to every service as --set (repeatable)");
  bool saga_only = false;
  suite_cmd->add_flag("--saga-only", saga_only,
                      "only the full-saga scenario (for profiling); writes JSON, not the report");

  std::string url = "http://127.0.0.1:8080";
  std::string bootstrap;
  double rate = 1000;
  bool closed = false;
  int connections = 16;
  auto* load_cmd = app.add_subcommand(
      "load", "one load phase of POST /api/orders against a running system (orderflow up)");
  load_cmd->add_option("--url", url, "order-service base URL");
  load_cmd->add_option("--rate", rate, "open loop: requests/s")->check(CLI::PositiveNumber);
  load_cmd->add_flag("--closed", closed, "closed loop at maximum instead of a fixed rate");
  load_cmd->add_option("--duration-ms", phase_ms)->check(CLI::Range(100, 3600000));
  load_cmd->add_option("--connections", connections)->check(CLI::Range(1, 1024));
  load_cmd->add_option("--bootstrap", bootstrap,
                       "Kafka bootstrap servers: also measure e2e latency on orders.v1");
  std::string sku = "ABC-001";
  load_cmd->add_option("--sku", sku, "product ordered (one unit per order)");

  CLI11_PARSE(app, argc, argv);

  try {
    if (*suite_cmd) {
      suite.phase = std::chrono::milliseconds(phase_ms);
      if (suite.work_dir.empty()) {
        suite.work_dir =
            (fs::temp_directory_path() /
             ("orderflow-bench-" + std::to_string(Clock::now().time_since_epoch().count())))
                .string();
      }
      suite.baselines = suite.api_only = !saga_only;
      auto results = run_suite(suite, log);
      results["date"] = today();
      results["commit"] = git_commit(suite.source_dir);
      results["buildType"] = ORDERFLOW_BUILD_TYPE;
      if (!out_json.empty()) std::ofstream(out_json) << results.dump(2) << "\n";
      if (saga_only) return 0;
      auto png = fs::path(out_md).parent_path() / "benchmarks-e2e-latency.png";
      bool plotted = write_plot(results, png.string());
      if (!plotted) log->warn("gnuplot failed or is missing: the report has no plot");
      std::string previous;
      {
        std::ifstream in(out_md);
        previous.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
      std::ofstream(out_md) << render_report(results, plotted ? png.filename().string() : "",
                                             previous);
      fs::remove(png.string() + ".dat");
      fs::remove(png.string() + ".gp");
      log->info("wrote {}", out_md);
      std::error_code ec;
      fs::remove_all(suite.work_dir, ec);
      return 0;
    }
    auto [host, port] = split_host_port(url);
    LoadOptions load;
    load.host = host;
    load.port = port;
    load.mode = closed ? LoadMode::kClosed : LoadMode::kOpen;
    load.rate = rate;
    load.duration = std::chrono::milliseconds(phase_ms);
    load.connections = connections;
    load.body = [&](std::int64_t i) { return order_body(sku, i); };
    std::unique_ptr<TerminalWatcher> watcher;
    if (!bootstrap.empty()) {
      watcher = std::make_unique<TerminalWatcher>(bootstrap, "orders.v1");
      watcher->start();
      load.on_response = [&](std::int64_t, Clock::time_point intended,
                             const orderflow::http::Response& r) {
        if (r.status == 201) watcher->expect(order_id_of(r.body), intended);
      };
    }
    auto result = run_load(load);
    nlohmann::json phase = {{"name", closed ? "load-closed" : "load-open"},
                            {"mode", closed ? "closed" : "open"},
                            {"rate", closed ? 0.0 : rate},
                            {"load", to_json(result)}};
    if (watcher) phase["e2e"] = to_json(watcher->collect(Clock::now() + std::chrono::seconds(30)));
    std::cout << phase.dump(2) << "\n\n" << markdown_header() << markdown_row(phase);
    return 0;
  } catch (const std::exception& e) {
    log->error("orderflow-bench: {}", e.what());
    return 1;
  }
}
