#include "orderflow/http/server.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "orderflow/observability/trace_context.h"

namespace orderflow::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr auto kForceCloseWait = std::chrono::seconds(1);
// After an error reply the client may still be sending (e.g. an oversized body); closing at
// once would reset the connection and could destroy the reply before the client reads it.
constexpr auto kLingerTimeout = std::chrono::milliseconds(1000);
// A connection refused for max_connections: deadline to write the 503 and to drain what the
// client sends meanwhile. Short, because refusing must stay cheaper than serving.
constexpr auto kRejectLinger = std::chrono::milliseconds(500);
// Connections being refused at once; further ones are closed without a reply, so a connection
// flood cannot grow memory through the refusals themselves.
constexpr std::size_t kMaxRejecting = 128;
// After a failed accept (EMFILE, ENFILE, ENOBUFS…) the pending connection stays in the listen
// backlog; accepting again at once would spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
constexpr std::size_t kFirstReadBytes = 4096;

Request to_request(const bhttp::request<bhttp::string_body>& message) {
  Request request;
  request.method = std::string(message.method_string());
  apply_target(std::string_view(message.target().data(), message.target().size()), request);
  for (const auto& field : message) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = message.body();
  return request;
}

// Any method string a client sends would otherwise become its own metric series.
std::string method_label(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",    "HEAD",    "POST", "PUT",
                                                "DELETE", "OPTIONS", "PATCH"};
  for (auto known : kKnown) {
    if (method == known) return std::string(method);
  }
  return "OTHER";
}

bool is_parse_error(const beast::error_code& ec) {
  static const auto& category = bhttp::make_error_code(bhttp::error::bad_method).category();
  return ec.category() == category && ec != bhttp::error::end_of_stream &&
         ec != bhttp::error::partial_message && ec != bhttp::error::short_read;
}

}  // namespace

class Session;

class ServerCore {
 public:
  ServerCore(ServerOptions options, const Router& router, observability::Metrics& metrics,
             std::shared_ptr<spdlog::logger> logger)
      : options_(std::move(options)),
        router_(router),
        metrics_(metrics),
        logger_(std::move(logger)),
        acceptor_(net::make_strand(ioc_)),
        accept_retry_(acceptor_.get_executor()) {
    if (options_.auth.mode != AuthMode::kNone) {
      static const SystemClock kSystemClock;
      authenticator_ = std::make_unique<Authenticator>(options_.auth, kSystemClock);
    }
  }

  ~ServerCore() { stop(); }

  void start();
  void stop();
  [[nodiscard]] std::uint16_t port() const { return port_.load(); }

  void unregister_session(Session* session, bool rejecting) {
    std::lock_guard lock(mutex_);
    if (sessions_.erase(session) > 0) --(rejecting ? rejecting_ : serving_);
    publish_open_connections();
    sessions_changed_.notify_all();
  }

  /// Admits a request to its handler unless max_in_flight handlers already run; a true return
  /// must be paired with leave_handler().
  bool try_enter_handler() {
    if (in_flight_.fetch_add(1) >= options_.max_in_flight) {
      in_flight_.fetch_sub(1);
      return false;
    }
    return true;
  }
  void leave_handler() { in_flight_.fetch_sub(1); }

  template <class... Args>
  void log(spdlog::level::level_enum level, fmt::format_string<Args...> format, Args&&... args) {
    if (logger_) logger_->log(level, format, std::forward<Args>(args)...);
  }

  const ServerOptions options_;
  const Router& router_;
  observability::Metrics& metrics_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<Authenticator> authenticator_;  // null with auth.mode none
  std::atomic<bool> stopping_{false};

 private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  std::vector<std::shared_ptr<Session>> live_sessions();
  bool wait_for_sessions(Clock::duration timeout);

  std::mutex lifecycle_mutex_;
  bool started_ = false;
  bool stopped_ = false;

  // Declared before ioc_: sessions still queued in ioc_ unregister while it is destroyed.
  std::mutex mutex_;
  std::condition_variable sessions_changed_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
  std::size_t serving_ = 0;    // sessions_ that serve requests (bounded by max_connections)
  std::size_t rejecting_ = 0;  // sessions_ answering 503 before closing (bounded by kMaxRejecting)
  std::atomic<int> in_flight_{0};

  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;  // on the acceptor's strand
  std::vector<std::thread> threads_;
  std::atomic<std::uint16_t> port_{0};

