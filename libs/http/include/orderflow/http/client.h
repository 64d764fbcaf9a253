#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "orderflow/common/result.h"
#include "orderflow/http/types.h"

namespace orderflow::http {

/// Minimal blocking HTTP/1.1 client for the CLI and tests (one connection per call).
/// kUnavailable when the server cannot be reached or does not answer within `timeout`.
Result<Response> request(const std::string& host, std::uint16_t port, const std::string& method,
                         const std::string& target, const std::string& body = {},
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::milliseconds{5000});

/// A keep-alive connection for many requests to one server (bench, tests). Not thread-safe.
class Connection {
 public:
  Connection(std::string host, std::uint16_t port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  /// Reconnects transparently when the server closed the connection.
  Result<Response> request(const std::string& method, const std::string& target,
                           const std::string& body = {},
                           const std::vector<std::pair<std::string, std::string>>& headers = {},
                           std::chrono::milliseconds timeout = std::chrono::milliseconds{5000});

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::http
