#include "orderflow/http/client.h"

#include <optional>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace orderflow::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t kMaxResponseBody = 64ULL * 1024 * 1024;

using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;

BeastRequest build_request(const std::string& host, std::uint16_t port, const std::string& method,
                           const std::string& target, const std::string& body,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           bool keep_alive) {
  BeastRequest request;
  request.version(11);
  request.method_string(method);
  request.target(target);
  request.set(bhttp::field::host, host + ":" + std::to_string(port));
  request.set(bhttp::field::user_agent, "orderflow-http-client");
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    if (beast::iequals(name, "content-type")) has_content_type = true;
    request.insert(name, value);
  }
  if (!body.empty() && !has_content_type)
    request.set(bhttp::field::content_type, "application/json");
  request.body() = body;
  request.keep_alive(keep_alive);
  request.prepare_payload();
  return request;
}

Response to_response(const BeastResponse& message) {
  Response response;
  response.status = static_cast<int>(message.result_int());
  response.body = message.body();
  response.content_type.clear();
  for (const auto& field : message) {
    if (field.name() == bhttp::field::content_type)
      response.content_type = std::string(field.value());
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return response;
}

Error transport_error(const std::string& host, std::uint16_t port, const char* stage,
                      const beast::error_code& ec) {
  std::string where = host + ":" + std::to_string(port);
  if (ec == beast::error::timeout) {
    return unavailable("HTTP_TIMEOUT", std::string(stage) + " " + where + " timed out");
  }
  return unavailable("HTTP_UNAVAILABLE", std::string(stage) + " " + where + ": " + ec.message());
}

beast::error_code connect(net::io_context& ioc, beast::tcp_stream& stream, const std::string& host,
                          std::uint16_t port, Clock::time_point deadline) {
  beast::error_code result;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(host, std::to_string(port), result);
  if (result) return result;
  stream.expires_at(deadline);
  stream.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

struct Exchange {
  beast::error_code ec;
  bool received_any = false;
  BeastResponse response;
};

// Runs the async operations to completion on `ioc`: Beast's stream timeouts only apply to
// asynchronous operations.
Exchange exchange(net::io_context& ioc, beast::tcp_stream& stream, beast::flat_buffer& buffer,
                  BeastRequest& request, Clock::time_point deadline) {
  Exchange result;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  stream.expires_at(deadline);
  bhttp::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
    if (ec) {
      result.ec = ec;
      return;
    }
    bhttp::async_read(stream, buffer, parser,
                      [&](beast::error_code read_ec, std::size_t) { result.ec = read_ec; });
  });
  ioc.restart();
  ioc.run();
  result.received_any = parser.got_some();
  if (!result.ec) result.response = parser.release();
  return result;
}

}  // namespace

Result<Response> request(const std::string& host, std::uint16_t port, const std::string& method,
                         const std::string& target, const std::string& body,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  if (auto ec = connect(ioc, stream, host, port, deadline)) {
    return transport_error(host, port, "connect to", ec);
  }
  auto message = build_request(host, port, method, target, body, headers, /*keep_alive=*/false);
  beast::flat_buffer buffer;
  auto result = exchange(ioc, stream, buffer, message, deadline);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (result.ec) return transport_error(host, port, "request to", result.ec);
  return to_response(result.response);
}

// Retry policy: a request on a reused connection that fails before any byte of a response
// arrived (write error, EOF, reset) is sent once more on a fresh connection. That is the
// server having closed an idle keep-alive connection, so the request was not processed; it is
// always safe for idempotent requests. A timeout or a partial response is never retried.
class Connection::Impl {
 public:
  Impl(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port) {}

  Result<Response> request(const std::string& method, const std::string& target,
                           const std::string& body,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    auto message = build_request(host_, port_, method, target, body, headers, /*keep_alive=*/true);
    bool reused = stream_.has_value();
    if (!reused) {
      if (auto ec = open(deadline)) return transport_error(host_, port_, "connect to", ec);
    }
    auto result = exchange(ioc_, *stream_, buffer_, message, deadline);
    if (result.ec && reused && !result.received_any && result.ec != beast::error::timeout) {
      reset();
      if (auto ec = open(deadline)) return transport_error(host_, port_, "connect to", ec);
      result = exchange(ioc_, *stream_, buffer_, message, deadline);
    }
    if (result.ec) {
      reset();
      return transport_error(host_, port_, "request to", result.ec);
    }
    if (!result.response.keep_alive()) reset();
    return to_response(result.response);
  }

 private:
  beast::error_code open(Clock::time_point deadline) {
    stream_.emplace(ioc_);
    buffer_.clear();
    auto ec = connect(ioc_, *stream_, host_, port_, deadline);
    if (ec) reset();
    return ec;
  }

  void reset() {
    if (stream_) {
      beast::error_code ignored;
      stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_->close();
    }
    stream_.reset();
    buffer_.clear();
  }

  std::string host_;
  std::uint16_t port_;
  net::io_context ioc_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

Connection::Connection(std::string host, std::uint16_t port)
    : impl_(std::make_unique<Impl>(std::move(host), port)) {}

Connection::~Connection() = default;

Result<Response> Connection::request(
    const std::string& method, const std::string& target, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers,
    std::chrono::milliseconds timeout) {
  return impl_->request(method, target, body, headers, timeout);
}

}  // namespace orderflow::http
