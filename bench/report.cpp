#include "report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
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
  return fmt::format("{:.2f}×", value / base);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

std::string machine() {
  utsname u{};
  uname(&u);
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGE_SIZE);
  return fmt::format("{} cores ({}), {:.0f} GiB RAM, Linux {} {}", sysconf(_SC_NPROCESSORS_ONLN),
                     cpu_model(), static_cast<double>(pages) * page / (1024.0 * 1024 * 1024),
                     u.release, u.machine);
}

std::string yes_no(bool met) { return met ? "met" : "**missed**"; }

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
  if (!results.contains("saga")) return false;
  const std::string dat = png + ".dat";
  {
    std::ofstream out(dat);
    out << "# achieved_per_s p50_ms p90_ms p99_ms p999_ms (open-loop saga phases)\n";
    std::vector<std::pair<double, const nlohmann::json*>> rows;
    for (const auto& p : results["saga"]["phases"]) {
      rows.emplace_back(num(p, {"load", "throughput"}), &p);
    }
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (const auto& [x, p] : rows) {
      out << fmt::format("{:.0f} {:.3f} {:.3f} {:.3f} {:.3f}\n", x,
                         num(*p, {"e2e", "latency", "p50Ms"}), num(*p, {"e2e", "latency", "p90Ms"}),
                         num(*p, {"e2e", "latency", "p99Ms"}),
                         num(*p, {"e2e", "latency", "p999Ms"}));
    }
  }
  const std::string gp = png + ".gp";
  {
    std::ofstream out(gp);
    out << "set terminal pngcairo size 900,540 noenhanced\n"
        << "set output '" << png << "'\n"
        << "set title 'orderflow full saga: end-to-end latency (POST -> terminal event on "
           "orders.v1)'\n"
        << "set xlabel 'achieved throughput (orders/s, open loop)'\n"
        << "set ylabel 'latency (ms, log scale)'\n"
        << "set logscale y\nset grid\nset key top left\n"
        << "plot '" << dat << "' using 1:2 with linespoints title 'p50', "
        << "'' using 1:3 with linespoints title 'p90', "
        << "'' using 1:4 with linespoints title 'p99', "
        << "'' using 1:5 with linespoints title 'p99.9', "
        << "100 with lines dashtype 2 title 'sustainable limit (p99 100 ms)'\n";
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

std::string render_report(const nlohmann::json& r, const std::string& plot_file,
                          const std::string& previous) {
  std::ostringstream md;
  md << "# Benchmarks\n\n"
     << "Generated by `make bench` (`orderflow-bench suite`) on " << r.value("date", "?")
     << " at commit `" << r.value("commit", "?") << "`.\n"
     << "Re-run it to refresh every figure in this part; the part after the marker at the end "
        "is written by hand.\n\n";
  md << "## Machine and method\n\n"
     << "- Machine: " << machine() << ". Build: " << r.value("buildType", "?")
     << ". Everything — the broker, five services and the load generator — shares these cores, "
        "so every figure includes the load generator's own CPU (see the CPU table).\n"
     << "- System: `orderflow up`'s processes started by the bench with the dev configuration "
        "(config/*.yaml, SQLite WAL synchronous=FULL, embedded broker: librdkafka's mock cluster "
        "with 3 brokers and 3 partitions), every port 0, a catalog with one product of 10^9 "
        "units so no order is rejected, and the simulated payment provider's 20 ms round trip "
        "set to 0 (it is not orderflow's cost). Every full-saga phase runs on a freshly started "
        "system after a 2 s warm-up at 200 orders/s: the embedded broker scans its log "
        "linearly, so its CPU grows with the records it holds and a long-lived system would "
        "make each phase depend on the ones before it.\n"
     << "- Load: `POST /api/orders` bodies `{\"userId\":n,\"items\":[{\"sku\":\"BENCH-1\","
        "\"qty\":1}]}` over "
     << r.value("connections", 0)
     << " keep-alive connections. Open loop: request i is due at start + i/rate and its latency "
        "is measured from that intended time, so a stall is charged to every request it delays "
        "(coordinated-omission safe). Closed loop: each connection sends as soon as it has its "
        "answer. The API-only scenario runs the broker and order-service alone (its outbox relay "
        "still publishes every ORDER_CREATED). Each phase runs "
     << r.value("phaseMs", 0) / 1000.0 << " s.\n"
     << "- End-to-end latency: from the intended send time of the POST to the moment the bench's "
        "own consumer (its own group, reading from the end) receives the order's ORDER_COMPLETED "
        "or ORDER_CANCELLED on `orders.v1`. An order with no terminal event 30 s after the phase "
        "counts as missing.\n"
     << "- Sustainable: no HTTP error, no timeout, no missing or cancelled order, and e2e p99 "
        "under 100 ms. The maximum sustainable rate bisects between the highest passing and the "
        "lowest failing fixed rate.\n"
     << "- Baselines, measured in the same run on the same machine: (a) raw librdkafka produce → "
        "consume through the same embedded broker with the services' settings (idempotent, "
        "acks=all, linger.ms 1, lz4, fetch.wait.max.ms 5, 600-byte values); (b) raw SQLite "
        "commits with the services' durability (WAL, synchronous=FULL) and POST /api/orders' "
        "transaction shape (orders + order_items + outbox rows), one thread, prepared statements; "
        "(c) a no-op handler on the same HTTP stack (`libs/http`, 8 I/O threads like the "
        "services) driven by the same load generator.\n"
     << "- CPU is per process over a phase in % of one core (200% = both cores). RSS from "
        "/proc/<pid>/status (VmRSS, VmHWM).\n\n";

  // Headline figures.
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

  md << "## Headline figures\n\n"
     << "| figure | orderflow | baseline | ratio | target |\n|---|---:|---:|---:|---|\n";
  md << fmt::format(
      "| full saga, max sustainable rate (orders/s) | {:.0f} | – | – | ≥ 3000: {} |\n", max_rate,
      yes_no(max_rate >= 3000));
  md << fmt::format(
      "| full saga, closed loop (orders/s) | {:.0f} | {:.0f} raw commits/s | {} | – |\n",
      closed_rate, db_rate, ratio(closed_rate, db_rate));
  md << fmt::format(
      "| e2e p99 at 1000 orders/s (ms; six hops) | {:.1f} | {:.1f} raw Kafka p99, one hop | {} | ≤ "
      "50: {} |\n",
      e2e_p99_1000, num(r, {"baselines", "kafka", "latency", "p99Ms"}),
      ratio(e2e_p99_1000, num(r, {"baselines", "kafka", "latency", "p99Ms"})),
      yes_no(at1000 != nullptr && e2e_p99_1000 <= 50));
  md << fmt::format(
      "| API p99 at {:.0f} req/s (ms) | {:.2f} | {:.2f} no-op handler | {} | ≤ 5: {} |\n",
      num(r, {"api", "open", "rate"}), api_p99, noop_p99, ratio(api_p99, noop_p99),
      yes_no(api_p99 > 0 && api_p99 <= 5));
  md << fmt::format("| API closed loop (req/s) | {:.0f} | {:.0f} no-op handler | {} | – |\n",
                    api_closed, noop_closed, ratio(api_closed, noop_closed));
  md << fmt::format(
      "| API closed loop vs raw DB commits | {:.0f} | {:.0f} raw commits/s | {} | – |\n",
      api_closed, db_rate, ratio(api_closed, db_rate));
  if (r["saga"]["closed"].contains("messagesPerS")) {
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
    if (name == "orderflow-broker") continue;
    double rss = num(m, {"rssMiB"});
    md << fmt::format("| idle RSS {} (MiB) | {:.1f} | – | – | ≤ 30: {} |\n", name, rss,
                      yes_no(rss <= 30));
  }
  md << "\n";

  md << "## Baselines\n\n| baseline | figure |\n|---|---|\n";
  md << fmt::format(
      "| (a) raw librdkafka produce → consume, as fast as possible | {:.0f} msgs/s ({} msgs) |\n",
      kafka_rate, static_cast<std::int64_t>(num(r, {"baselines", "kafka", "messages"})));
  md << fmt::format(
      "| (a) raw librdkafka latency at {:.0f} msgs/s | p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms "
      "|\n",
      num(r, {"baselines", "kafka", "latencyRate"}),
      num(r, {"baselines", "kafka", "latency", "p50Ms"}),
      num(r, {"baselines", "kafka", "latency", "p99Ms"}),
      num(r, {"baselines", "kafka", "latency", "maxMs"}));
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

  md << "## API only (broker + order-service)\n\n" << markdown_header();
  md << markdown_row(r["api"]["open"]) << markdown_row(r["api"]["closed"]) << "\n";

  md << "## Full saga\n\n";
  if (!plot_file.empty())
    md << "![e2e latency percentiles against throughput](" << plot_file << ")\n\n";
  md << markdown_header();
  for (const auto& p : r["saga"]["phases"]) md << markdown_row(p);
  md << markdown_row(r["saga"]["closed"]) << "\n";
  md << fmt::format("Maximum sustainable rate: **{:.0f} orders/s**.\n\n", max_rate);

  md << "### CPU per process (% of one core)\n\n";
  std::vector<std::string> names;
  for (const auto& [name, v] : r["saga"]["closed"]["processes"].items()) names.push_back(name);
  md << "| phase |";
  for (const auto& n : names) md << " " << n << " |";
  md << "\n|---|";
  for (std::size_t i = 0; i < names.size(); ++i) md << "---:|";
  md << "\n";
  auto cpu_row = [&](const nlohmann::json& p) {
    md << "| " << p["name"].get<std::string>() << " |";
    for (const auto& n : names)
      md << fmt::format(" {:.0f} |", num(p, {"processes", n.c_str(), "cpuPercent"}));
    md << "\n";
  };
  for (const auto& p : r["saga"]["phases"]) cpu_row(p);
  cpu_row(r["saga"]["closed"]);
  md << "\n### Memory (MiB)\n\n| process | idle RSS | peak RSS (whole run) |\n|---|---:|---:|\n";
  for (const auto& [name, m] : r["peak"].items()) {
    md << fmt::format("| {} | {:.1f} | {:.1f} |\n", name, num(r, {"idle", name.c_str(), "rssMiB"}),
                      num(m, {"peakRssMiB"}));
  }
  md << "\n";

  md << kHandWrittenMarker << "\n";
  auto at = previous.find(kHandWrittenMarker);
  if (at != std::string::npos) {
    auto tail = previous.substr(at + std::string(kHandWrittenMarker).size());
    if (!tail.empty() && tail[0] == '\n') tail.erase(0, 1);
    md << tail;
  }
  return md.str();
}

}  // namespace orderflow::bench
