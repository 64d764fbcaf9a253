#include "orderflow/testing/outbound_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>

#include <strings.h>

#include "orderflow/http/router.h"
#include "orderflow/http/server.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"

namespace orderflow::testing {
namespace {

// True when "PING" gets "+PONG" from 127.0.0.1:port.
bool answers_ping(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char ping[] = "PING\r\n";
    char reply[16] = {};
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ok = write(fd, ping, sizeof(ping) - 1) == static_cast<ssize_t>(sizeof(ping) - 1) &&
         read(fd, reply, sizeof(reply) - 1) > 0 && std::string(reply).starts_with("+PONG");
  }
  close(fd);
  return ok;
}

}  // namespace

RedisServer::RedisServer() : port_(free_loopback_port()) { start(); }

RedisServer::~RedisServer() { stop(); }

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

void RedisServer::start() {
  if (pid_ > 0) return;
  std::string exe = "/usr/bin/redis-server";
  std::vector<std::string> args{exe,
                                "--port",
                                std::to_string(port_),
                                "--bind",
                                "127.0.0.1",
                                "--dir",
                                dir_.path().string(),
                                "--save",
                                "",
                                "--appendonly",
                                "no",
                                "--daemonize",
                                "no",
                                "--logfile",
                                dir_.file("redis.log")};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  if (!eventually([&] { return answers_ping(port_); }, std::chrono::seconds{10},
                  std::chrono::milliseconds{20})) {
    stop();
    throw std::runtime_error("redis-server did not answer on port " + std::to_string(port_));
  }
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ReceivedRequest::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return {};
}

struct HttpReceiver::Impl {
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<std::string, ReceivedRequest>> got;
  std::map<std::string, http::Response> answers{{"", {200, "ok", "text/plain", {}}}};
  bool stalled = false;
  bool stopping = false;
  observability::Metrics metrics{"test-receiver"};
  http::Router router;
  std::unique_ptr<http::Server> server;
};

HttpReceiver::HttpReceiver() : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.router.add("POST", "/hooks/{name}", [&impl](const http::Request& req) {
    std::unique_lock lock(impl.mutex);
    auto name = req.path_param("name");
    impl.got.push_back({name, {req.path, req.headers, req.body}});
    impl.changed.wait(lock, [&] { return !impl.stalled || impl.stopping; });
    auto it = impl.answers.find(name);
    return it != impl.answers.end() ? it->second : impl.answers.at("");
  });
  http::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.threads = 4;
  impl.server =
      std::make_unique<http::Server>(options, impl.router, impl.metrics,
                                     observability::make_logger("test-receiver", {"warn", "text"}));
  impl.server->start();
}

HttpReceiver::~HttpReceiver() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->changed.notify_all();
  impl_->server->stop();
}

std::string HttpReceiver::url(const std::string& name) const {
  return "http://127.0.0.1:" + std::to_string(impl_->server->port()) + "/hooks/" + name;
}

void HttpReceiver::answer(int status, std::string body, std::size_t body_bytes,
                          const std::string& name) {
  std::lock_guard lock(impl_->mutex);
  if (body_bytes > body.size()) body.append(body_bytes - body.size(), 'x');
  impl_->answers[name] = {status, std::move(body), "text/plain", {}};
}

void HttpReceiver::stall(bool on) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stalled = on;
  }
  impl_->changed.notify_all();
}

std::vector<ReceivedRequest> HttpReceiver::requests(const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  std::vector<ReceivedRequest> out;
  for (const auto& [n, r] : impl_->got) {
    if (name.empty() || n == name) out.push_back(r);
  }
  return out;
}

}  // namespace orderflow::testing
