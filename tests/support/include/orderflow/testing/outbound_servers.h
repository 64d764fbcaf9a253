#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "orderflow/testing/support.h"

namespace orderflow::testing {

/// A private redis-server (Debian's /usr/bin/redis-server) on a free loopback port, in a temp
/// dir, without persistence. Started by the constructor (throws std::runtime_error when it does
/// not answer within 10 s), stopped by the destructor.
class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  /// redis://127.0.0.1:<port>/0
  [[nodiscard]] std::string url() const;
  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// Stops the server (SIGTERM, then waits); its keys are lost. Idempotent.
  void stop();
  /// Starts it again on the same port (after stop()).
  void start();

 private:
  TempDir dir_;
  std::uint16_t port_ = 0;
  int pid_ = -1;
};

/// One request an HttpReceiver got.
struct ReceivedRequest {
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Case-insensitive header value ("" when absent).
  [[nodiscard]] std::string header(const std::string& name) const;
};

/// A local HTTP server (orderflow's own http::Server on 127.0.0.1, port 0) that records every
/// POST to /hooks/{name} and answers what it is told: a status with a body, or a stall (the
/// request is held until the stall is lifted or the receiver stops). Thread-safe.
class HttpReceiver {
 public:
  HttpReceiver();
  ~HttpReceiver();
  HttpReceiver(const HttpReceiver&) = delete;
  HttpReceiver& operator=(const HttpReceiver&) = delete;

  /// http://127.0.0.1:<port>/hooks/<name>
  [[nodiscard]] std::string url(const std::string& name) const;
  /// The answer to the following requests to /hooks/<name> (every name without an answer of its
  /// own when `name` is empty; default 200 "ok"); `body_bytes` > 0 pads the body with 'x' to
  /// that size.
  void answer(int status, std::string body = "ok", std::size_t body_bytes = 0,
              const std::string& name = {});
  /// true: hold the following requests unanswered; false: release them (they then get the
  /// current answer).
  void stall(bool on);
  /// What /hooks/<name> got so far (every name when empty), in arrival order.
  [[nodiscard]] std::vector<ReceivedRequest> requests(const std::string& name = {}) const;
  /// How many requests /hooks/<name> got.
  [[nodiscard]] std::size_t count(const std::string& name = {}) const {
    return requests(name).size();
  }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::testing
