#include "report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>

namespace orderflow::bench {

namespace {

double num(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* at = &j;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return 0;
    at = &(*at)[key];
  }
  return at->is_number() ? at->get<double>() : 0;
}

std::string ratio(double value, double base) {
  if (base <= 0) return "–";
  const double r = value / base;
  return r > 0 && r < 0.01 ? fmt::format("{:.4f}×", r) : fmt::format("{:.2f}×", r);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

}  // namespace

std::string machine_summary() {
  utsname u{};
  uname(&u);
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGE_SIZE);
  return fmt::format("{} cores ({}), {:.0f} GiB RAM, Linux {} {}", sysconf(_SC_NPROCESSORS_ONLN),
                     cpu_model(), static_cast<double>(pages) * page / (1024.0 * 1024 * 1024),
                     u.release, u.machine);
}

namespace {

std::string yes_no(bool met) { return met ? "met" : "**missed**"; }

// The maximum sustainable rate as text: "below N" (N the lowest rate tried) when no rate was.
std::string max_sustainable(const nlohmann::json& r) {
  const double best = num(r, {"saga", "maxSustainable"});
  if (best > 0 || !r.contains("saga")) return fmt::format("{:.0f}", best);
  double lowest = 0;
  for (const auto& p : r["saga"]["phases"]) {
    const double rate = num(p, {"rate"});
    if (lowest == 0 || rate < lowest) lowest = rate;
  }
  return fmt::format("below {:.0f}", lowest);
}

const nlohmann::json* phase_named(const nlohmann::json& results, const std::string& name) {
  if (!results.contains("saga")) return nullptr;
  for (const auto& p : results["saga"]["phases"]) {
    if (p["name"] == name) return &p;
  }
  return nullptr;
}

}  // namespace

std::string markdown_header() {
  return "| phase | offered/s | achieved/s | API p50 | API p99 | e2e p50 | e2e p90 | e2e p99 | "
         "e2e p99.9 | e2e max | errors | timeouts | missing |\n"
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
}

std::string markdown_row(const nlohmann::json& p) {
  const auto& load = p["load"];
  bool has_e2e = p.contains("e2e");
  auto e2e = [&](const char* key) {
    return has_e2e ? fmt::format("{:.1f}", num(p, {"e2e", "latency", key})) : std::string("–");
  };
  return fmt::format(
      "| {} | {} | {:.0f} | {:.2f} | {:.2f} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
      p["name"].get<std::string>(),
      p["mode"] == "open" ? fmt::format("{:.0f}", num(p, {"rate"})) : std::string("closed"),
      num(load, {"throughput"}), num(load, {"latency", "p50Ms"}), num(load, {"latency", "p99Ms"}),
      e2e("p50Ms"), e2e("p90Ms"), e2e("p99Ms"), e2e("p999Ms"), e2e("maxMs"),
      static_cast<std::int64_t>(num(load, {"errors"})),
      static_cast<std::int64_t>(num(load, {"timeouts"}) + num(load, {"unsent"})),
      has_e2e ? std::to_string(static_cast<std::int64_t>(num(p, {"e2e", "missing"}) +
                                                         num(p, {"e2e", "cancelled"})))
              : std::string("–"));
}

bool write_plot(const nlohmann::json& results, const std::string& png) {
  const std::vector<std::pair<std::string, std::string>> brokers{{kEmbeddedSection, "embedded"},
                                                                 {kKafkaSection, "Kafka cluster"}};
  const std::string dat = png + ".dat";
  std::vector<std::string> plots;
  {
    std::ofstream out(dat);
    int index = 0;
    for (const auto& [key, label] : brokers) {
      if (!results.contains(key) || !results[key].contains("saga")) continue;
      out << "# " << label << ": achieved_per_s p50_ms p90_ms p99_ms p999_ms (open loop)\n";
      std::vector<std::pair<double, const nlohmann::json*>> rows;
      for (const auto& p : results[key]["saga"]["phases"]) {
        rows.emplace_back(num(p, {"load", "throughput"}), &p);
      }
      std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.first < b.first; });
      for (const auto& [x, p] : rows) {
        out << fmt::format(
            "{:.0f} {:.3f} {:.3f} {:.3f} {:.3f}\n", x, num(*p, {"e2e", "latency", "p50Ms"}),
            num(*p, {"e2e", "latency", "p90Ms"}), num(*p, {"e2e", "latency", "p99Ms"}),
            num(*p, {"e2e", "latency", "p999Ms"}));
      }
      out << "\n\n";
      const char* dash = index == 0 ? "1" : "3";
      plots.push_back(fmt::format(
          "'{}' index {} using 1:2 with linespoints dashtype {} title '{} p50', '' index {} "
          "using 1:4 with linespoints dashtype {} title '{} p99'",
          dat, index, dash, label, index, dash, label));
      ++index;
    }
  }
  if (plots.empty()) return false;
  const std::string gp = png + ".gp";
  {
    std::ofstream out(gp);
    out << "set terminal pngcairo size 900,540 noenhanced\n"
        << "set output '" << png << "'\n"
        << "set title 'orderflow full saga: end-to-end latency (POST -> terminal event on "
           "orders.v1)'\n"
        << "set xlabel 'achieved throughput (orders/s, open loop)'\n"
        << "set ylabel 'latency (ms, log scale)'\n"
        << "set logscale y\nset grid\nset key top left\nplot ";
    for (const auto& p : plots) out << p << ", ";
    out << "100 with lines dashtype 2 title 'sustainable limit (p99 100 ms)'\n";
  }
  // The PNG terminal name differs between gnuplot builds; fall back to plain png.
  std::string command = "gnuplot '" + gp + "' 2>/dev/null";
  if (std::system(command.c_str()) == 0) return true;
  std::string text;
  {
    std::ifstream in(gp);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto at = text.find("pngcairo");
  if (at == std::string::npos) return false;
  text.replace(at, 8, "png");
  std::ofstream(gp) << text;
  return std::system(command.c_str()) == 0;
}

