#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace orderflow::bench {

/// Percentiles of a set of latencies, in milliseconds.
struct LatencySummary {
  std::int64_t count = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
  double mean_ms = 0;
};

/// Exact percentiles (nearest rank) of `samples_us` (microseconds); sorts the vector.
LatencySummary summarize(std::vector<std::int64_t>& samples_us);

nlohmann::json to_json(const LatencySummary& s);

inline std::int64_t micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

}  // namespace orderflow::bench
