#include "profile.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "bench_system.h"
#include "callgrind.h"
#include "load_generator.h"
#include "orderflow/http/client.h"
#include "report.h"
#include "suite.h"
#include "system.h"

namespace orderflow::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr const char* kLoadGenerator = "orderflow-bench";

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CommandResult {
  int status = -1;  ///< exit code; -1 when it did not exit normally
  std::string output;
};

// Runs argv (through the shell, every word quoted) and captures its stdout and stderr.
CommandResult run_command(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& w : argv) line += (line.empty() ? "" : " ") + shell_quote(w);
  line += " 2>&1";
  CommandResult out;
  std::FILE* pipe = popen(line.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.output.append(buf, n);
  int status = pclose(pipe);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// callgrind_control (through vgdb) on one process: "-i on", "-i off", "-d".
void control(const std::string& name, pid_t pid, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"callgrind_control"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(std::to_string(pid));
  auto r = run_command(argv);
  if (r.status != 0) {
    throw std::runtime_error("callgrind_control on " + name + " failed: " + r.output);
  }
}

// POSTs `count` orders open loop at `rate` and returns the ids of those accepted (201), in
// the order they were sent.
std::vector<std::string> post_orders(const std::vector<cli::Endpoint>& servers, int count,
                                     double rate, int connections) {
  auto load = order_load(servers, 1);
  load.mode = LoadMode::kOpen;
  load.rate = rate;
  // Whole milliseconds: the generator schedules rate × duration requests, at least `count`.
  load.duration = std::chrono::milliseconds(
      static_cast<std::int64_t>(std::ceil(1000.0 * count / std::max(0.001, rate))));
  load.connections = connections;
  // A request waiting behind the instrumented order-service is slow, not lost.
  load.timeout = 60s;
  std::mutex mutex;
  std::map<std::int64_t, std::string> ids;
  load.on_response = [&](std::int64_t i, Clock::time_point, const http::Response& r) {
    if (r.status != 201) return;
    std::lock_guard lock(mutex);
    ids[i] = order_id_of(r.body);
  };
  run_load(load);
  std::vector<std::string> out;
  for (auto& [i, id] : ids) {
    if (!id.empty()) out.push_back(std::move(id));
  }
  return out;
}

struct Confirmation {
  std::int64_t completed = 0;
  std::int64_t cancelled = 0;
  std::int64_t missing = 0;  ///< not terminal by the deadline
  std::int64_t reads = 0;    ///< GET /api/orders/{id} requests made
};

// GET /api/orders/{id} of each order in turn until it is COMPLETED or CANCELLED. Orders finish
// about in the order they were posted, so most are read once: the reads are part of what the
// measurement counts, and few of them keep it close to the orders' own cost.
Confirmation confirm_orders(const cli::Endpoint& ep, const std::vector<std::string>& ids,
                            Clock::time_point deadline) {
  http::Connection connection(ep.host, ep.port);
  Confirmation out;
  std::size_t next = 0;
  while (next < ids.size()) {
    if (Clock::now() > deadline) {
      out.missing = static_cast<std::int64_t>(ids.size() - next);
      break;
    }
    auto r = connection.request("GET", "/api/orders/" + ids[next], {}, {}, 60s);
    ++out.reads;
    std::string status;
    if (r && r->status == 200) {
      auto doc = nlohmann::json::parse(r->body, nullptr, false);
      if (doc.is_object()) status = doc.value("status", "");
    }
    if (status == "COMPLETED" || status == "CANCELLED") {
      ++(status == "COMPLETED" ? out.completed : out.cancelled);
      ++next;
    } else {
      std::this_thread::sleep_for(500ms);
    }
  }
  return out;
}

// The functions of one callgrind output file (callgrind_annotate, all of them): self cost, or
// with `inclusive` the cost of everything they called too.
std::vector<FunctionCost> annotate(const std::string& file, bool inclusive = false) {
  auto r = run_command({"callgrind_annotate", "--auto=no", "--threshold=100",
                        inclusive ? "--inclusive=yes" : "--inclusive=no", file});
  if (r.status != 0) throw std::runtime_error("callgrind_annotate " + file + ": " + r.output);
  return parse_annotate_functions(r.output);
}

std::string function_key(const FunctionCost& f) {
  return f.file + '\x1f' + f.function + '\x1f' + f.object;
}

// When counting was switched on, dumped after the idle window and after the loaded one.
struct Window {
  Clock::time_point on;
  Clock::time_point idle_end;
  Clock::time_point load_end;
};

// One process's figures: its two dumps, the idle rate subtracted from the loaded window over
// its length, per completed order; its functions and components the same way.
nlohmann::json process_figures(const std::string& dir, const std::string& name,
                               const Window& window, double orders, int top) {
  const auto base = dir + "/callgrind.out." + name;
  const auto idle_ir = callgrind_total(read_file(base + ".1"));
  const auto load_ir = callgrind_total(read_file(base + ".2"));
  if (!idle_ir || !load_ir) throw std::runtime_error("no Ir totals in " + base + ".1/.2");
  const double idle_s = seconds_between(window.on, window.idle_end);
  const double load_s = seconds_between(window.idle_end, window.load_end);
  const double idle_share = idle_s > 0 ? load_s / idle_s : 0;
  const double net = static_cast<double>(*load_ir) - static_cast<double>(*idle_ir) * idle_share;

  struct Net {
    FunctionCost function;
    double cost = 0;
  };
  std::map<std::string, Net> by_function;
  for (auto& f : annotate(base + ".2")) {
    auto& n = by_function[function_key(f)];
    n.cost += static_cast<double>(f.cost);
    n.function = std::move(f);
  }
  for (const auto& f : annotate(base + ".1")) {
    auto& n = by_function[function_key(f)];
    if (n.function.function.empty()) n.function = f;
    n.cost -= static_cast<double>(f.cost) * idle_share;
  }
  std::map<std::string, double> components;
  std::vector<Net> functions;
  for (auto& [key, n] : by_function) {
    components[cost_component(n.function)] += n.cost / orders;
    functions.push_back(std::move(n));
  }
  std::sort(functions.begin(), functions.end(),
            [](const Net& a, const Net& b) { return a.cost > b.cost; });
  nlohmann::json top_json = nlohmann::json::array();
  for (int i = 0; i < top && i < static_cast<int>(functions.size()); ++i) {
    const auto& f = functions[static_cast<std::size_t>(i)];
    top_json.push_back({{"function", f.function.function},
                        {"file", f.function.file},
                        {"object", f.function.object},
                        {"component", cost_component(f.function)},
                        {"irPerOrder", f.cost / orders}});
  }
  // orderflow's own functions with what they called: which path of the service costs what.
  // callgrind_annotate lists a function once per source file its inlined code came from, each
  // with about the whole inclusive cost: the largest is taken, not the sum.
  auto inclusive = [&](const std::string& file) {
    std::map<std::string, double> out;
    for (const auto& f : annotate(file, true)) {
      if (!f.function.starts_with("orderflow::")) continue;
      auto& cost = out[f.function];
      cost = std::max(cost, static_cast<double>(f.cost));
    }
    return out;
  };
  auto own = inclusive(base + ".2");
  for (const auto& [function, cost] : inclusive(base + ".1")) own[function] -= cost * idle_share;
  std::vector<std::pair<std::string, double>> own_sorted(own.begin(), own.end());
  std::sort(own_sorted.begin(), own_sorted.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  // A chain of callers that do little besides calling the next (a thread's loop, dispatch,
  // a std::function) lists the same cost again and again: of a run of functions each within
  // kFold of the one before, only the last (usually the innermost) is shown.
  constexpr double kFold = 0.98;
  nlohmann::json own_json = nlohmann::json::array();
  int folded = 0;
  for (std::size_t i = 0; i < own_sorted.size() && static_cast<int>(own_json.size()) < top; ++i) {
    const auto& [function, cost] = own_sorted[i];
    if (cost <= 0) break;
    if (i + 1 < own_sorted.size() && own_sorted[i + 1].second >= kFold * cost) {
      ++folded;
      continue;
    }
    own_json.push_back({{"function", function}, {"irPerOrder", cost / orders}, {"folded", folded}});
    folded = 0;
  }
  return {{"idleIr", *idle_ir},
          {"idleS", idle_s},
          {"idleIrPerS", idle_s > 0 ? static_cast<double>(*idle_ir) / idle_s : 0},
          {"loadIr", *load_ir},
          {"loadS", load_s},
          {"irPerOrder", net / orders},
          {"components", components},
          {"top", top_json},
          {"topInclusive", own_json}};
}

nlohmann::json callgrind_figures(const ProfileOptions& options,
                                 const std::shared_ptr<spdlog::logger>& log) {
  const auto dir = options.work_dir + "/callgrind";
  fs::create_directories(dir);
  const auto catalog = write_catalog(options.work_dir, 1);
  auto overrides = options.service_overrides;
  overrides.insert(overrides.end(), options.callgrind_overrides.begin(),
                   options.callgrind_overrides.end());
  auto spec = bench_system_spec(options.source_dir, options.bin_dir,
                                options.work_dir + "/callgrind-system", catalog, overrides);
  // Uninstrumented (and so about 5x instead of 50x slower) until the idle window: start-up,
  // migrations and the warm-up are not counted.
  spec.launcher = {options.valgrind, "--tool=callgrind", "--instr-atstart=no", "--dump-instr=no",
                   "--callgrind-out-file=" + dir + "/callgrind.out.{name}"};
  spec.ready_timeout = options.ready_timeout;
  // callgrind writes the rest of its counts when the process exits.
  spec.exit_grace = 120s;
  cli::System system(spec, log);
  const auto starting = Clock::now();
  system.start();
  log->info("system up under valgrind in {:.1f} s", seconds_between(starting, Clock::now()));
  const auto servers = order_endpoints(system);
  const auto pids = system.pids();

  auto warm_up = post_orders(servers, options.warm_up_orders, options.rate, options.connections);
  auto warm = confirm_orders(servers.at(0), warm_up, Clock::now() + 300s);
  if (!system.wait_until_quiet(Clock::now() + 120s, 500ms)) log->warn("warm-up: not quiet");
  log->info("warm-up: {} orders completed; counting idle for {} ms", warm.completed,
            options.idle.count());

  std::map<std::string, Window> windows;
  for (const auto& [name, pid] : pids) {
    control(name, pid, {"-i", "on"});
    windows[name].on = Clock::now();
  }
  std::this_thread::sleep_for(options.idle);
  for (const auto& [name, pid] : pids) {
    control(name, pid, {"-d"});
    windows[name].idle_end = Clock::now();
  }

  log->info("posting {} orders at {} orders/s over {} connections", options.orders, options.rate,
            options.connections);
  const auto load_start = Clock::now();
  auto ids = post_orders(servers, options.orders, options.rate, options.connections);
  const auto posted = Clock::now();
  auto confirmed = confirm_orders(servers.at(0), ids, Clock::now() + 600s);
  const auto terminal = Clock::now();
  // Work an order leaves behind after it is COMPLETED (the last events' consumers) is its cost.
  const bool quiet = system.wait_until_quiet(Clock::now() + 300s, 500ms);
  for (const auto& [name, pid] : pids) {
    control(name, pid, {"-d"});
    windows[name].load_end = Clock::now();
  }
  for (const auto& [name, pid] : pids) control(name, pid, {"-i", "off"});
  log->info("{} of {} orders completed, {} reads; stopping the system", confirmed.completed,
            ids.size(), confirmed.reads);
  system.stop();

  const double orders = static_cast<double>(std::max<std::int64_t>(1, confirmed.completed));
  nlohmann::json processes = nlohmann::json::object();
  double total = 0;
  for (const auto& [name, pid] : pids) {
    processes[name] = process_figures(dir, name, windows.at(name), orders, options.top_functions);
    total += processes[name]["irPerOrder"].get<double>();
  }
  auto version = run_command({options.valgrind, "--version"}).output;
  while (!version.empty() && version.back() == '\n') version.pop_back();
  return {{"valgrind", version},
          {"overrides", options.callgrind_overrides},
          {"orders", options.orders},
          {"rate", options.rate},
          {"connections", options.connections},
          {"warmUpOrders", options.warm_up_orders},
          {"idleMs", options.idle.count()},
          {"posted", ids.size()},
          {"completed", confirmed.completed},
          {"cancelled", confirmed.cancelled},
          {"missing", confirmed.missing},
          {"reads", confirmed.reads},
          {"postS", seconds_between(load_start, posted)},
          {"terminalS", seconds_between(load_start, terminal)},
          {"quiet", quiet},
          {"processes", processes},
          {"totalIrPerOrder", total}};
}

nlohmann::json proc_figures(const ProfileOptions& options,
                            const std::shared_ptr<spdlog::logger>& log) {
  SuiteOptions suite;
  suite.source_dir = options.source_dir;
  suite.bin_dir = options.bin_dir;
  suite.work_dir = options.work_dir + "/proc";
  suite.phase = options.proc_phase;
  suite.connections = options.proc_connections;
  suite.service_overrides = options.service_overrides;
  auto phase = run_saga_phase(suite, "saga-closed", LoadMode::kClosed, 0, log);
  const auto completed = phase["e2e"].value("completed", std::int64_t{0});
  double system_cpu = 0;
  double bench_cpu = 0;
  nlohmann::json ms = nlohmann::json::object();
  for (const auto& [name, p] : phase["processes"].items()) {
    const double cpu = p.value("cpuS", 0.0);
    (name == kLoadGenerator ? bench_cpu : system_cpu) += cpu;
    ms[name] = completed > 0 ? 1000.0 * cpu / static_cast<double>(completed) : 0;
  }
  const double per = completed > 0 ? 1000.0 / static_cast<double>(completed) : 0;
  return {{"connections", options.proc_connections},
          {"phaseMs", options.proc_phase.count()},
          {"completed", completed},
          {"cancelled", phase["e2e"].value("cancelled", std::int64_t{0})},
          {"missing", phase["e2e"].value("missing", std::int64_t{0})},
          {"finishedPerS", phase.value("finishedPerS", 0.0)},
          {"e2eP99Ms", phase["e2e"]["latency"].value("p99Ms", 0.0)},
          {"machineCpuPercent", phase.value("machineCpuPercent", 0.0)},
          {"systemCpuS", system_cpu},
          {"loadGeneratorCpuS", bench_cpu},
          {"msPerOrder", system_cpu * per},
          {"loadGeneratorMsPerOrder", bench_cpu * per},
          {"msPerOrderByProcess", ms}};
}

// 1234567.8 → "1,234,568".
std::string grouped(double value) {
  auto digits = fmt::format("{:.0f}", std::abs(value));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (value < -0.5 ? "−" : "") + out;
}

std::string percent(double part, double whole) {
  if (whole == 0) return "–";
  const double p = 100.0 * part / whole;
  return (p <= -0.05 ? "−" : "") + fmt::format("{:.1f}%", std::abs(p));
}

// A function name fit for a table cell: no '|', at most ~110 characters.
std::string cell(std::string text) {
  constexpr std::size_t kMax = 110;
  if (text.size() > kMax) text = text.substr(0, kMax) + "…";
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string object_name(const std::string& object) {
  auto slash = object.rfind('/');
  return slash == std::string::npos ? object : object.substr(slash + 1);
}

}  // namespace

nlohmann::json run_profile(const ProfileOptions& options,
                           const std::shared_ptr<spdlog::logger>& log) {
  for (const char* tool : {"callgrind_control", "callgrind_annotate"}) {
    if (run_command({"sh", "-c", std::string("command -v ") + tool}).status != 0) {
      throw std::runtime_error(std::string(tool) + " not found: install valgrind (make dev-deps)");
    }
  }
  if (run_command({options.valgrind, "--version"}).status != 0) {
    throw std::runtime_error(options.valgrind + " not found: install valgrind (make dev-deps)");
  }
  fs::create_directories(options.work_dir);
  nlohmann::json out;
  log->info("CPU time per order from /proc: closed loop, {} connections, {} ms",
            options.proc_connections, options.proc_phase.count());
  out["proc"] = proc_figures(options, log);
  log->info("/proc: {:.3f} ms CPU per completed order (load generator not counted)",
            out["proc"]["msPerOrder"].get<double>());
  log->info("instructions per order under callgrind");
  out["callgrind"] = callgrind_figures(options, log);
  log->info("callgrind: {} Ir per completed order, all processes",
            grouped(out["callgrind"]["totalIrPerOrder"].get<double>()));
  return out;
}

std::string render_profile_section(const nlohmann::json& all) {
  const auto& cg = all["callgrind"];
  const auto& proc = all["proc"];
  const auto& processes = cg["processes"];
  const double total = cg.value("totalIrPerOrder", 0.0);
  std::string overrides;
  for (const auto& o : cg.value("overrides", nlohmann::json::array()))
    overrides += (overrides.empty() ? "`" : ", `") + o.get<std::string>() + "`";
  std::ostringstream md;
  md << kProfileBeginMarker << "\n\n"
     << "## CPU per order (callgrind)\n\n"
     << "Generated by `make profile` (`" << all.value("command", "orderflow-bench profile")
     << "`) on " << all.value("date", "?") << " at commit `" << all.value("commit", "?")
     << "`; `make bench` keeps this section as it is, and only `make profile` rewrites it. "
     << "Machine: " << all.value("machine", "?") << "; 1-minute load average "
     << fmt::format("{:.1f}", all.value("loadAverage", 0.0))
     << " at the start (instruction counts do not depend on it). Build: "
     << all.value("buildType", "?") << ". " << cg.value("valgrind", "valgrind") << ".\n\n";

  md << "Method.\n\n"
     << "- **Instructions** (callgrind's Ir: instructions executed in user space, counted, so "
        "they do not depend on what else runs on the machine; the kernel's work for the "
        "processes — fsync, loopback TCP, futex wake-ups — is not in them). The dev system as "
        "the suite runs it (embedded broker, the five services, every port 0, one product of "
        "10^9 units, the simulated payment latency 0), every process, the broker too, started "
        "under `valgrind --tool=callgrind --instr-atstart=no --dump-instr=no` (the `launcher` "
        "of tools/cli's SystemSpec), with "
     << (overrides.empty() ? std::string("no other setting") : overrides)
     << " for every service: callgrind slows each process about 100-fold but not the clocks, "
        "so at the `embedded` profile's 5 ms the broker's empty fetch answers (timer-driven) "
        "took most of the counted instructions, more or fewer of them as the machine was "
        "busy; a wait 100 times longer at a hundredth of the native rate keeps the records per "
        "fetch about as they are natively at 100 × the rate. After readiness and "
     << cg.value("warmUpOrders", 0)
     << " warm-up orders, counting is switched on in every process (`callgrind_control -i "
        "on`) and the system is left idle for "
     << fmt::format("{:.0f}", cg.value("idleMs", 0) / 1000.0)
     << " s (first dump: each process's idle instructions per second). Then "
     << cg.value("orders", 0) << " orders are posted open loop at " << cg.value("rate", 0.0)
     << " orders/s over " << cg.value("connections", 0)
     << " connections, each is read with `GET /api/orders/{id}` until it is COMPLETED ("
     << cg.value("reads", 0)
     << " reads, counted with the orders), and the system is let go quiet (no outbox rows, "
        "consumer lag or records in flight in any service): second dump. **Ir per order** = "
        "(second dump − idle Ir/s × its length) / completed orders, per process and per "
        "function (callgrind_annotate).\n"
     << "- **CPU time** (/proc, issue 15's measure): the same system without valgrind and "
        "with the dev configuration as it is, the suite's closed-loop saga phase: "
     << proc.value("connections", 0) << " connections for "
     << fmt::format("{:.0f}", proc.value("phaseMs", 0) / 1000.0)
     << " s after a 2 s warm-up at 200 orders/s; utime + stime of the broker and the "
        "services over the phase and the wait for its orders' terminal events, divided by the "
        "completed orders. It includes kernel time; the load generator is not counted.\n\n";

  md << "| figure | value |\n|---|---:|\n"
     << "| Ir per completed order, all processes (callgrind) | **" << grouped(total) << "** |\n"
     << "| CPU per completed order, all processes (/proc, " << proc.value("connections", 0)
     << " connections closed loop) | **" << fmt::format("{:.3f} ms", proc.value("msPerOrder", 0.0))
     << "** |\n"
     << "| CPU-per-order target (issue 15) | 0.6 ms |\n"
     << "| … the load generator's own CPU per order (not in the figure above) | "
     << fmt::format("{:.3f} ms", proc.value("loadGeneratorMsPerOrder", 0.0)) << " |\n"
     << "| /proc phase: orders completed, rate, e2e p99 | " << proc.value("completed", 0) << ", "
     << fmt::format("{:.0f}/s", proc.value("finishedPerS", 0.0)) << ", "
     << fmt::format("{:.0f} ms", proc.value("e2eP99Ms", 0.0)) << " |\n"
     << "| callgrind: orders completed (posted, cancelled, missing) | " << cg.value("completed", 0)
     << " (" << cg.value("posted", 0) << ", " << cg.value("cancelled", 0) << ", "
     << cg.value("missing", 0) << ") |\n"
     << "| callgrind: posting took, every order terminal after | "
     << fmt::format("{:.1f} s, {:.1f} s", cg.value("postS", 0.0), cg.value("terminalS", 0.0))
     << (cg.value("quiet", true) ? "" : " (the system did not get quiet)") << " |\n\n";

  md << "### Per process\n\n"
     << "| process | Ir per order | share | idle Ir/s | loaded window | /proc ms CPU per order "
        "|\n|---|---:|---:|---:|---:|---:|\n";
  const auto& proc_ms =
      proc.contains("msPerOrderByProcess") ? proc["msPerOrderByProcess"] : nlohmann::json::object();
  for (const auto& [name, p] : processes.items()) {
    md << "| " << name << " | " << grouped(p.value("irPerOrder", 0.0)) << " | "
       << percent(p.value("irPerOrder", 0.0), total) << " | " << grouped(p.value("idleIrPerS", 0.0))
       << " | " << fmt::format("{:.1f} s", p.value("loadS", 0.0)) << " | "
       << (proc_ms.contains(name) ? fmt::format("{:.3f}", proc_ms[name].get<double>()) : "–")
       << " |\n";
  }
  md << "| **all** | **" << grouped(total) << "** | 100% | | | **"
     << fmt::format("{:.3f}", proc.value("msPerOrder", 0.0)) << "** |\n\n";

  // Components: rows by their total, a column per process.
  std::map<std::string, double> component_total;
  for (const auto& [name, p] : processes.items()) {
    for (const auto& [component, ir] : p["components"].items())
      component_total[component] += ir.get<double>();
  }
  std::vector<std::pair<std::string, double>> components(component_total.begin(),
                                                         component_total.end());
  std::sort(components.begin(), components.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  md << "### Where the instructions go (self Ir per order by component)\n\n"
     << "Components by shared object and function name (`cost_component` in "
        "bench/callgrind.cpp); \"orderflow code\" includes what the compiler inlined into it. "
        "librdkafka and SQLite have few or no symbols here, so some of their functions "
        "appear as addresses. Idle subtracted, so a component that only polls can come out "
        "slightly below zero.\n\n"
     << "| component | all | share |";
  for (const auto& [name, p] : processes.items()) md << " " << name << " |";
  md << "\n|---|---:|---:|";
  for (std::size_t i = 0; i < processes.size(); ++i) md << "---:|";
  md << "\n";
  for (const auto& [component, ir] : components) {
    md << "| " << component << " | " << grouped(ir) << " | " << percent(ir, total) << " |";
    for (const auto& [name, p] : processes.items()) {
      md << " " << grouped(p["components"].value(component, 0.0)) << " |";
    }
    md << "\n";
  }
  md << "\n### Top functions per process (Ir per order, idle subtracted)\n\n"
     << "Self: the function's own instructions. Inclusive: orderflow's functions with "
        "everything they called (nested: a caller includes its callees); of a chain of "
        "functions each within 2% of the one before (a thread's loop, dispatch, a "
        "std::function wrapper) only the last is listed, the others counted in \"folded\" "
        "(mostly its callers). Names shortened (template arguments `<…>`, parameters `()`); the "
        "JSON "
        "(`--json`) has them whole.\n\n";
  for (const auto& [name, p] : processes.items()) {
    const double own = p.value("irPerOrder", 0.0);
    md << "**" << name << "** (" << grouped(own) << " Ir per order)\n\n"
       << "| self Ir per order | share | function | object | component |\n"
       << "|---:|---:|---|---|---|\n";
    for (const auto& f : p["top"]) {
      md << "| " << grouped(f.value("irPerOrder", 0.0)) << " | "
         << percent(f.value("irPerOrder", 0.0), own) << " | `"
         << cell(display_name(f.value("function", ""))) << "` | "
         << object_name(f.value("object", "")) << " | " << f.value("component", "") << " |\n";
    }
    const auto inclusive = p.value("topInclusive", nlohmann::json::array());
    if (!inclusive.empty()) {
      md << "\n| inclusive Ir per order | share | orderflow function | folded "
            "|\n|---:|---:|---|---:|\n";
      for (const auto& f : inclusive) {
        md << "| " << grouped(f.value("irPerOrder", 0.0)) << " | "
           << percent(f.value("irPerOrder", 0.0), own) << " | `"
           << cell(display_name(f.value("function", ""))) << "` | " << f.value("folded", 0)
           << " |\n";
      }
    }
    md << "\n";
  }
  md << kProfileEndMarker << "\n";
  return md.str();
}

}  // namespace orderflow::bench