namespace {

bool is_broker_process(const std::string& name) {
  return name == "orderflow-broker" || name.rfind("kafka-", 0) == 0;
}

// Sum of the CPU of the broker's processes, and of every process, in a phase.
std::pair<double, double> cpu_totals(const nlohmann::json& phase) {
  double broker = 0;
  double all = 0;
  if (!phase.contains("processes")) return {0, 0};
  for (const auto& [name, p] : phase["processes"].items()) {
    double v = num(p, {"cpuPercent"});
    all += v;
    if (is_broker_process(name)) broker += v;
  }
  return {broker, all};
}

// The saga, CPU and memory tables of one broker's run.
void render_broker(std::ostringstream& md, const nlohmann::json& r, const std::string& heading) {
  md << "### " << heading << ": raw librdkafka baseline\n\n| baseline | figure |\n|---|---|\n";
  md << fmt::format(
      "| (a) raw librdkafka produce → consume, as fast as possible | {:.0f} msgs/s ({} msgs) |\n",
      num(r, {"baselines", "kafka", "produceConsumeRate"}),
      static_cast<std::int64_t>(num(r, {"baselines", "kafka", "messages"})));
  md << fmt::format(
      "| (a) raw librdkafka latency at {:.0f} msgs/s | p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms "
      "|\n",
      num(r, {"baselines", "kafka", "latencyRate"}),
      num(r, {"baselines", "kafka", "latency", "p50Ms"}),
      num(r, {"baselines", "kafka", "latency", "p99Ms"}),
      num(r, {"baselines", "kafka", "latency", "maxMs"}));
  if (r.contains("hopDrain")) {
    md << fmt::format(
        "| (a) raw consumer draining the saga's orders.v1 + payments.v1 | {:.0f} "
        "records/s |\n",
        num(r, {"hopDrain", "rawRecordsPerS"}));
  }
  md << "\n";
  if (r.contains("api")) {
    md << "### " << heading << ": API only (broker + order-service)\n\n" << markdown_header();
    md << markdown_row(r["api"]["open"]) << markdown_row(r["api"]["closed"]) << "\n";
  }
  md << "### " << heading << ": full saga\n\n" << markdown_header();
  for (const auto& p : r["saga"]["phases"]) md << markdown_row(p);
  if (r["saga"].contains("closed")) md << markdown_row(r["saga"]["closed"]);
  md << "\nMaximum sustainable rate: **" << max_sustainable(r) << " orders/s**.\n\n";

  md << "### " << heading << ": CPU per process (% of one core; 200% = both cores)\n\n";
  std::vector<std::string> names;
  const auto& first = r["saga"].contains("closed") ? r["saga"]["closed"] : r["saga"]["phases"][0];
  for (const auto& [name, v] : first["processes"].items()) names.push_back(name);
  md << "| phase |";
  for (const auto& n : names) md << " " << n << " |";
  md << " broker total | all | machine (other work) |\n|---|";
  for (std::size_t i = 0; i < names.size() + 3; ++i) md << "---:|";
  md << "\n";
  auto cpu_row = [&](const nlohmann::json& p) {
    md << "| " << p["name"].get<std::string>() << " |";
    for (const auto& n : names)
      md << fmt::format(" {:.0f} |", num(p, {"processes", n.c_str(), "cpuPercent"}));
    auto [broker, all] = cpu_totals(p);
    const double machine = num(p, {"machineCpuPercent"});
    md << fmt::format(" {:.0f} | {:.0f} | {:.0f} ({:.0f}) |\n", broker, all, machine,
                      std::max(0.0, machine - all));
  };
  if (r.contains("idleCpu")) cpu_row(r["idleCpu"]);
  for (const auto& p : r["saga"]["phases"]) cpu_row(p);
  if (r["saga"].contains("closed")) cpu_row(r["saga"]["closed"]);
  if (r.contains("baselines") && r["baselines"].contains("kafka") &&
      r["baselines"]["kafka"].contains("processes") &&
      !r["baselines"]["kafka"]["processes"].empty()) {
    md << "\nCPU during the raw librdkafka baseline (% of one core; the services idle):";
    const char* sep = " ";
    for (const auto& [name, p] : r["baselines"]["kafka"]["processes"].items()) {
      if (!is_broker_process(name) && name != "orderflow-bench") continue;
      md << fmt::format("{}{} {:.0f}", sep, name, num(p, {"cpuPercent"}));
      sep = ", ";
    }
    md << ".\n";
  }
  md << "\n### " << heading
     << ": memory (MiB)\n\n| process | idle RSS | peak RSS (whole run) |\n|---|---:|---:|\n";
  for (const auto& [name, m] : r["peak"].items()) {
    // Instances beyond the first run only in the scale-out scenario: no idle figure.
    const bool idle = r.contains("idle") && r["idle"].contains(name);
    md << fmt::format(
        "| {} | {} | {:.1f} |\n", name,
        idle ? fmt::format("{:.1f}", num(r, {"idle", name.c_str(), "rssMiB"})) : std::string("–"),
        num(m, {"peakRssMiB"}));
  }
  md << "\n";
}

// One row of the broker comparison: a figure on each broker and, when it has one, its ratio to
// that broker's raw librdkafka baseline (value / baseline).
struct Compared {
  std::string figure;
  std::function<std::string(const nlohmann::json&)> text;
  std::function<double(const nlohmann::json&)> value;     ///< null: no ratio
  std::function<double(const nlohmann::json&)> baseline;  ///< null: no ratio
};

}  // namespace

