// orderflow-bench: the load generator and benchmark suite (docs/benchmarks.md).
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <tuple>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "kafka_cluster.h"
#include "kafka_probe.h"
#include "load_generator.h"
#include "postgres_probe.h"
#include "postgres_server.h"
#include "profile.h"
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

// The 1-minute load average (/proc/loadavg): how busy the machine was around a run.
double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

// docs/benchmarks.md (its hand-written tail kept) and the plot beside it; a PostgreSQL run
// rewrites only the PostgreSQL section of it.
void write_markdown(const nlohmann::json& results, const std::string& out_md,
                    const std::shared_ptr<spdlog::logger>& log) {
  if (results.value("storage", std::string(kSqliteStorage)) == kPostgresStorage) {
    std::string previous;
    {
      std::ifstream in(out_md);
      previous.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::ofstream(out_md) << render_postgres_report(results, previous);
    log->info("wrote the PostgreSQL section of {}", out_md);
    return;
  }
  auto png = fs::path(out_md).parent_path() / "benchmarks-e2e-latency.png";
  bool plotted = write_plot(results, png.string());
  if (!plotted) log->warn("gnuplot failed or is missing: the report has no plot");
  std::string previous;
  {
    std::ifstream in(out_md);
    previous.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ofstream(out_md) << render_report(results, plotted ? png.filename().string() : "", previous);
  fs::remove(png.string() + ".dat");
  fs::remove(png.string() + ".gp");
  log->info("wrote {}", out_md);
}

std::pair<std::string, std::uint16_t> split_host_port(std::string url) {
  if (auto at = url.find("://"); at != std::string::npos) url = url.substr(at + 3);
  if (auto slash = url.find('/'); slash != std::string::npos) url = url.substr(0, slash);
  auto colon = url.rfind(':');
  if (colon == std::string::npos) throw CLI::ValidationError("--url", "needs host:port");
  return {url.substr(0, colon), static_cast<std::uint16_t>(std::stoi(url.substr(colon + 1)))};
}

// Storage postgres without --postgres-url: one private server under the work dir for the
// whole run (fsync and synchronous_commit on, PostgreSQL's defaults), on this thread, which
// outlives it (PostgresServer::start). Fills options.postgres_url and postgres_pid.
std::unique_ptr<orderflow::cli::PostgresServer> start_postgres(
    SuiteOptions& options, const std::shared_ptr<spdlog::logger>& log) {
  if (options.storage != kPostgresStorage || !options.postgres_url.empty()) return nullptr;
  orderflow::cli::PostgresServerOptions server;
  server.data_dir = options.work_dir + "/postgres-server";
  int instances = options.replicas;
  for (int n : options.scale_out) instances = std::max(instances, n);
  // Five services' pools (8 by default) and their extra sessions, the drain's notification
  // service, the raw baseline and admin sessions.
  server.max_connections = std::max(server.max_connections, 5 * instances * 16 + 64);
  auto out = std::make_unique<orderflow::cli::PostgresServer>(server, log);
  out->start();
  options.postgres_url = out->url_with_password("postgres");
  options.postgres_pid = out->pid();
  log->info("postgres server for the run: {} (pid {})", out->url("postgres"), out->pid());
  return out;
}

void add_storage_options(CLI::App* cmd, SuiteOptions& options) {
  cmd->add_option("--storage", options.storage,
                  "sqlite (the services' configuration) or postgres (a private server for the run, "
                  "or --postgres-url)")
      ->check(CLI::IsMember({kSqliteStorage, kPostgresStorage}));
  cmd->add_option("--postgres-url", options.postgres_url,
                  "with --storage postgres: use this server (libpq URI of a user allowed to "
                  "CREATE DATABASE) instead of starting one");
  cmd->add_option("--replicas", options.replicas, "instances of every service (> 1: postgres)")
      ->check(CLI::Range(1, 8));
}

void check_storage(const SuiteOptions& options) {
  int most = options.replicas;
  for (int n : options.scale_out) most = std::max(most, n);
  if (most > 1 && options.storage != kPostgresStorage)
    throw std::runtime_error("several instances of a service need --storage postgres");
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
  std::string brokers = "both";
  // The cluster's phase set is shorter: its JVMs make every phase slower to set up and run.
  std::vector<double> kafka_rates{200, 500, 1000};
  int kafka_search_steps = 2;
  auto* suite_cmd = app.add_subcommand("suite", "run the standard suite and write the report");
  suite_cmd->add_option("--out", out_md, "Markdown report (hand-written tail is kept)");
  suite_cmd->add_option("--json", out_json, "also write every figure as JSON here");
  suite_cmd->add_option("--work-dir", suite.work_dir, "temp dir (default: a new one in /tmp)");
  suite_cmd->add_option("--phase-ms", phase_ms, "length of each load phase")
      ->check(CLI::Range(1000, 600000));
  suite_cmd->add_option("--connections", suite.connections)->check(CLI::Range(1, 1024));
  suite_cmd->add_option("--broker", brokers, "embedded, kafka (a local 3-node cluster) or both")
      ->check(CLI::IsMember({"embedded", "kafka", "both"}));
  suite_cmd->add_option("--rates", suite.saga_rates, "fixed saga rates on the embedded broker")
      ->delimiter(',');
  suite_cmd->add_option("--search-steps", suite.max_search_steps)->check(CLI::Range(0, 10));
  suite_cmd->add_option("--kafka-rates", kafka_rates, "fixed saga rates on the Kafka cluster")
      ->delimiter(',');
  suite_cmd->add_option("--kafka-search-steps", kafka_search_steps)->check(CLI::Range(0, 10));
  suite_cmd->add_option("--bootstrap", suite.external_bootstrap,
                        "use this running Kafka cluster instead of starting one");
  suite_cmd->add_option("--service-set", suite.service_overrides,
                        "key=value passed to every service as --set (repeatable)");
  std::vector<std::string> kafka_overrides;
  suite_cmd->add_option("--kafka-service-set", kafka_overrides,
                        "key=value for every service on the Kafka cluster only (repeatable)");
  add_storage_options(suite_cmd, suite);
  suite_cmd
      ->add_option("--scale-out", suite.scale_out,
                   "instance counts of the scale-out scenario (default with postgres: 1,2)")
      ->delimiter(',')
      ->check(CLI::Range(1, 8));
  suite_cmd->add_option("--scale-out-rounds", suite.scale_out_rounds, "0 = no scale-out scenario")
      ->check(CLI::Range(0, 10));
  suite_cmd
      ->add_option("--scale-out-rate", suite.scale_out_rate,
                   "open-loop rate of the scale-out scenario (orders/s)")
      ->check(CLI::PositiveNumber);
  suite_cmd
      ->add_option("--skus", suite.skus,
                   "products in the bench's catalog; orders spread over them (default 1)")
      ->check(CLI::Range(1, 100000));
  bool scale_out_only = false;
  suite_cmd->add_flag("--scale-out-only", scale_out_only,
                      "only the scale-out scenario; writes JSON, not the report");
  bool saga_only = false;
  suite_cmd->add_flag("--saga-only", saga_only,
                      "only the full-saga scenario (for profiling); writes JSON, not the report");

  SuiteOptions sweep;
  sweep.source_dir = ORDERFLOW_SOURCE_DIR;
  sweep.bin_dir = ORDERFLOW_BIN_DIR;
  sweep.broker = kKafkaBroker;
  sweep.saga_rates = {200, 500, 1000};
  std::vector<std::string> vary;
  std::string sweep_json;
  auto* sweep_cmd = app.add_subcommand(
      "sweep", "full saga at fixed rates per value of service settings (one at a time)");
  sweep_cmd->add_option("--broker", sweep.broker)->check(CLI::IsMember({"embedded", "kafka"}));
  sweep_cmd->add_option("--bootstrap", sweep.external_bootstrap,
                        "use this running Kafka cluster instead of starting one");
  sweep_cmd->add_option("--rates", sweep.saga_rates, "fixed saga rates (orders/s)")->delimiter(',');
  sweep_cmd->add_option("--vary", vary, "key=v1,v2,… passed to every service (repeatable)")
      ->required();
  sweep_cmd->add_option("--service-set", sweep.service_overrides,
                        "key=value for every run (repeatable)");
  sweep_cmd->add_option("--phase-ms", phase_ms)->check(CLI::Range(1000, 600000));
  sweep_cmd->add_option("--json", sweep_json, "also write every figure as JSON here");
  add_storage_options(sweep_cmd, sweep);

  std::vector<std::string> urls{"http://127.0.0.1:8080"};
  std::string bootstrap;
  double rate = 1000;
  bool closed = false;
  int connections = 16;
  auto* load_cmd = app.add_subcommand(
      "load", "one load phase of POST /api/orders against a running system (orderflow up)");
  load_cmd
      ->add_option("--url", urls,
                   "order-service base URL; several (repeated or comma-separated): the "
                   "connections are spread over them")
      ->delimiter(',');
  load_cmd->add_option("--rate", rate, "open loop: requests/s")->check(CLI::PositiveNumber);
  load_cmd->add_flag("--closed", closed, "closed loop at maximum instead of a fixed rate");
  load_cmd->add_option("--duration-ms", phase_ms)->check(CLI::Range(100, 3600000));
  load_cmd->add_option("--connections", connections)->check(CLI::Range(1, 1024));
  load_cmd->add_option("--bootstrap", bootstrap,
                       "Kafka bootstrap servers: also measure e2e latency on orders.v1");
  std::string sku = "ABC-001";
  load_cmd->add_option("--sku", sku, "product ordered (one unit per order)");

  ProfileOptions profile;
  profile.source_dir = ORDERFLOW_SOURCE_DIR;
  profile.bin_dir = ORDERFLOW_BIN_DIR;
  std::string profile_json;
  std::string profile_from;
  int idle_ms = static_cast<int>(profile.idle.count());
  int proc_phase_ms = static_cast<int>(profile.proc_phase.count());
  auto* profile_cmd = app.add_subcommand(
      "profile",
      "CPU instructions per completed order under callgrind (every process, broker included) "
      "and CPU time per order from /proc; writes the \"CPU per order\" section of the report");
  profile_cmd->add_option("--out", out_md, "Markdown report: only its CPU-per-order section");
  profile_cmd->add_option("--json", profile_json, "also write every figure as JSON here");
  profile_cmd->add_option("--from-json", profile_from,
                          "render the section again from this JSON instead of measuring");
  profile_cmd->add_option("--work-dir", profile.work_dir, "temp dir (default: a new one in /tmp)");
  profile_cmd->add_option("--orders", profile.orders, "measured orders under callgrind")
      ->check(CLI::Range(1, 100000));
  profile_cmd->add_option("--rate", profile.rate, "orders/s offered under callgrind (open loop)")
      ->check(CLI::PositiveNumber);
  profile_cmd->add_option("--connections", profile.connections, "under callgrind")
      ->check(CLI::Range(1, 64));
  profile_cmd->add_option("--warm-up-orders", profile.warm_up_orders)->check(CLI::Range(0, 10000));
  profile_cmd->add_option("--idle-ms", idle_ms, "idle window under callgrind")
      ->check(CLI::Range(1000, 600000));
  profile_cmd->add_option("--top", profile.top_functions, "functions per process in the report")
      ->check(CLI::Range(1, 100));
  profile_cmd
      ->add_option("--proc-connections", profile.proc_connections,
                   "closed-loop connections of the /proc measurement")
      ->check(CLI::Range(1, 1024));
  profile_cmd->add_option("--proc-phase-ms", proc_phase_ms, "length of the /proc measurement")
      ->check(CLI::Range(1000, 600000));
  profile_cmd->add_option("--service-set", profile.service_overrides,
                          "key=value passed to every service as --set (repeatable)");
  profile_cmd->add_option(
      "--callgrind-set", profile.callgrind_overrides,
      "key=value for every service under callgrind only (repeatable; replaces the default "
      "kafka.consumer.fetch.wait.max.ms=500)");

  std::string report_json;
  auto* report_cmd = app.add_subcommand(
      "report", "render the report again from a suite's --json (the hand-written tail is kept)");
  report_cmd->add_option("--json", report_json, "a suite's JSON")->required();
  report_cmd->add_option("--out", out_md, "Markdown report");

  CLI11_PARSE(app, argc, argv);

  auto new_work_dir = [] {
    return (fs::temp_directory_path() /
            ("orderflow-bench-" + std::to_string(Clock::now().time_since_epoch().count())))
        .string();
  };
  try {
    if (*report_cmd) {
      std::ifstream in(report_json);
      write_markdown(nlohmann::json::parse(in), out_md, log);
      return 0;
    }
    if (*profile_cmd) {
      nlohmann::json results;
      if (!profile_from.empty()) {
        std::ifstream in(profile_from);
        results = nlohmann::json::parse(in);
      } else {
        profile.idle = std::chrono::milliseconds(idle_ms);
        profile.proc_phase = std::chrono::milliseconds(proc_phase_ms);
        const bool own_work_dir = profile.work_dir.empty();
        if (own_work_dir) profile.work_dir = new_work_dir();
        results = run_profile(profile, log);
        results["date"] = today();
        results["commit"] = git_commit(profile.source_dir);
        results["machine"] = machine_summary();
        results["buildType"] = ORDERFLOW_BUILD_TYPE;
        results["loadAverage"] = load_average();
        std::string command = "orderflow-bench profile";
        for (int i = 2; i < argc; ++i) command += std::string(" ") + argv[i];
        results["command"] = command;
        if (own_work_dir) {
          std::error_code ec;
          fs::remove_all(profile.work_dir, ec);
        }
      }
      if (!profile_json.empty()) std::ofstream(profile_json) << results.dump(2) << "\n";
      std::string previous;
      {
        std::ifstream in(out_md);
        previous.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
      std::ofstream(out_md) << replace_marked_section(
          previous, kProfileBeginMarker, kProfileEndMarker, render_profile_section(results));
      log->info("wrote the CPU-per-order section of {}", out_md);
      return 0;
    }
    if (*sweep_cmd) {
      sweep.phase = std::chrono::milliseconds(phase_ms);
      sweep.work_dir = new_work_dir();
      check_storage(sweep);
      auto postgres = start_postgres(sweep, log);
      std::vector<SweepSetting> settings;
      for (const auto& v : vary) {
        auto eq = v.find('=');
        if (eq == std::string::npos) throw std::runtime_error("--vary " + v + ": needs key=v1,v2");
        SweepSetting setting{v.substr(0, eq), {}};
        std::istringstream values(v.substr(eq + 1));
        for (std::string value; std::getline(values, value, ',');) setting.values.push_back(value);
        settings.push_back(setting);
      }
      auto load_before = load_average();
      auto results = run_sweep(sweep, settings, log);
      results["date"] = today();
      results["commit"] = git_commit(sweep.source_dir);
      results["loadAverage"] = {load_before, load_average()};
      results["storage"] = sweep.storage;
      if (!sweep_json.empty()) std::ofstream(sweep_json) << results.dump(2) << "\n";
      std::cout << render_sweep(results);
      if (postgres) postgres->stop();
      std::error_code ec;
      fs::remove_all(sweep.work_dir, ec);
      return 0;
    }
    if (*suite_cmd) {
      suite.phase = std::chrono::milliseconds(phase_ms);
      if (suite.work_dir.empty()) suite.work_dir = new_work_dir();
      if (suite.storage == kPostgresStorage && suite.scale_out.empty()) suite.scale_out = {1, 2};
      if (suite.scale_out_rounds == 0 || saga_only) suite.scale_out.clear();
      if (scale_out_only) {
        if (suite.scale_out.empty()) throw std::runtime_error("--scale-out-only: no scale-out");
        suite.saga_phases = false;
      }
      check_storage(suite);
      auto postgres = start_postgres(suite, log);
      const double load_before = load_average();
      nlohmann::json results = nlohmann::json::object();
      auto rates_text = [](const std::vector<double>& rates) {
        std::string out;
        for (double r : rates)
          out += (out.empty() ? "" : ", ") + std::to_string(static_cast<int>(r));
        return out;
      };
      bool first = true;
      for (const char* broker : {kEmbeddedBroker, kKafkaBroker}) {
        if (brokers != "both" && brokers != broker) continue;
        SuiteOptions options = suite;
        options.broker = broker;
        options.work_dir = suite.work_dir + "/" + broker;
        // The SQLite and HTTP baselines and the API-only scenario do not depend on the broker:
        // measured once, in the first run.
        options.local_baselines = options.api_only = first && !saga_only && !scale_out_only;
        options.kafka_baseline = !saga_only && !scale_out_only;
        options.closed_loop = true;
        if (options.broker == kKafkaBroker) {
          options.saga_rates = kafka_rates;
          options.max_search_steps = kafka_search_steps;
          options.service_overrides.insert(options.service_overrides.end(), kafka_overrides.begin(),
                                           kafka_overrides.end());
        }
        results[broker] = run_suite(options, log);
        first = false;
      }
      results["date"] = today();
      results["commit"] = git_commit(suite.source_dir);
      results["storage"] = suite.storage;
      if (suite.storage == kPostgresStorage) {
        results["postgres"] = postgres_settings(
            suite.postgres_url, {"server_version", "fsync", "synchronous_commit", "shared_buffers",
                                 "wal_level", "max_connections"});
        results["postgres"]["private"] = postgres != nullptr;
      }
      results["buildType"] = ORDERFLOW_BUILD_TYPE;
      results["kafkaVersion"] = orderflow::cli::pinned_kafka_version();
      results["embeddedRates"] = rates_text(suite.saga_rates);
      results["embeddedSearchSteps"] = suite.max_search_steps;
      results["kafkaRates"] = rates_text(kafka_rates);
      results["kafkaSearchSteps"] = kafka_search_steps;
      const double load_after = load_average();
      results["loadAverage"] = {load_before, load_after};
      results["machineNote"] = fmt::format(
          "1-minute load average {:.1f} before the run and {:.1f} after it (2.0 = both cores "
          "busy; above that, other work than this run was waiting for them).",
          load_before, load_after);
      if (!out_json.empty()) std::ofstream(out_json) << results.dump(2) << "\n";
      if (saga_only || scale_out_only) return 0;
      write_markdown(results, out_md, log);
      if (postgres) postgres->stop();
      std::error_code ec;
      fs::remove_all(suite.work_dir, ec);
      return 0;
    }
    LoadOptions load;
    std::tie(load.host, load.port) = split_host_port(urls.at(0));
    for (std::size_t i = 1; i < urls.size(); ++i)
      load.more_servers.push_back(split_host_port(urls[i]));
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
