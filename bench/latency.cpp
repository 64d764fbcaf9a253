#include "latency.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace orderflow::bench {

namespace {
double at_rank(const std::vector<std::int64_t>& sorted, double q) {
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]) / 1000.0;
}
}  // namespace

LatencySummary summarize(std::vector<std::int64_t>& samples_us) {
  LatencySummary s;
  if (samples_us.empty()) return s;
  std::sort(samples_us.begin(), samples_us.end());
  s.count = static_cast<std::int64_t>(samples_us.size());
  s.p50_ms = at_rank(samples_us, 0.50);
  s.p90_ms = at_rank(samples_us, 0.90);
  s.p99_ms = at_rank(samples_us, 0.99);
  s.p999_ms = at_rank(samples_us, 0.999);
  s.max_ms = static_cast<double>(samples_us.back()) / 1000.0;
  s.mean_ms =
      static_cast<double>(std::accumulate(samples_us.begin(), samples_us.end(), std::int64_t{0})) /
      static_cast<double>(samples_us.size()) / 1000.0;
  return s;
}

nlohmann::json to_json(const LatencySummary& s) {
  return {{"count", s.count},    {"p50Ms", s.p50_ms}, {"p90Ms", s.p90_ms},  {"p99Ms", s.p99_ms},
          {"p999Ms", s.p999_ms}, {"maxMs", s.max_ms}, {"meanMs", s.mean_ms}};
}

}  // namespace orderflow::bench
