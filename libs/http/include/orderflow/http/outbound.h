#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "orderflow/common/result.h"

namespace orderflow::http {

/// Settings of calls to servers outside the system (notification channels, the data-platform
/// sink). TLS peer and host verification are always on.
struct OutboundOptions {
  std::chrono::milliseconds connect_timeout{2000};  ///< TCP (+ TLS) connect
  std::chrono::milliseconds total_timeout{5000};    ///< the whole call, connect included
  /// At most this much of a response body is kept; the rest is read and dropped, never
  /// buffered (a receiver's huge body costs no memory).
  std::size_t max_response_bytes = 64 * 1024;
};

/// A response from an outside server (any status).
struct OutboundResponse {
  int status = 0;
  std::string body;        ///< at most OutboundOptions::max_response_bytes
  bool truncated = false;  ///< the body was longer and was cut
};

/// Ok when `url` is an absolute http:// or https:// URL with a host (a configured endpoint);
/// else kInvalidInput INVALID_URL naming it. Pure, thread-safe.
Result<void> validate_url(const std::string& url);

/// POSTs `body` to `url` with libcurl (one call, blocking up to options.total_timeout).
/// Returns the response whatever its status; the caller classifies it. kUnavailable
/// (HTTP_TIMEOUT, HTTP_CONNECT_FAILED, HTTP_FAILED) when no response came: connect failure,
/// timeout, TLS failure. Thread-safe (one curl handle per call).
Result<OutboundResponse> post(const std::string& url, const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              const OutboundOptions& options);

/// The failure a non-2xx response means to a consumer: 5xx and 408/429 are kUnavailable
/// (retried), any other status kUnprocessable (not retried). Both have code HTTP_<status> and
/// the message "<what> answered HTTP <status>: <body>" (the body as received, cut). Pure.
Error status_error(const std::string& what, const OutboundResponse& response);

}  // namespace orderflow::http
