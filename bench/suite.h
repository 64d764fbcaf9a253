#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

namespace orderflow::bench {

/// The standard suite of `make bench` (docs/benchmarks.md "Method").
struct SuiteOptions {
  std::string source_dir;  ///< repository root: config/orderflow.yaml and the service configs
  std::string bin_dir;     ///< orderflow-broker and the services
  std::string work_dir;    ///< temp dir for data, catalog and baselines (created, not removed)
  std::chrono::milliseconds phase{10000};  ///< length of every measured load phase
  int connections = 32;                    ///< keep-alive connections of the load generator
  std::vector<double> saga_rates{200, 500, 1000, 2000};
  double api_rate = 1000;
  int max_search_steps = 4;
  double p99_limit_ms = 100;  ///< "sustainable": e2e p99 under this and no errors
  /// Extra `--set key=value` for every service (what-if runs, e.g. log.level=warn).
  std::vector<std::string> service_overrides;
  bool baselines = true;  ///< run the same-run baselines
  bool api_only = true;   ///< run the API-only scenario
};

/// Runs baselines, API-only and full-saga scenarios and returns every figure as JSON
/// (schema: docs/benchmarks.md). Throws std::runtime_error when the system cannot start.
nlohmann::json run_suite(const SuiteOptions& options, const std::shared_ptr<spdlog::logger>& log);

}  // namespace orderflow::bench
