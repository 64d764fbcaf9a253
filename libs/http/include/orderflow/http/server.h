#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "orderflow/http/router.h"
#include "orderflow/observability/metrics.h"

namespace orderflow::http {

/// Config section `http`.
struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 0;                      ///< 0 = pick a free port (see Server::port())
  std::size_t body_limit_bytes = 1024 * 1024;  ///< larger bodies get 413 PAYLOAD_TOO_LARGE
  int read_timeout_ms = 10000;                 ///< a request must arrive completely within this
  int idle_timeout_ms = 60000;                 ///< keep-alive connections idle longer are closed
  int threads = 8;                             ///< I/O threads; handlers run on them
  /// Open connections served at once. A connection beyond it is answered at once (without
  /// reading its request) 503 OVERLOADED, Retry-After: 1, Connection: close, and closed. With
  /// body_limit_bytes this bounds the memory requests can hold. Must be ≥ 1.
  std::size_t max_connections = 1024;
  /// Requests in a handler at once; beyond it a request is answered 503 OVERLOADED,
  /// Retry-After: 1 without running its handler (the connection stays open). Handlers run
  /// synchronously on the `threads` I/O threads, so this only has an effect when it is below
  /// `threads` (e.g. to keep I/O threads free to read and refuse while handlers are slow).
  /// Must be ≥ 1.
  int max_in_flight = 256;
  /// Config section `auth`: with mode optional or required every request's route access is
  /// checked (Router::dispatch) against a bearer token verified with the system clock.
  AuthConfig auth;
};

/// HTTP/1.1 server (Boost.Beast) with keep-alive. Every request is timed and counted
/// (orderflow_http_requests_total, orderflow_http_request_seconds, label route = pattern).
/// Every handled request gets a W3C trace span (Request::traceparent: a child of its
/// `traceparent` header, or a new trace), returned in the response's `traceparent` header
/// unless the handler set one, and its log lines carry `trace_id=`.
///
/// Overload: memory is bounded by max_connections × (body_limit_bytes + headers); there is no
/// unbounded queue. Refusals are 503 OVERLOADED with Retry-After: 1, counted in
/// orderflow_http_rejected_total{reason="connections"|"in_flight"}. A connection refused for
/// max_connections gets its reply and is then drained for at most 500 ms (so the client reads
/// the reply instead of a reset); at most 128 such connections linger at once, any further
/// one is closed without a reply (still counted). Failed accepts (e.g. out of file
/// descriptors) are retried after 100 ms rather than in a busy loop.
class Server {
 public:
  Server(ServerOptions options, const Router& router, observability::Metrics& metrics,
         std::shared_ptr<spdlog::logger> logger);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Throws std::runtime_error (start-up failure) when options.auth has no usable key.
  /// Binds and starts the I/O threads. Throws std::runtime_error when it cannot bind.
  void start();
  /// The bound port (valid after start()).
  [[nodiscard]] std::uint16_t port() const;
  /// Graceful stop: stops accepting, lets requests in progress finish (up to 5 s), closes
  /// idle connections, joins the threads. Idempotent.
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// What /health/ready reports: overall readiness and per-check details.
struct Readiness {
  bool ready = true;
  nlohmann::json details = nlohmann::json::object();
  std::string reason;  ///< why not ready (the first failing check); empty when ready
};

/// Adds GET /health/live (always 200 {"status":"UP"}), GET /health/ready (200 {"status":"UP",
/// "details"} or 503 {"status":"DOWN","reason","details"} from `readiness`), GET /metrics
/// (Prometheus text). All three are Access::kOpen (never authenticated).
void add_standard_routes(Router& router, std::function<Readiness()> readiness,
                         const observability::Metrics& metrics);

/// Adds GET /openapi.json (Access::kOpen): 200 with `spec` as the body, application/json.
/// `spec` must outlive the router (e.g. embedded_openapi_json()).
void add_openapi_route(Router& router, std::string_view spec);

/// The service's OpenAPI description, services/<svc>/adapters/http/openapi.json as text:
/// defined by the .cpp that orderflow_embed_openapi (libs/http/CMakeLists.txt) generates into
/// each service executable at build time; static storage, thread-safe.
std::string_view embedded_openapi_json();

}  // namespace orderflow::http