std::string render_report(const nlohmann::json& all, const std::string& plot_file,
                          const std::string& previous) {
  std::ostringstream md;
  const bool has_embedded = all.contains(kEmbeddedSection);
  const bool has_kafka = all.contains(kKafkaSection);
  // The broker-independent baselines (SQLite, no-op HTTP) and the API-only scenario come from
  // the embedded run when there is one.
  const nlohmann::json& r = has_embedded ? all[kEmbeddedSection] : all[kKafkaSection];
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& k = has_kafka ? all[kKafkaSection] : empty;
  md << "# Benchmarks\n\n"
     << "Generated by `make bench` (`orderflow-bench suite`) on " << all.value("date", "?")
     << " at commit `" << all.value("commit", "?") << "`.\n"
     << "Re-run it to refresh every figure in this part; the part after the marker at the end "
        "is written by hand.\n\n";
  md << "## Machine and method\n\n"
     << "- Machine: " << machine_summary() << ". Build: " << all.value("buildType", "?")
     << ". Everything — the broker (the embedded one, or the three Kafka JVMs), five services "
        "and the load generator — shares these cores, so every figure includes the load "
        "generator's own CPU and, on Kafka, the JVMs' (see the CPU tables). "
     << all.value("machineNote", "") << "\n"
     << "- Two brokers, one after the other in the same run: the **embedded broker** "
        "(orderflow-broker: librdkafka's mock cluster, 3 brokers, 3 partitions, in memory) and "
        "a **real Kafka cluster** (Apache Kafka "
     << all.value("kafkaVersion", "?")
     << ", KRaft, 3 combined broker+controller JVMs on loopback, `-Xmx512m`, the topics with "
        "3 partitions, replication factor 3 and min.insync.replicas 2, as `orderflow up --broker "
        "kafka` creates them). The services use the librdkafka profile of their broker "
        "(config/kafka-profiles.yaml: `embedded` or `cluster`).\n"
     << "- System: `orderflow up`'s services started by the bench with the dev configuration "
        "(config/*.yaml, SQLite WAL synchronous=FULL), every port 0, a catalog with one product "
        "of 10^9 units so no order is rejected, and the simulated payment provider's 20 ms round "
        "trip set to 0 (it is not orderflow's cost). Every full-saga phase runs on freshly "
        "started services after a 2 s warm-up at 200 orders/s. On the embedded broker the "
        "broker is fresh too: it scans its log linearly, so its CPU grows with the records it "
        "holds and a long-lived one would make each phase depend on the ones before it. The "
        "Kafka cluster is started once and serves every phase, as a cluster would.\n"
     << "- Load: `POST /api/orders` bodies `{\"userId\":n,\"items\":[{\"sku\":\"BENCH-1\","
        "\"qty\":1}]}` over "
     << r.value("connections", 0)
     << " keep-alive connections. Open loop: request i is due at start + i/rate and its latency "
        "is measured from that intended time, so a stall is charged to every request it delays "
        "(coordinated-omission safe). Closed loop: each connection sends as soon as it has its "
        "answer. The API-only scenario (embedded broker only) runs the broker and order-service "
        "alone (its outbox relay still publishes every ORDER_CREATED). Each phase runs "
     << r.value("phaseMs", 0) / 1000.0 << " s.\n"
     << "- Phases: on the embedded broker fixed rates "
     << all.value("embeddedRates", std::string("?")) << " orders/s, closed loop, then up to "
     << all.value("embeddedSearchSteps", 0)
     << " bisection steps; on the Kafka cluster a shorter set, to bound the run's length: "
        "fixed rates "
     << all.value("kafkaRates", std::string("?")) << " orders/s, closed loop, up to "
     << all.value("kafkaSearchSteps", 0) << " bisection steps, no API-only scenario.\n"
     << "- End-to-end latency: from the intended send time of the POST to the moment the bench's "
        "own consumer (its own group, reading from the end, the broker's consumer profile) "
        "receives the order's ORDER_COMPLETED or ORDER_CANCELLED on `orders.v1`. An order with "
        "no terminal event 30 s after the phase counts as missing.\n"
     << "- Sustainable: no HTTP error, no timeout, no missing or cancelled order, and e2e p99 "
        "under 100 ms. The maximum sustainable rate bisects between the highest passing and the "
        "lowest failing fixed rate.\n"
     << "- Baselines, measured in the same run on the same machine: (a) raw librdkafka produce → "
        "consume through **the same broker** (each broker gets its own) with the services' "
        "settings on it (idempotent, acks=all, lz4, 600-byte values, and that broker's profile: "
        "linger.ms, fetch.wait.max.ms); (b) raw SQLite commits with the services' durability "
        "(WAL, synchronous=FULL) and POST /api/orders' transaction shape (orders + order_items + "
        "outbox rows), one thread, prepared statements; (c) a no-op handler on the same HTTP "
        "stack (`libs/http`, 8 I/O threads like the services) driven by the same load "
        "generator. Ratios to (a) are always to the baseline of the same broker.\n"
     << "- CPU is per process over a phase in % of one core (200% = both cores); \"broker "
        "total\" sums orderflow-broker or kafka-1..3, \"all\" every process of the run, "
        "\"machine\" the whole machine's busy time from /proc/stat, and in brackets what "
        "of it was not this run (other builds on this shared machine, the kernel's own "
        "threads). RSS from /proc/<pid>/status (VmRSS, "
        "VmHWM).\n\n";

  // Both brokers side by side.
  if (has_embedded && has_kafka) {
    auto raw_p50 = [](const nlohmann::json& b) {
      return num(b, {"baselines", "kafka", "latency", "p50Ms"});
    };
    auto raw_p99 = [](const nlohmann::json& b) {
      return num(b, {"baselines", "kafka", "latency", "p99Ms"});
    };
    auto fixed = [](const char* format, std::function<double(const nlohmann::json&)> f) {
      return
          [format, f](const nlohmann::json& b) { return fmt::format(fmt::runtime(format), f(b)); };
    };
    auto of_phase = [](std::string name, std::initializer_list<const char*> path) {
      std::vector<const char*> keys(path);
      return [name, keys](const nlohmann::json& b) {
        const auto* p = phase_named(b, name);
        if (p == nullptr) return 0.0;
        const nlohmann::json* at = p;
        for (const char* key : keys) {
          if (!at->contains(key)) return 0.0;
          at = &(*at)[key];
        }
        return at->is_number() ? at->get<double>() : 0.0;
      };
    };
    std::vector<Compared> rows;
    auto raw_rate = [](const nlohmann::json& b) {
      return num(b, {"baselines", "kafka", "produceConsumeRate"});
    };
    rows.push_back({"raw librdkafka produce → consume (msgs/s)", fixed("{:.0f}", raw_rate)});
    rows.push_back({"idle system (no load, 5 s): CPU of the broker / of all processes (%)",
                    [](const nlohmann::json& b) {
                      if (!b.contains("idleCpu")) return std::string("–");
                      auto [broker, every] = cpu_totals(b["idleCpu"]);
                      return fmt::format("{:.0f} / {:.0f}", broker, every);
                    }});
    rows.push_back({"raw librdkafka latency at 1000 msgs/s, p50 / p99 (ms, one hop)",
                    [&](const nlohmann::json& b) {
                      return fmt::format("{:.2f} / {:.2f}", raw_p50(b), raw_p99(b));
                    }});
    for (const std::string rate : {"200", "500", "1000"}) {
      const std::string name = "saga-" + rate;
      auto p50 = of_phase(name, {"e2e", "latency", "p50Ms"});
      auto p99 = of_phase(name, {"e2e", "latency", "p99Ms"});
      rows.push_back({"saga at " + rate + " orders/s: e2e p50 (ms; six hops) vs raw p50",
                      fixed("{:.1f}", p50), p50, raw_p50});
      rows.push_back({"saga at " + rate + " orders/s: e2e p99 (ms) vs raw p99",
                      fixed("{:.1f}", p99), p99, raw_p99});
      rows.push_back({"saga at " + rate + " orders/s: CPU of the broker / of all processes (%)",
                      [name](const nlohmann::json& b) {
                        const auto* p = phase_named(b, name);
                        auto [broker, every] = p ? cpu_totals(*p) : std::pair<double, double>{};
                        return fmt::format("{:.0f} / {:.0f}", broker, every);
                      }});
    }
    auto closed = [](const nlohmann::json& b) {
      return num(b, {"saga", "closed", "load", "throughput"});
    };
    rows.push_back({"full saga, closed loop (orders/s)", fixed("{:.0f}", closed)});
    rows.push_back({"full saga, max sustainable rate (orders/s; p99 < 100 ms)",
                    [](const nlohmann::json& b) { return max_sustainable(b); }});
    auto drain = [](const nlohmann::json& b) { return num(b, {"hopDrain", "recordsPerS"}); };
    rows.push_back(
        {"consumer hop alone: notification-service draining its backlog (records/s) vs a raw "
         "consumer of the same backlog",
         fixed("{:.0f}", drain), drain, [](const nlohmann::json& b) {
           return num(b, {"hopDrain", "rawRecordsPerS"});
         }});
    md << "## Both brokers, same run\n\n"
       << "Each ratio is to the raw librdkafka baseline (a) measured on the same broker in this "
          "run.\n\n"
       << "| figure | embedded | ratio | Kafka cluster | ratio |\n|---|---:|---:|---:|---:|\n";
    for (const auto& row : rows) {
      auto cell = [&](const nlohmann::json& b) {
        std::string r = row.value && row.baseline ? ratio(row.value(b), row.baseline(b)) : "–";
        return row.text(b) + " | " + r;
      };
      md << "| " << row.figure << " | " << cell(r) << " | " << cell(k) << " |\n";
    }
    md << "\n";
    if (!plot_file.empty())
      md << "![e2e latency percentiles against throughput, both brokers](" << plot_file << ")\n\n";
  }

  // Headline figures (targets of issue 5, on the embedded broker).
  const double kafka_rate = num(r, {"baselines", "kafka", "produceConsumeRate"});
  const double db_rate = num(r, {"baselines", "db", "commitsPerS"});
  const double noop_p99 = num(r, {"baselines", "httpOpen", "load", "latency", "p99Ms"});
  const double noop_closed = num(r, {"baselines", "httpClosed", "load", "throughput"});
  const double api_p99 = num(r, {"api", "open", "load", "latency", "p99Ms"});
  const double api_closed = num(r, {"api", "closed", "load", "throughput"});
  const double max_rate = num(r, {"saga", "maxSustainable"});
  const double closed_rate = num(r, {"saga", "closed", "load", "throughput"});
  const auto* at1000 = phase_named(r, "saga-1000");
  const double e2e_p99_1000 = at1000 ? num(*at1000, {"e2e", "latency", "p99Ms"}) : 0;
  const std::string broker_name = has_embedded ? "embedded broker" : "Kafka cluster";

  md << "## Headline figures (" << broker_name << ")\n\n"
     << "| figure | orderflow | baseline | ratio | target |\n|---|---:|---:|---:|---|\n";
  md << fmt::format("| full saga, max sustainable rate (orders/s) | {} | – | – | ≥ 3000: {} |\n",
                    max_sustainable(r), yes_no(max_rate >= 3000));
  md << fmt::format(
      "| full saga, closed loop (orders/s) | {:.0f} | {:.0f} raw commits/s | {} | – |\n",
      closed_rate, db_rate, ratio(closed_rate, db_rate));
  md << fmt::format(
      "| e2e p99 at 1000 orders/s (ms; six hops) | {:.1f} | {:.1f} raw Kafka p99, one hop | {} | ≤ "
      "50: {} |\n",
      e2e_p99_1000, num(r, {"baselines", "kafka", "latency", "p99Ms"}),
      ratio(e2e_p99_1000, num(r, {"baselines", "kafka", "latency", "p99Ms"})),
      yes_no(at1000 != nullptr && e2e_p99_1000 <= 50));
  if (r.contains("api")) {
    md << fmt::format(
        "| API p99 at {:.0f} req/s (ms) | {:.2f} | {:.2f} no-op handler | {} | ≤ 5: {} |\n",
        num(r, {"api", "open", "rate"}), api_p99, noop_p99, ratio(api_p99, noop_p99),
        yes_no(api_p99 > 0 && api_p99 <= 5));
    md << fmt::format("| API closed loop (req/s) | {:.0f} | {:.0f} no-op handler | {} | – |\n",
                      api_closed, noop_closed, ratio(api_closed, noop_closed));
    md << fmt::format(
        "| API closed loop vs raw DB commits | {:.0f} | {:.0f} raw commits/s | {} | – |\n",
        api_closed, db_rate, ratio(api_closed, db_rate));
  }
  if (r["saga"].contains("closed") && r["saga"]["closed"].contains("messagesPerS")) {
    for (const auto& [svc, rate] : r["saga"]["closed"]["messagesPerS"].items()) {
      double v = rate.get<double>();
      md << fmt::format(
          "| {} records consumed during the closed-loop saga (msgs/s; set by the order rate) | "
          "{:.0f} | {:.0f} raw produce→consume | {} | – |\n",
          svc, v, kafka_rate, ratio(v, kafka_rate));
    }
  }
  if (r.contains("hopDrain")) {
    double v = num(r, {"hopDrain", "recordsPerS"});
    double raw = num(r, {"hopDrain", "rawRecordsPerS"});
    md << fmt::format(
        "| consumer hop alone: notification-service draining a {:.0f}-record backlog (records/s) "
        "| {:.0f} | {:.0f} raw consumer, same backlog | {} | ≥ 0.50×: {} |\n",
        num(r, {"hopDrain", "backlog"}), v, raw, ratio(v, raw), yes_no(raw > 0 && v / raw >= 0.5));
  }
  for (const auto& [name, m] : r["idle"].items()) {
    if (is_broker_process(name)) continue;
    double rss = num(m, {"rssMiB"});
    md << fmt::format("| idle RSS {} (MiB) | {:.1f} | – | – | ≤ 30: {} |\n", name, rss,
                      yes_no(rss <= 30));
  }
  md << "\n";

  md << "## Broker-independent baselines\n\n| baseline | figure |\n|---|---|\n";
  md << fmt::format("| (b) raw SQLite commits, synchronous=FULL | {:.0f} commits/s |\n", db_rate);
  md << fmt::format(
      "| (b) raw SQLite commits, synchronous=NORMAL (for scale) | {:.0f} commits/s |\n",
      num(r, {"baselines", "dbNormal", "commitsPerS"}));
  md << fmt::format(
      "| (c) no-op HTTP handler, open loop {:.0f} req/s | p50 {:.2f} ms, p99 {:.2f} ms |\n",
      num(r, {"baselines", "httpOpen", "rate"}),
      num(r, {"baselines", "httpOpen", "load", "latency", "p50Ms"}), noop_p99);
  md << fmt::format("| (c) no-op HTTP handler, closed loop | {:.0f} req/s, p99 {:.2f} ms |\n\n",
                    noop_closed, num(r, {"baselines", "httpClosed", "load", "latency", "p99Ms"}));

  if (has_embedded) {
    md << "## Embedded broker\n\n";
    if (!has_kafka && !plot_file.empty())
      md << "![e2e latency percentiles against throughput](" << plot_file << ")\n\n";
    render_broker(md, all[kEmbeddedSection], "Embedded");
  }
  if (has_kafka) {
    md << "## Kafka cluster (3 nodes)\n\n";
    if (!has_embedded && !plot_file.empty())
      md << "![e2e latency percentiles against throughput](" << plot_file << ")\n\n";
    render_broker(md, k, "Kafka");
  }

  md << marked_section(previous, kPostgresBeginMarker, kPostgresEndMarker)
     << marked_section(previous, kProfileBeginMarker, kProfileEndMarker);
  md << kHandWrittenMarker << "\n";
  auto at = previous.find(kHandWrittenMarker);
  if (at != std::string::npos) {
    auto tail = previous.substr(at + std::string(kHandWrittenMarker).size());
    if (!tail.empty() && tail[0] == '\n') tail.erase(0, 1);
    md << tail;
  }
  return md.str();
}

