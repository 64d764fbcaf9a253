#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "orderflow/http/client.h"
#include "orderflow/http/router.h"
#include "orderflow/http/server.h"
#include "orderflow/observability/logging.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/observability/trace_context.h"
#include "orderflow/testing/auth_tokens.h"
#include "orderflow/testing/support.h"

namespace orderflow::http {
namespace {

using namespace std::chrono_literals;
using orderflow::testing::eventually;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// A gate a handler blocks on until the test opens it.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    cv_.wait(lock, [this] { return open_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard lock(mutex_);
    return waiting_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

/// Value of the series whose line starts with `series` (name{labels}), if present.
std::optional<double> metric_value(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() : metrics_("test") {}

  void SetUp() override {
    router_.add("GET", "/echo", [](const Request& request) {
      nlohmann::json query = nlohmann::json::object();
      for (const auto& [key, value] : request.query) query[key] = value;
      return Response::json(200, {{"path", request.path}, {"query", query}});
    });
    router_.add("POST", "/api/items", [](const Request& request) {
      auto body = parse_json_object(request.body);
      if (!body) return Response::from_error(body.error());
      return Response::json(
          201, {{"received", *body}, {"contentType", request.header("content-type").value_or("")}});
    });
    router_.add("GET", "/api/items/{id}", [](const Request& request) {
      return Response::json(200, {{"id", request.path_param("id")}});
    });
    router_.add("GET", "/boom",
                [](const Request&) -> Response { throw std::runtime_error("handler blew up"); });
    router_.add("GET", "/slow", [this](const Request&) {
      slow_gate_.wait();
      return Response::json(200, {{"slow", true}});
    });
    add_standard_routes(
        router_,
        [this] {
          return Readiness{ready_.load(), {{"db", ready_.load() ? "UP" : "DOWN"}}};
        },
        metrics_);
  }

  void TearDown() override {
    slow_gate_.open();
    if (server_) server_->stop();
  }

  void start(ServerOptions options = {}, std::shared_ptr<spdlog::logger> logger = nullptr) {
    options.host = "127.0.0.1";
    options.port = 0;
    if (!logger) logger = observability::make_logger("http-test", {"warn", "text"});
    server_ = std::make_unique<Server>(options, router_, metrics_, std::move(logger));
    server_->start();
    ASSERT_NE(server_->port(), 0);
  }

  Result<Response> get(const std::string& target) {
    return request("127.0.0.1", server_->port(), "GET", target);
  }

  double connections_accepted() {
    return metric_value(metrics_.serialize(), R"(orderflow_http_connections_total{service="test"})")
        .value_or(0);
  }
  double open_connections() {
    return metric_value(metrics_.serialize(), R"(orderflow_http_open_connections{service="test"})")
        .value_or(0);
  }

  double rejected(const std::string& reason) {
    return metric_value(
               metrics_.serialize(),
               R"(orderflow_http_rejected_total{service="test",reason=")" + reason + R"("})")
        .value_or(0);
  }

  /// Sends raw bytes and reads until the server closes the connection.
  std::string raw_exchange(const std::string& bytes) {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    net::write(socket, net::buffer(bytes));
    std::string reply;
    boost::system::error_code ec;
    net::read(socket, net::dynamic_buffer(reply), ec);
    EXPECT_EQ(ec, net::error::eof);
    return reply;
  }

  observability::Metrics metrics_;
  Router router_;
  Gate slow_gate_;
  std::atomic<bool> ready_{true};
  std::unique_ptr<Server> server_;
};

std::string lower(std::string_view text) {
  std::string out;
  for (char c : text) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

std::optional<std::string> header_of(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (lower(key) == lower(name)) return value;
  }
  return std::nullopt;
}

// The value of header `name` in a raw HTTP reply ("" when absent).
std::string raw_header(const std::string& reply, std::string_view name) {
  auto head = lower(reply.substr(0, reply.find("\r\n\r\n")));
  auto at = head.find("\r\n" + lower(name) + ": ");
  if (at == std::string::npos) return {};
  at += name.size() + 4;
  return reply.substr(at, reply.find("\r\n", at) - at);
}

TEST_F(HttpServerTest, GetAndPostRoundTrip) {
  start();
  auto got = get("/api/items/it%2D7");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(got->body)["id"], "it-7");

