#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "latency.h"
#include "orderflow/http/types.h"

namespace orderflow::bench {

/// kOpen: requests are scheduled at a fixed rate and each latency is measured from its
/// *intended* send time, so a stalled server shows up as latency instead of fewer requests
/// (coordinated-omission safe). kClosed: every connection sends its next request as soon as the
/// previous one is answered (maximum throughput; latency from the actual send).
enum class LoadMode { kOpen, kClosed };

struct LoadOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  /// Further instances of the same server (e.g. order-service-2, …): connection k talks to
  /// server k mod (1 + size), host:port being server 0, so the connections, and with them the
  /// requests, are spread evenly over every instance.
  std::vector<std::pair<std::string, std::uint16_t>> more_servers;
  std::string method = "POST";
  std::string target = "/api/orders";
  /// Body of request number i (0, 1, …). Called from the worker threads.
  std::function<std::string(std::int64_t)> body;
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
  LoadMode mode = LoadMode::kOpen;
  double rate = 1000;  ///< requests/s (kOpen only)
  std::chrono::milliseconds duration{10000};
  int connections = 16;                     ///< keep-alive connections, one worker thread each
  std::chrono::milliseconds timeout{5000};  ///< per request; a late answer counts as a timeout
  /// Called from a worker thread after every answered request with its number and intended
  /// (open loop) or actual (closed loop) send time.
  std::function<void(std::int64_t, std::chrono::steady_clock::time_point, const http::Response&)>
      on_response;
};

struct LoadResult {
  std::int64_t sent = 0;
  std::int64_t ok = 0;        ///< 2xx answers
  std::int64_t errors = 0;    ///< non-2xx answers
  std::int64_t timeouts = 0;  ///< no answer within the timeout, or a transport error
  std::int64_t unsent = 0;    ///< open loop: scheduled requests dropped because the run overran
  std::map<int, std::int64_t> statuses;
  double elapsed_s = 0;     ///< first scheduled send → last answer
  double throughput = 0;    ///< ok / elapsed_s
  double offered_rate = 0;  ///< kOpen: the rate asked for; kClosed: 0
  LatencySummary latency;   ///< of every answered request (2xx or not)
};

/// Runs one load phase and blocks until it is over. The open loop stops scheduling at
/// `duration`; requests still due more than 10 s after that are counted `unsent`.
LoadResult run_load(const LoadOptions& options);

nlohmann::json to_json(const LoadResult& r);

/// Body of order number i for POST /api/orders: one unit of `sku` for user i % 1000 + 1.
std::string order_body(const std::string& sku, std::int64_t i);

/// The orderId of a POST /api/orders answer ("" when absent), without a JSON parse on the
/// load generator's threads.
std::string order_id_of(const std::string& body);

}  // namespace orderflow::bench