std::string render_sweep(const nlohmann::json& sweep) {
  std::ostringstream md;
  md << "| setting | rate | achieved/s | e2e p50 | e2e p99 | e2e max | missing | broker CPU | "
        "all CPU | other work |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& run : sweep["runs"]) {
    std::string setting =
        run["setting"].get<std::string>().empty()
            ? std::string("as configured")
            : run["setting"].get<std::string>() + "=" + run["value"].get<std::string>();
    for (const auto& p : run["phases"]) {
      auto [broker, all] = cpu_totals(p);
      md << fmt::format(
          "| {} | {:.0f} | {:.0f} | {:.1f} | {:.1f} | {:.1f} | {} | {:.0f} | {:.0f} | {:.0f} |\n",
          setting, num(p, {"rate"}), num(p, {"load", "throughput"}),
          num(p, {"e2e", "latency", "p50Ms"}), num(p, {"e2e", "latency", "p99Ms"}),
          num(p, {"e2e", "latency", "maxMs"}),
          static_cast<std::int64_t>(num(p, {"e2e", "missing"}) + num(p, {"e2e", "cancelled"}) +
                                    num(p, {"load", "errors"})),
          broker, all, std::max(0.0, num(p, {"machineCpuPercent"}) - all));
    }
  }
  return md.str();
}