  void register_session(const std::shared_ptr<Session>& session,
                        bool rejecting);  // caller holds mutex_
  void publish_open_connections();        // caller holds mutex_
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  /// `rejecting`: the connection is over max_connections; it is answered 503 and closed.
  Session(tcp::socket&& socket, ServerCore& server, bool rejecting)
      : server_(server), stream_(std::move(socket)), rejecting_(rejecting) {}

  ~Session() { server_.unregister_session(this, rejecting_); }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->rejecting_) {
        self->reject_connection();
      } else {
        self->wait_for_request(/*first=*/true);
      }
    });
  }

  /// The server is stopping: an idle connection closes now, a busy one after its response.
  void on_server_stop() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->phase_ == Phase::kIdle) self->close();
    });
  }

  void force_close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

 private:
  enum class Phase { kIdle, kReading, kHandling, kClosing, kClosed };

  [[nodiscard]] std::chrono::milliseconds read_timeout() const {
    return std::chrono::milliseconds(server_.options_.read_timeout_ms);
  }

  void wait_for_request(bool first) {
    if (server_.stopping_) {
      close();
      return;
    }
    parser_.emplace();
    parser_->body_limit(server_.options_.body_limit_bytes);
    if (buffer_.size() > 0) {  // a pipelined request is already buffered
      read_request();
      return;
    }
    // Waiting for the first byte separately tells an idle keep-alive connection (closed at
    // once on stop, idle_timeout) from one in the middle of a request (read_timeout).
    phase_ = Phase::kIdle;
    stream_.expires_after(first ? read_timeout()
                                : std::chrono::milliseconds(server_.options_.idle_timeout_ms));
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) {
                                self->close();
                                return;
                              }
                              self->buffer_.commit(n);
                              self->read_request();
                            });
  }

  void read_request() {
    phase_ = Phase::kReading;
    stream_.expires_after(read_timeout());
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  // Clients such as curl send `Expect: 100-continue` for large bodies and wait for the
  // interim response (or a timeout) before sending the body.
  void on_header(beast::error_code ec) {
    if (ec || phase_ == Phase::kClosed) {
      on_read(ec);
      return;
    }
    const auto& header = parser_->get();
    if (header.version() == 11 && !parser_->is_done() &&
        beast::iequals(header[bhttp::field::expect], "100-continue")) {
      auto interim = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                          header.version());
      bhttp::async_write(
          stream_, *interim,
          [self = shared_from_this(), interim](beast::error_code write_ec, std::size_t) {
            if (write_ec) {
              self->close();
              return;
            }
            self->read_body();
          });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec == bhttp::error::body_limit) {
      reply_and_close(
          413, "PAYLOAD_TOO_LARGE",
          "request body exceeds " + std::to_string(server_.options_.body_limit_bytes) + " bytes");
      return;
    }
    if (ec == bhttp::error::header_limit) {
      reply_and_close(431, "HEADERS_TOO_LARGE", "request headers are too large");
      return;
    }
    if (is_parse_error(ec)) {
      reply_and_close(400, "MALFORMED_REQUEST", "malformed HTTP request: " + ec.message());
      return;
    }
    if (ec) {  // timeout, client gone, or closed by stop()
      close();
      return;
    }
    handle();
  }

  // Answers before reading anything: the request, however large, is never buffered. The reply
  // may reach the client before it finished sending; the linger drain keeps it readable.
  void reject_connection() {
    phase_ = Phase::kHandling;
    server_.log(spdlog::level::debug, "http connection refused reason=max_connections limit={}",
                server_.options_.max_connections);
    write(overloaded("too many open connections; retry later"), 11, /*keep_alive=*/false,
          /*linger=*/true);
  }

  void handle() {
    phase_ = Phase::kHandling;
    auto& message = parser_->get();
    if (!server_.try_enter_handler()) {
      server_.metrics_.count_http(method_label(message.method_string()), "unmatched", 503, 0.0);
      server_.metrics_.count_http_rejected("in_flight");
      server_.log(spdlog::level::debug, "http request refused reason=max_in_flight limit={}",
                  server_.options_.max_in_flight);
      // The whole request was read, so the connection can carry the client's retry.
      write(overloaded("too many requests in progress; retry later"), message.version(),
            message.keep_alive() && !server_.stopping_, /*linger=*/false);
      return;
    }
    Request request;
    Dispatched dispatched;
    double seconds = 0;
    {
      // The slot is released before the response is written: the write may reach the client
      // at once, and its next request must not find this finished handler still counted
      // (a 503 with no handler running; seen under `make test-asan`).
      struct LeaveHandler {
        ServerCore& server;
        ~LeaveHandler() { server.leave_handler(); }
      } leave{server_};
      auto started = Clock::now();
      request = to_request(message);
      request.traceparent =
          observability::child_traceparent(request.header("traceparent").value_or(""));
      try {
        dispatched = server_.router_.dispatch(request, server_.authenticator_.get());
      } catch (const std::exception& e) {  // the router's own failure (e.g. bad_alloc)
        dispatched.handler_error = e.what();
        dispatched.response = Response::error(500, "INTERNAL", "internal error");
      }
      seconds = std::chrono::duration<double>(Clock::now() - started).count();
    }
    auto& headers = dispatched.response.headers;
    if (std::none_of(headers.begin(), headers.end(),
                     [](const auto& h) { return beast::iequals(h.first, "traceparent"); })) {
      headers.emplace_back("traceparent", request.traceparent);
    }
    const Response& response = dispatched.response;
    const std::string& route = dispatched.route;
    const auto trace_id = observability::trace_id_of(request.traceparent);
    if (!dispatched.handler_error.empty()) {
      server_.log(spdlog::level::err,
                  "handler failed method={} path={} route={} error=\"{}\" trace_id={}",
                  request.method, request.path, route, dispatched.handler_error, trace_id);
    }
    server_.metrics_.count_http(method_label(request.method), route, response.status, seconds);
    server_.log(spdlog::level::debug,
                "http request method={} path={} route={} status={} ms={:.3f} trace_id={}",
                request.method, request.path, route, response.status, seconds * 1000, trace_id);
    // Decided after the handler so a stop() that began meanwhile closes this connection.
    bool keep_alive = message.keep_alive() && !server_.stopping_;
    write(response, message.version(), keep_alive, /*linger=*/false);
  }

  void reply_and_close(int status, std::string_view code, const std::string& message) {
    phase_ = Phase::kHandling;
    std::string method = "OTHER";
    if (parser_ && parser_->is_header_done()) method = method_label(parser_->get().method_string());
    server_.metrics_.count_http(method, "unmatched", status, 0.0);
    server_.log(spdlog::level::info, "http request rejected status={} reason=\"{}\"", status,
                message);
    write(Response::error(status, code, message), 11, /*keep_alive=*/false, /*linger=*/true);
  }

  void write(const Response& response, unsigned version, bool keep_alive, bool linger) {
    auto reply = std::make_shared<bhttp::response<bhttp::string_body>>();
    reply->version(version);
    reply->result(static_cast<unsigned>(response.status));
    if (!response.content_type.empty())
      reply->set(bhttp::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) reply->insert(name, value);
    // A reply no handler made (refused, malformed) is still a span: of the request's trace when
    // the parser got its traceparent (a 413 has every header), else of a new trace.
    if (reply->find("traceparent") == reply->end()) {
      std::string_view parent;
      if (parser_) {
        auto field = parser_->get()["traceparent"];
        parent = std::string_view(field.data(), field.size());
      }
      reply->set("traceparent", observability::child_traceparent(parent));
    }
    reply->body() = response.body;
    reply->keep_alive(keep_alive);
    reply->prepare_payload();
    // The read deadline may already have passed while the handler ran; re-arm for the write.
    stream_.expires_after(rejecting_ ? kRejectLinger : read_timeout());
    bhttp::async_write(
        stream_, *reply,
        [self = shared_from_this(), reply, keep_alive, linger](beast::error_code ec, std::size_t) {
          if (ec) {
            self->close();
          } else if (keep_alive) {
            self->wait_for_request(/*first=*/false);
          } else if (linger) {
            self->linger_close();
          } else {
            self->close();
          }
        });
  }

  void linger_close() {
    phase_ = Phase::kClosing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(rejecting_ ? kRejectLinger : kLingerTimeout);
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                self->close();
                              } else {
                                self->drain();
                              }
                            });
  }

  void close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  ServerCore& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::array<char, 8192> drain_buffer_{};
  Phase phase_ = Phase::kIdle;
  const bool rejecting_;
};