  auto posted =
      request("127.0.0.1", server_->port(), "POST", "/api/items", R"({"sku":"A","qty":2})");
  ASSERT_TRUE(posted.ok()) << posted.error().message;
  EXPECT_EQ(posted->status, 201);
  auto body = nlohmann::json::parse(posted->body);
  EXPECT_EQ(body["received"]["qty"], 2);
  EXPECT_EQ(body["contentType"], "application/json");

  auto malformed = request("127.0.0.1", server_->port(), "POST", "/api/items", "{nope");
  ASSERT_TRUE(malformed.ok());
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(nlohmann::json::parse(malformed->body)["error"]["code"], "MALFORMED_JSON");
}

TEST_F(HttpServerTest, QueryStringIsDecoded) {
  start();
  auto got = get("/echo/?name=a%20b&plus=1+2&empty=&flag&enc%3Dkey=v%26w");
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->status, 200);
  auto body = nlohmann::json::parse(got->body);
  EXPECT_EQ(body["path"], "/echo/");
  EXPECT_EQ(body["query"]["name"], "a b");
  EXPECT_EQ(body["query"]["plus"], "1 2");
  EXPECT_EQ(body["query"]["empty"], "");
  EXPECT_EQ(body["query"]["flag"], "");
  EXPECT_EQ(body["query"]["enc=key"], "v&w");
}

TEST_F(HttpServerTest, KeepAliveReusesOneConnection) {
  start();
  Connection connection("127.0.0.1", server_->port());
  for (int i = 0; i < 5; ++i) {
    auto response = connection.request("GET", "/api/items/" + std::to_string(i));
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(nlohmann::json::parse(response->body)["id"], std::to_string(i));
  }
  auto posted = connection.request("POST", "/api/items", R"({"a":1})");
  ASSERT_TRUE(posted.ok());
  EXPECT_EQ(posted->status, 201);
  EXPECT_EQ(connections_accepted(), 1);
}

TEST_F(HttpServerTest, ConnectionReconnectsAfterServerClosedIdleConnection) {
  ServerOptions options;
  options.idle_timeout_ms = 150;
  start(options);
  Connection connection("127.0.0.1", server_->port());
  auto first = connection.request("GET", "/health/live");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(eventually([&] { return open_connections() == 0; }));
  auto second = connection.request("GET", "/health/live");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(connections_accepted(), 2);
}

TEST_F(HttpServerTest, BodyOverLimitIs413) {
  ServerOptions options;
  options.body_limit_bytes = 1024;
  start(options);
  auto response = request("127.0.0.1", server_->port(), "POST", "/api/items",
                          R"({"pad":")" + std::string(64 * 1024, 'x') + R"("})");
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(response->body)["error"]["code"], "PAYLOAD_TOO_LARGE");

  // At the limit is fine.
  std::string body = R"({"pad":")" + std::string(1024 - 10, 'x') + R"("})";
  ASSERT_EQ(body.size(), 1024u);
  auto ok = request("127.0.0.1", server_->port(), "POST", "/api/items", body);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 201);
}