namespace {

// The raw PostgreSQL commit baseline of `run` with `connections` connections (0 when absent).
double postgres_commits(const nlohmann::json& run, int connections) {
  if (!run.contains("baselines") || !run["baselines"].contains("postgres")) return 0;
  for (const auto& b : run["baselines"]["postgres"]) {
    if (b.value("connections", 0) == connections) return num(b, {"commitsPerS"});
  }
  return 0;
}

// Mean of `f` over the scale-out runs with `instances` instances.
double scale_mean(const nlohmann::json& scale, int instances,
                  const std::function<double(const nlohmann::json&)>& f) {
  double sum = 0;
  int n = 0;
  for (const auto& run : scale["runs"]) {
    if (run.value("instances", 0) != instances) continue;
    sum += f(run);
    ++n;
  }
  return n > 0 ? sum / n : 0;
}

void render_scale_out(std::ostringstream& md, const nlohmann::json& r) {
  const auto& scale = r["scaleOut"];
  const double rate = num(scale, {"rate"});
  md << "### Scale-out: instances of every service, same run\n\n"
     << "Each row is a fresh system (every service with that many instances in one consumer group, "
        "on fresh databases; the load generator's connections spread evenly over the "
        "order-service instances). The counts take turns, round after round, so that a change of "
        "the machine's other load hits each alike. CPU in % of one core (200% = both cores).\n\n"
     << "\"Posted\" is the rate at which order-service accepted POSTs, \"finished\" the rate at "
        "which orders reached ORDER_COMPLETED or ORDER_CANCELLED (from the phase's start to the "
        "last terminal event seen, at most 30 s after the phase): a closed loop can post faster "
        "than the saga finishes, the difference queues up in the services.\n\n"
     << fmt::format(
            "| instances | round | closed loop: posted/s | closed loop: finished/s | closed loop: "
            "e2e p50 / p99 (ms) | closed loop: CPU all / postgres / machine (other) | {:.0f}/s: "
            "posted / finished | {:.0f}/s: e2e p50 / p99 (ms) | {:.0f}/s: sustainable | "
            "{:.0f}/s: CPU all / machine (other) "
            "|\n|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n",
            rate, rate, rate, rate);
  std::vector<int> counts;
  for (const auto& run : scale["runs"]) {
    const int n = run.value("instances", 0);
    if (std::find(counts.begin(), counts.end(), n) == counts.end()) counts.push_back(n);
    const auto& c = run["closed"];
    const auto& o = run["open"];
    auto [cb, call] = cpu_totals(c);
    auto [ob, oall] = cpu_totals(o);
    (void)cb;
    (void)ob;
    const double cm = num(c, {"machineCpuPercent"});
    const double om = num(o, {"machineCpuPercent"});
    md << fmt::format(
        "| {} | {} | {:.0f} | {:.0f} | {:.1f} / {:.1f} | {:.0f} / {:.0f} / {:.0f} ({:.0f}) | "
        "{:.0f} / {:.0f} | {:.1f} / {:.1f} | {} | {:.0f} / {:.0f} ({:.0f}) |\n",
        n, run.value("round", 0), num(c, {"load", "throughput"}), num(c, {"finishedPerS"}),
        num(c, {"e2e", "latency", "p50Ms"}), num(c, {"e2e", "latency", "p99Ms"}), call,
        num(c, {"processes", "postgres", "cpuPercent"}), cm, std::max(0.0, cm - call),
        num(o, {"load", "throughput"}), num(o, {"finishedPerS"}),
        num(o, {"e2e", "latency", "p50Ms"}), num(o, {"e2e", "latency", "p99Ms"}),
        o.value("sustainable", false) ? "yes" : "no", oall, om, std::max(0.0, om - oall));
  }
  md << "\n";
  if (counts.size() >= 2) {
    const int base = counts.front();
    auto closed = [](const nlohmann::json& run) {
      return num(run, {"closed", "load", "throughput"});
    };
    auto finished = [](const nlohmann::json& run) { return num(run, {"closed", "finishedPerS"}); };
    auto p50 = [](const nlohmann::json& run) {
      return num(run, {"open", "e2e", "latency", "p50Ms"});
    };
    auto p99 = [](const nlohmann::json& run) {
      return num(run, {"open", "e2e", "latency", "p99Ms"});
    };
    md << "| figure (mean of the rounds) |";
    for (int n : counts) md << " " << n << (n == 1 ? " instance" : " instances") << " |";
    md << " ratio " << counts.back() << " : " << base << " |\n|---|";
    for (std::size_t i = 0; i <= counts.size(); ++i) md << "---:|";
    md << "\n";
    auto row = [&](const std::string& figure, const std::function<double(const nlohmann::json&)>& f,
                   const char* format) {
      md << "| " << figure << " |";
      for (int n : counts)
        md << " " << fmt::format(fmt::runtime(format), scale_mean(scale, n, f)) << " |";
      md << " " << ratio(scale_mean(scale, counts.back(), f), scale_mean(scale, base, f)) << " |\n";
    };
    row("full saga, closed loop: orders finished/s", finished, "{:.0f}");
    row("full saga, closed loop: orders posted/s", closed, "{:.0f}");
    row(fmt::format("full saga at {:.0f} orders/s: e2e p50 (ms)", rate), p50, "{:.1f}");
    row(fmt::format("full saga at {:.0f} orders/s: e2e p99 (ms)", rate), p99, "{:.1f}");
    md << "\n";
  }
}

}  // namespace