void ServerCore::register_session(const std::shared_ptr<Session>& session, bool rejecting) {
  sessions_.emplace(session.get(), session);
  ++(rejecting ? rejecting_ : serving_);
  publish_open_connections();
}

void ServerCore::publish_open_connections() {
  metrics_.set_gauge("orderflow_http_open_connections", "Open HTTP connections", {},
                     static_cast<double>(sessions_.size()));
}

void ServerCore::start() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (started_) throw std::logic_error("http server already started");
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    throw std::runtime_error("http: cannot resolve " + options_.host + ": " + ec.message());
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  auto fail = [&](const char* what) {
    throw std::runtime_error("http: cannot " + std::string(what) + " " +
                             endpoint.address().to_string() + ":" + std::to_string(options_.port) +
                             ": " + ec.message());
  };
  if (acceptor_.open(endpoint.protocol(), ec)) fail("open");
  if (acceptor_.set_option(net::socket_base::reuse_address(true), ec)) fail("configure");
  if (acceptor_.bind(endpoint, ec)) fail("bind");
  if (acceptor_.listen(net::socket_base::max_listen_connections, ec)) fail("listen on");
  port_ = acceptor_.local_endpoint().port();
  started_ = true;

  work_.emplace(ioc_.get_executor());
  do_accept();
  int threads = std::max(1, options_.threads);
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          log(spdlog::level::err, "http io thread caught exception error=\"{}\"", e.what());
        }
      }
    });
  }
  log(spdlog::level::info,
      "http server listening host={} port={} threads={} max_connections={} max_in_flight={}",
      options_.host, port(), threads, options_.max_connections, options_.max_in_flight);
}

