#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

namespace orderflow::bench {

/// `orderflow-bench profile` (make profile): CPU instructions per completed order with
/// callgrind, every process of the system counted (the embedded broker too), and CPU time per
/// completed order from /proc beside it. Method: docs/benchmarks.md, "CPU per order".
struct ProfileOptions {
  std::string source_dir;  ///< repository root: config/orderflow.yaml and the service configs
  std::string bin_dir;     ///< orderflow-broker and the services
  std::string work_dir;    ///< temp dir for data and callgrind files (created, not removed)
  /// Extra `--set key=value` for every service in both measurements.
  std::vector<std::string> service_overrides;

  // Under callgrind.
  int orders = 300;         ///< measured orders, posted open loop at `rate`
  double rate = 10;         ///< orders/s offered to the system under callgrind
  int connections = 2;      ///< keep-alive connections of the load generator
  int warm_up_orders = 20;  ///< posted and completed before counting starts
  /// The idle window: counting on, no orders; gives each process's idle instructions per
  /// second, subtracted from the loaded window over its length.
  std::chrono::milliseconds idle{20000};
  /// How long each process may take to get ready under valgrind (SystemSpec::ready_timeout).
  std::chrono::milliseconds ready_timeout{300000};
  /// Extra `--set key=value` for every service under callgrind only. callgrind slows every
  /// process ~100-fold but not the clocks: timer-driven work, above all the empty fetches the
  /// embedded broker answers every fetch.wait.max.ms (5 ms in the `embedded` profile), would
  /// take most of the counted instructions, and how many of them run would depend on how busy
  /// the machine is. A wait 100 times longer at a hundredth of the native rate keeps the
  /// records per fetch about as in the native system at rate × 100.
  std::vector<std::string> callgrind_overrides{"kafka.consumer.fetch.wait.max.ms=500"};
  std::string valgrind = "valgrind";  ///< callgrind_control and callgrind_annotate from PATH
  int top_functions = 10;             ///< per process in the report

  // Without valgrind (/proc): the suite's closed-loop saga phase.
  int proc_connections = 16;
  std::chrono::milliseconds proc_phase{10000};
};

/// Runs both measurements and returns every figure as JSON: {"proc": {...}, "callgrind":
/// {..., "processes": {name: {"irPerOrder", "idleIrPerS", "top": [...], "components": {...}},
/// …}, "totalIrPerOrder"}}. Throws std::runtime_error when valgrind is missing, the system does
/// not start, or a callgrind file cannot be read.
nlohmann::json run_profile(const ProfileOptions& options,
                           const std::shared_ptr<spdlog::logger>& log);

/// The docs/benchmarks.md section of run_profile()'s JSON (with "date", "commit", "machine",
/// "buildType", "command" added by the caller), from kProfileBeginMarker to kProfileEndMarker
/// (report.h) and a newline: for replace_marked_section().
std::string render_profile_section(const nlohmann::json& results);

}  // namespace orderflow::bench