std::string render_postgres_report(const nlohmann::json& all, const std::string& previous) {
  std::ostringstream md;
  const auto& pg = all.contains("postgres") ? all["postgres"] : nlohmann::json::object();
  auto setting = [&](const char* key) { return pg.value(key, std::string("?")); };
  md << kPostgresBeginMarker << "\n\n"
     << "## PostgreSQL storage (issue 11)\n\n"
     << "Generated by `make bench-postgres` (`orderflow-bench suite --storage postgres`) on "
     << all.value("date", "?") << " at commit `" << all.value("commit", "?")
     << "`; `make bench` keeps this section as it is, and `make bench-postgres` rewrites only "
        "it. "
     << all.value("machineNote", "") << "\n\n"
     << "Method: as in \"Machine and method\" above, with these differences.\n\n"
     << "- Every service on **PostgreSQL " << setting("server_version") << "**, a database "
     << "each, as `orderflow up --storage postgres` runs them ("
     << (pg.value("private", true) ? "one private server started by the bench under its work dir "
                                     "for the whole run"
                                   : "the server given by `--postgres-url`")
     << "; fsync=" << setting("fsync") << ", synchronous_commit=" << setting("synchronous_commit")
     << ", shared_buffers=" << setting("shared_buffers") << ", wal_level=" << setting("wal_level")
     << ", max_connections=" << setting("max_connections")
     << ", otherwise PostgreSQL's defaults). Every system of the run (every phase) starts on "
        "fresh, empty databases of its own on that one server; the services' pools are "
        "`storage.postgres.pool_size` (8 by default). Commits are durable: an acknowledged order "
        "is in the WAL on disk, as with SQLite synchronous=FULL.\n"
     << "- Raw PostgreSQL commit baseline, same run, same server: POST /api/orders' transaction "
        "shape (BEGIN; INSERT orders … RETURNING id; INSERT order_items; INSERT outbox with a "
        "600-byte value; COMMIT), synchronous_commit on, prepared statements, N connections with "
        "a thread each, nothing else, 3 s (bench/postgres_probe.cpp).\n"
     << fmt::format(
            "- Catalog: {}. Every inventory reservation locks its product's row (`SELECT … FOR "
            "UPDATE` on products) until its commit is on disk, so with one product the "
            "reservations of all orders, whichever instance handles them, take turns on one row; "
            "SQLite serialises every write of a database anyway (and shares one fsync among "
            "concurrent ones).\n",
            [&] {
              int skus = 1;
              for (const char* b : {kEmbeddedSection, kKafkaSection}) {
                if (all.contains(b)) skus = all[b].value("skus", 1);
              }
              return skus == 1
                         ? std::string("one product, BENCH-1, as in the suite above")
                         : fmt::format("{} products, order i buying product i mod {}", skus, skus);
            }())
     << "- \"postgres\" in the CPU and memory tables is the postmaster and every child of it "
        "(backends, checkpointer, WAL writer, autovacuum): CPU summed, exited children included "
        "(the postmaster's cutime/cstime); memory as the sum of their PSS, so shared buffers "
        "count once.\n\n";
  for (const char* broker : {kEmbeddedSection, kKafkaSection}) {
    if (!all.contains(broker)) continue;
    const auto& r = all[broker];
    const std::string label =
        std::string(broker) == kEmbeddedSection ? "embedded broker" : "Kafka cluster";
    const double pg1 = postgres_commits(r, 1);
    const double pg8 = postgres_commits(r, 8);
    if (r.contains("baselines") && r["baselines"].contains("postgres")) {
      md << "### Baselines of this run\n\n| baseline | figure |\n|---|---|\n";
      for (const auto& b : r["baselines"]["postgres"]) {
        md << fmt::format(
            "| raw PostgreSQL commits, synchronous_commit=on, {} connection{} | {:.0f} commits/s "
            "|\n",
            b.value("connections", 0), b.value("connections", 0) == 1 ? "" : "s",
            num(b, {"commitsPerS"}));
      }
      md << fmt::format(
          "| raw SQLite commits, synchronous=FULL, 1 thread (same run, for comparison) | {:.0f} "
          "commits/s |\n",
          num(r, {"baselines", "db", "commitsPerS"}));
      md << fmt::format("| raw SQLite commits, synchronous=NORMAL | {:.0f} commits/s |\n",
                        num(r, {"baselines", "dbNormal", "commitsPerS"}));
      md << fmt::format("| no-op HTTP handler, closed loop | {:.0f} req/s |\n\n",
                        num(r, {"baselines", "httpClosed", "load", "throughput"}));
    }
    md << "### Orderflow on PostgreSQL (" << label << ") against the raw commit baseline\n\n"
       << "| figure | orderflow | baseline | ratio |\n|---|---:|---:|---:|\n";
    // One row: the figure, its value, and the baseline it is divided by.
    auto against = [&md](const std::string& figure, double value, const char* format,
                         const std::string& baseline_text, double baseline) {
      md << "| " << figure << " | " << fmt::format(fmt::runtime(format), value) << " | "
         << baseline_text << " | " << ratio(value, baseline) << " |\n";
    };
    const auto pg1_text = fmt::format("{:.0f} raw commits/s, 1 connection", pg1);
    const auto pg8_text = fmt::format("{:.0f} raw commits/s, 8 connections", pg8);
    const double finished = num(r, {"saga", "closed", "finishedPerS"});
    const std::string finished_figure =
        "full saga, closed loop: orders finished/s (ORDER_COMPLETED or _CANCELLED)";
    against(finished_figure, finished, "{:.0f}", pg1_text, pg1);
    against(finished_figure, finished, "{:.0f}", pg8_text, pg8);
    against("full saga, closed loop: orders posted/s (accepted by order-service)",
            num(r, {"saga", "closed", "load", "throughput"}), "{:.0f}", pg8_text, pg8);
    md << "| full saga, max sustainable rate (orders/s; p99 < 100 ms) | " << max_sustainable(r)
       << " | – | – |\n";
    if (r.contains("api")) {
      const double api_closed = num(r, {"api", "closed", "load", "throughput"});
      against("API only, closed loop (req/s; one transaction each)", api_closed, "{:.0f}", pg1_text,
              pg1);
      against("API only, closed loop (req/s)", api_closed, "{:.0f}", pg8_text, pg8);
      const double noop_p99 = num(r, {"baselines", "httpOpen", "load", "latency", "p99Ms"});
      against(fmt::format("API only, p99 at {:.0f} req/s (ms)", num(r, {"api", "open", "rate"})),
              num(r, {"api", "open", "load", "latency", "p99Ms"}), "{:.2f}",
              fmt::format("{:.2f} no-op handler", noop_p99), noop_p99);
    }
    if (const auto* at200 = phase_named(r, "saga-200")) {
      const double raw = num(r, {"baselines", "kafka", "latency", "p99Ms"});
      against("e2e p99 at 200 orders/s (ms; six hops)", num(*at200, {"e2e", "latency", "p99Ms"}),
              "{:.1f}", fmt::format("{:.1f} raw Kafka p99, one hop", raw), raw);
    }
    if (r.contains("hopDrain")) {
      const double v = num(r, {"hopDrain", "recordsPerS"});
      const double raw = num(r, {"hopDrain", "rawRecordsPerS"});
      against(fmt::format("consumer hop alone: notification-service draining a {:.0f}-record "
                          "backlog (records/s)",
                          num(r, {"hopDrain", "backlog"})),
              v, "{:.0f}", fmt::format("{:.0f} raw consumer, same backlog", raw), raw);
      against("the same hop (records/s; one transaction each)", v, "{:.0f}", pg8_text, pg8);
    }
    md << "\n";
    if (r.contains("scaleOut")) render_scale_out(md, r);
    render_broker(md, r, "PostgreSQL, " + label);
  }
  md << kPostgresEndMarker << "\n";
  return replace_marked_section(previous, kPostgresBeginMarker, kPostgresEndMarker, md.str());
}

std::string marked_section(const std::string& previous, std::string_view begin_marker,
                           std::string_view end_marker) {
  const auto begin = previous.find(begin_marker);
  if (begin == std::string::npos) return {};
  auto end = previous.find(end_marker, begin);
  if (end == std::string::npos) return {};
  end += end_marker.size();
  return previous.substr(begin, end - begin) + "\n\n";
}

std::string replace_marked_section(const std::string& previous, std::string_view begin_marker,
                                   std::string_view end_marker, const std::string& section) {
  std::string out = previous;
  const auto begin = out.find(begin_marker);
  const auto end = begin == std::string::npos ? std::string::npos : out.find(end_marker, begin);
  if (end != std::string::npos) {
    auto stop = end + end_marker.size();
    if (stop < out.size() && out[stop] == '\n') ++stop;
    return out.replace(begin, stop - begin, section);
  }
  const auto marker = out.find(kHandWrittenMarker);
  if (marker == std::string::npos) return out + (out.empty() ? "" : "\n") + section;
  return out.insert(marker, section + "\n");
}

}  // namespace orderflow::bench