TEST_F(HttpServerTest, UnknownRouteIs404AndWrongMethodIs405) {
  start();
  auto missing = get("/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing->body)["error"]["code"], "ROUTE_NOT_FOUND");

  auto wrong = request("127.0.0.1", server_->port(), "DELETE", "/api/items");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(header_of(*wrong, "Allow"), "POST");
}

TEST_F(HttpServerTest, HandlerExceptionIs500) {
  start();
  auto response = get("/boom");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(nlohmann::json::parse(response->body)["error"]["code"], "INTERNAL");
  EXPECT_TRUE(
      metric_value(
          metrics_.serialize(),
          R"(orderflow_http_requests_total{service="test",method="GET",route="/boom",status="500"})")
          .has_value());
}

// The server logs what the handler threw, for that request only: the cause travels in the
// router's result (it was a thread_local the router set and the server read).
TEST_F(HttpServerTest, HandlerExceptionIsLoggedWithItsRequest) {
  std::ostringstream log;
  auto logger = std::make_shared<spdlog::logger>(
      "http-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_level(spdlog::level::err);
  start({}, logger);
  auto boom = get("/boom");
  ASSERT_TRUE(boom.ok());
  EXPECT_EQ(boom->status, 500);
  auto echo = get("/echo");
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(echo->status, 200);
  server_->stop();
  const auto text = log.str();
  EXPECT_NE(
      text.find(R"(handler failed method=GET path=/boom route=/boom error="handler blew up")"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("handler failed"), text.rfind("handler failed")) << "logged once: " << text;
  EXPECT_EQ(text.find("/echo"), std::string::npos) << text;
}

// W3C trace context (issue 14): the server's span of a request continues the caller's
// traceparent (same trace-id and flags, a span of its own) or starts a new trace without a valid
// one; the handler sees it on Request::traceparent, the response carries it back and the
// request's log line carries its trace_id.
TEST_F(HttpServerTest, TraceparentIsContinuedOrStartedAndReturned) {
  router_.add("GET", "/trace", [](const Request& request) {
    return Response::json(200, {{"traceparent", request.traceparent}});
  });
  std::ostringstream log;
  auto logger = std::make_shared<spdlog::logger>(
      "http-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_level(spdlog::level::debug);
  start({}, logger);
  auto traced = [&](const std::vector<std::pair<std::string, std::string>>& headers) {
    auto got = request("127.0.0.1", server_->port(), "GET", "/trace", "", headers);
    EXPECT_TRUE(got.ok());
    if (!got.ok()) return std::string();
    EXPECT_EQ(got->status, 200);
    auto returned = header_of(*got, "traceparent").value_or("");
    EXPECT_TRUE(observability::parse_traceparent(returned).has_value()) << returned;
    EXPECT_EQ(nlohmann::json::parse(got->body)["traceparent"], returned)
        << "the handler's trace is the one returned";
    return returned;
  };
  const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
  auto continued = traced({{"traceparent", parent}});
  EXPECT_EQ(continued.substr(0, 36), parent.substr(0, 36)) << "the caller's trace";
  EXPECT_NE(continued.substr(36, 16), parent.substr(36, 16)) << "a span of the server's own";
  EXPECT_EQ(continued.substr(52), "-00") << "the caller's flags";

  auto fresh = traced({});
  auto other = traced({});
  EXPECT_NE(fresh.substr(3, 32), other.substr(3, 32)) << "each request without one: a new trace";
  for (const std::string& bad : {std::string("garbage"), "ff" + parent.substr(2),
                                 parent.substr(0, 36) + std::string(16, '0') + "-01"}) {
    auto replaced = traced({{"traceparent", bad}});
    EXPECT_NE(replaced.substr(3, 32), parent.substr(3, 32)) << bad << ": a new trace";
  }
  server_->stop();
  const auto text = log.str();
  EXPECT_NE(text.find("route=/trace status=200"), std::string::npos) << text;
  EXPECT_NE(text.find("trace_id=" + parent.substr(3, 32)), std::string::npos) << text;
  EXPECT_NE(text.find("trace_id=" + fresh.substr(3, 32)), std::string::npos) << text;
}

// Issue 14 item 6: a reply no handler made carries a traceparent too: the server's span of the
// request when its traceparent header was read (413, a 503 for max_in_flight), else a new trace
// (a broken start line, a 503 for max_connections: see that test).
TEST_F(HttpServerTest, RepliesWithoutAHandlerCarryATraceparent) {
  ServerOptions options;
  options.body_limit_bytes = 1024;
  options.threads = 2;
  options.max_in_flight = 1;
  start(options);
  const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto expect_continued = [&](const Result<Response>& got, int status) {
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->status, status);
    auto returned = header_of(*got, "traceparent").value_or("");
    auto child = observability::parse_traceparent(returned);
    ASSERT_TRUE(child.has_value()) << status << ": " << returned;
    EXPECT_EQ(child->trace_id, parent.substr(3, 32)) << status << ": the caller's trace";
    EXPECT_NE(returned, parent) << status << ": a span of the server's own";
  };
  expect_continued(
      request("127.0.0.1", server_->port(), "POST", "/api/items",
              R"({"pad":")" + std::string(64 * 1024, 'x') + R"("})", {{"traceparent", parent}}),
      413);
  auto port = server_->port();
  auto slow = std::async(std::launch::async, [port] {
    return request("127.0.0.1", port, "GET", "/slow", {}, {}, 10s);
  });
  ASSERT_TRUE(eventually([&] { return slow_gate_.waiting() == 1; }));
  expect_continued(request("127.0.0.1", port, "GET", "/slow", {}, {{"traceparent", parent}}), 503);
  slow_gate_.open();
  ASSERT_TRUE(slow.get().ok());

  // Refused while reading the headers: a traceparent already parsed is continued, else (here, a
  // broken start line) a new trace starts.
  auto malformed = raw_header(
      raw_exchange("THIS IS NOT HTTP\r\ntraceparent: " + parent + "\r\n\r\n"), "traceparent");
  EXPECT_TRUE(observability::parse_traceparent(malformed).has_value()) << malformed;
  EXPECT_NE(observability::trace_id_of(malformed), parent.substr(3, 32)) << "a new trace";
  auto oversized = raw_exchange(
      "GET /api/items/1 HTTP/1.1\r\nX-Pad: " + std::string(16 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(oversized.rfind("HTTP/1.1 431", 0), 0u);
  EXPECT_TRUE(observability::parse_traceparent(raw_header(oversized, "traceparent")).has_value())
      << oversized.substr(0, 300);
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  start();
  auto reply = raw_exchange("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  auto body_start = reply.find("\r\n\r\n");
  ASSERT_NE(body_start, std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(reply.substr(body_start + 4))["error"]["code"],
            "MALFORMED_REQUEST");
}

// Issue 12 "Bad input": headers beyond the parser's limit (8 KiB) are refused 431 with the JSON
// error body, before any route or authentication runs.
TEST_F(HttpServerTest, OversizedHeadersAre431) {
  ServerOptions options;
  options.auth = orderflow::testing::test_auth_config();
  start(options);
  auto reply = raw_exchange("GET /api/items/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                            std::string(16 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 200);
  auto body_start = reply.find("\r\n\r\n");
  ASSERT_NE(body_start, std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(reply.substr(body_start + 4))["error"]["code"],
            "HEADERS_TOO_LARGE");
}

// Issue 12: with auth.mode required the server authenticates every route but /health/* and
// /metrics; a missing or bad token is 401 with the bearer challenge and the JSON error body.
TEST_F(HttpServerTest, RequiredAuthLeavesHealthAndMetricsOpen) {
  ServerOptions options;
  options.auth = orderflow::testing::test_auth_config();
  start(options);
  EXPECT_EQ(get("/health/live")->status, 200);
  EXPECT_EQ(get("/health/ready")->status, 200);
  EXPECT_EQ(get("/metrics")->status, 200);
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {}, {orderflow::testing::bearer(orderflow::testing::badly_signed_token("7"))}}) {
    auto refused = request("127.0.0.1", server_->port(), "GET", "/api/items/1", "", headers);
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->status, 401);
    EXPECT_EQ(header_of(*refused, "WWW-Authenticate"), R"(Bearer error="invalid_token")");
    EXPECT_TRUE(nlohmann::json::parse(refused->body)["error"].contains("code"));
  }
  auto ok = request("127.0.0.1", server_->port(), "GET", "/api/items/1", "",
                    {orderflow::testing::bearer(orderflow::testing::test_token("7"))});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200) << ok->body;
}

// Issue 14: GET /openapi.json serves the description as it is, application/json, and is open
// like /health/* (a client reads it before it has a token).
TEST_F(HttpServerTest, OpenApiRouteServesTheDescriptionWithoutAToken) {
  const std::string spec = R"({"openapi":"3.0.3","paths":{}})";
  add_openapi_route(router_, spec);
  ServerOptions options;
  options.auth = orderflow::testing::test_auth_config();
  start(options);
  auto reply = get("/openapi.json");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(header_of(*reply, "Content-Type"), "application/json");
  EXPECT_EQ(reply->body, spec);
}

TEST_F(HttpServerTest, Http10RequestIsAnsweredAndClosed) {
  start();
  auto reply = raw_exchange("GET /health/live HTTP/1.0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.0 200", 0), 0u) << reply;
  EXPECT_NE(reply.find(R"({"status":"UP"})"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimResponse) {
  start();
  net::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  const std::string body = R"({"a":1})";
  net::write(socket, net::buffer("POST /api/items HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                 "Expect: 100-continue\r\nContent-Type: application/json\r\n"
                                 "Content-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n"));
  std::string interim;
  net::read_until(socket, net::dynamic_buffer(interim), "\r\n\r\n");
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue", 0), 0u) << interim;
  net::write(socket, net::buffer(body));
  std::string reply;
  boost::system::error_code ec;
  net::read(socket, net::dynamic_buffer(reply), ec);
  reply = interim + reply;
  EXPECT_NE(reply.find("HTTP/1.1 201"), std::string::npos) << reply;
  EXPECT_NE(reply.find(R"("received":{"a":1})"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  auto reply = raw_exchange(
      "GET /api/items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /api/items/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto first = reply.find(R"({"id":"1"})");
  auto second = reply.find(R"({"id":"2"})");
  ASSERT_NE(first, std::string::npos) << reply;
  ASSERT_NE(second, std::string::npos) << reply;
  EXPECT_LT(first, second);
}

TEST_F(HttpServerTest, IncompleteRequestIsDisconnectedAfterReadTimeout) {
  ServerOptions options;
  options.read_timeout_ms = 200;
  start(options);
  net::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  net::write(socket, net::buffer(std::string("GET /health/live HTTP/1.1\r\nHost: x\r\n")));
  auto sent = std::chrono::steady_clock::now();
  socket.non_blocking(true);
  bool closed = eventually(
      [&] {
        char byte;
        boost::system::error_code ec;
        socket.read_some(net::buffer(&byte, 1), ec);
        return ec && ec != net::error::would_block && ec != net::error::try_again;
      },
      5s);
  EXPECT_TRUE(closed);
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 150ms);
}

TEST_F(HttpServerTest, GracefulStopLetsInFlightRequestFinish) {
  start();
  auto port = server_->port();
  auto slow = std::async(std::launch::async, [port] {
    return request("127.0.0.1", port, "GET", "/slow", {}, {}, 10s);
  });
  ASSERT_TRUE(eventually([&] { return slow_gate_.waiting() == 1; }));

  auto stopped = std::async(std::launch::async, [this] { server_->stop(); });
  // The listener goes away while the slow request is still in progress.
  ASSERT_TRUE(eventually([&] {
    auto probe = request("127.0.0.1", port, "GET", "/health/live", {}, {}, 500ms);
    return !probe.ok();
  }));
  EXPECT_EQ(stopped.wait_for(0s), std::future_status::timeout);

  slow_gate_.open();
  auto response = slow.get();
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(nlohmann::json::parse(response->body)["slow"], true);
  stopped.get();
  server_->stop();  // idempotent
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnectionsPromptly) {
  start();
  Connection connection("127.0.0.1", server_->port());
  ASSERT_TRUE(connection.request("GET", "/health/live").ok());
  auto started = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  auto after = connection.request("GET", "/health/live", {}, {}, 1s);
  EXPECT_FALSE(after.ok());
}

TEST_F(HttpServerTest, HealthAndMetricsRoutes) {
  start();
  auto live = get("/health/live");
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(nlohmann::json::parse(live->body)["status"], "UP");

  auto ready = get("/health/ready");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(nlohmann::json::parse(ready->body)["details"]["db"], "UP");

  ready_ = false;
  auto not_ready = get("/health/ready");
  ASSERT_TRUE(not_ready.ok());
  EXPECT_EQ(not_ready->status, 503);
  auto body = nlohmann::json::parse(not_ready->body);
  EXPECT_EQ(body["status"], "DOWN");
  EXPECT_EQ(body["details"]["db"], "DOWN");

  ASSERT_EQ(get("/nope")->status, 404);
  auto scraped = get("/metrics");
  ASSERT_TRUE(scraped.ok());
  EXPECT_EQ(scraped->status, 200);
  EXPECT_EQ(scraped->content_type.rfind("text/plain", 0), 0u) << scraped->content_type;
  const auto& text = scraped->body;
  EXPECT_NE(text.find("orderflow_http_requests_total"), std::string::npos) << text;
  EXPECT_EQ(
      metric_value(
          text,
          R"(orderflow_http_requests_total{service="test",method="GET",route="/health/ready",status="503"})"),
      1.0)
      << text;
  EXPECT_EQ(
      metric_value(
          text,
          R"(orderflow_http_requests_total{service="test",method="GET",route="unmatched",status="404"})"),
      1.0)
      << text;
  EXPECT_NE(text.find("orderflow_http_request_seconds_bucket"), std::string::npos) << text;
}

void expect_overloaded(const Result<Response>& response) {
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(header_of(*response, "Retry-After"), "1");
  EXPECT_EQ(nlohmann::json::parse(response->body)["error"]["code"], "OVERLOADED") << response->body;
}

TEST_F(HttpServerTest, ConnectionBeyondMaxConnectionsIsAnswered503AndClosed) {
  ServerOptions options;
  options.max_connections = 2;
  options.read_timeout_ms = 2000;  // without the limit the raw read below ends by this timeout
  start(options);
  Connection first("127.0.0.1", server_->port());
  auto second = std::make_unique<Connection>("127.0.0.1", server_->port());
  ASSERT_EQ(first.request("GET", "/health/live")->status, 200);
  ASSERT_EQ(second->request("GET", "/health/live")->status, 200);
  ASSERT_TRUE(eventually([&] { return open_connections() == 2; }));

  // The third connection is answered before it sends anything, then closed by the server.
  net::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  std::string reply;
  boost::system::error_code ec;
  auto connected = std::chrono::steady_clock::now();
  net::read(socket, net::dynamic_buffer(reply), ec);
  EXPECT_EQ(ec, net::error::eof);
  EXPECT_LT(std::chrono::steady_clock::now() - connected, 1500ms);
  EXPECT_EQ(reply.rfind("HTTP/1.1 503", 0), 0u) << reply;
  EXPECT_NE(lower(reply).find("retry-after: 1\r\n"), std::string::npos) << reply;
  EXPECT_NE(lower(reply).find("connection: close\r\n"), std::string::npos) << reply;
  auto body_start = reply.find("\r\n\r\n");
  ASSERT_NE(body_start, std::string::npos) << reply;
  EXPECT_EQ(nlohmann::json::parse(reply.substr(body_start + 4))["error"]["code"], "OVERLOADED");
  EXPECT_TRUE(observability::parse_traceparent(raw_header(reply, "traceparent")).has_value())
      << "a new trace (issue 14): " << reply;

  // A client that sends its request (even a large body) still reads the 503, not a reset.
  expect_overloaded(get("/health/live"));
  expect_overloaded(request("127.0.0.1", server_->port(), "POST", "/api/items",
                            R"({"pad":")" + std::string(256 * 1024, 'x') + R"("})"));
  EXPECT_EQ(rejected("connections"), 3);
  EXPECT_EQ(connections_accepted(), 2);

  // The connections within the limit are unaffected, and a closed one frees its slot.
  EXPECT_EQ(first.request("GET", "/health/live")->status, 200);
  second.reset();
  EXPECT_TRUE(eventually([&] {
    auto response = get("/health/live");
    return response.ok() && response->status == 200;
  }));
  EXPECT_TRUE(eventually([&] { return open_connections() == 1; }));
}

TEST_F(HttpServerTest, RequestBeyondMaxInFlightIsAnswered503WithoutRunningItsHandler) {
  ServerOptions options;
  options.threads = 2;
  options.max_in_flight = 1;
  start(options);
  auto port = server_->port();
  auto slow = std::async(std::launch::async, [port] {
    return request("127.0.0.1", port, "GET", "/slow", {}, {}, 10s);
  });
  ASSERT_TRUE(eventually([&] { return slow_gate_.waiting() == 1; }));

  Connection connection("127.0.0.1", port);
  expect_overloaded(connection.request("GET", "/slow"));
  EXPECT_EQ(slow_gate_.waiting(), 1);  // the refused request's handler did not run
  EXPECT_EQ(rejected("in_flight"), 1);
  EXPECT_EQ(
      metric_value(
          metrics_.serialize(),
          R"(orderflow_http_requests_total{service="test",method="GET",route="unmatched",status="503"})"),
      1.0);

  slow_gate_.open();
  auto finished = slow.get();
  ASSERT_TRUE(finished.ok()) << finished.error().message;
  EXPECT_EQ(finished->status, 200);
  // The refusal kept the connection open: the retry uses it and succeeds.
  auto retried = connection.request("GET", "/health/live");
  ASSERT_TRUE(retried.ok()) << retried.error().message;
  EXPECT_EQ(retried->status, 200);
  EXPECT_EQ(connections_accepted(), 2);
  EXPECT_EQ(rejected("in_flight"), 1);
}

// Found by `make test-asan`: the in-flight slot was released only after the response had been
// handed to the socket, so a request sent as soon as the previous one's response arrived (on
// another connection, served by another thread) could be refused 503 with no handler running.
TEST_F(HttpServerTest, AnsweredRequestNoLongerCountsAgainstMaxInFlight) {
  ServerOptions options;
  options.threads = 2;
  options.max_in_flight = 1;
  start(options);
  Connection first("127.0.0.1", server_->port());
  Connection second("127.0.0.1", server_->port());
  for (int i = 0; i < 300; ++i) {
    auto a = first.request("GET", "/health/live");
    ASSERT_TRUE(a.ok()) << a.error().message;
    ASSERT_EQ(a->status, 200) << "request " << i;
    auto b = second.request("GET", "/health/live");
    ASSERT_TRUE(b.ok()) << b.error().message;
    ASSERT_EQ(b->status, 200) << "request " << i;
  }
  EXPECT_EQ(rejected("in_flight"), 0);
}

TEST(HttpClientTest, UnreachableServerIsUnavailable) {
  // Bind a port and close it so nothing listens there.
  std::uint16_t port;
  {
    net::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }
  auto response = request("127.0.0.1", port, "GET", "/", {}, {}, 1s);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::kUnavailable);
}

TEST(HttpClientTest, SilentServerTimesOut) {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  auto started = std::chrono::steady_clock::now();
  auto response = request("127.0.0.1", acceptor.local_endpoint().port(), "GET", "/", {}, {}, 300ms);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(response.error().code, "HTTP_TIMEOUT");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

}  // namespace
}  // namespace orderflow::http