void ServerCore::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void ServerCore::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    log(spdlog::level::warn, "http accept failed, retrying in {} ms error=\"{}\"",
        kAcceptRetryDelay.count(), ec.message());
    accept_retry_.expires_after(kAcceptRetryDelay);
    accept_retry_.async_wait([this](beast::error_code wait_ec) {
      if (wait_ec || !acceptor_.is_open()) return;
      do_accept();
    });
    return;
  }
  std::shared_ptr<Session> session;
  bool over_limit = false;
  {
    std::lock_guard lock(mutex_);
    // Checked under the same lock stop() takes, so no session escapes its snapshot.
    if (stopping_) {
      beast::error_code ignored;
      socket.close(ignored);
      return;
    }
    over_limit = serving_ >= options_.max_connections;
    if (over_limit && rejecting_ >= kMaxRejecting) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      session = std::make_shared<Session>(std::move(socket), *this, over_limit);
      register_session(session, over_limit);
    }
  }
  if (over_limit) {
    metrics_.count_http_rejected("connections");
  } else {
    metrics_.add_counter("orderflow_http_connections_total", "Accepted HTTP connections", {});
  }
  if (session) session->start();
  do_accept();
}

std::vector<std::shared_ptr<Session>> ServerCore::live_sessions() {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Session>> live;
  for (auto& [raw, weak] : sessions_) {
    if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  return live;
}

bool ServerCore::wait_for_sessions(Clock::duration timeout) {
  std::unique_lock lock(mutex_);
  return sessions_changed_.wait_for(lock, timeout, [this] { return sessions_.empty(); });
}

void ServerCore::stop() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
  });
  for (auto& session : live_sessions()) session->on_server_stop();
  if (!wait_for_sessions(kStopGrace)) {
    auto remaining = live_sessions();
    log(spdlog::level::warn, "http stop: closing connections still busy count={}",
        remaining.size());
    for (auto& session : remaining) session->force_close();
    remaining.clear();
    wait_for_sessions(kForceCloseWait);
  }
  work_.reset();
  ioc_.stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
  log(spdlog::level::info, "http server stopped");
}

// Session must name the server, and Server::Impl is private, hence the extra name.
class Server::Impl : public ServerCore {
 public:
  using ServerCore::ServerCore;
};

Server::Server(ServerOptions options, const Router& router, observability::Metrics& metrics,
               std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics, std::move(logger))) {}

Server::~Server() { stop(); }

void Server::start() { impl_->start(); }

std::uint16_t Server::port() const { return impl_->port(); }

void Server::stop() { impl_->stop(); }

}  // namespace orderflow::http
