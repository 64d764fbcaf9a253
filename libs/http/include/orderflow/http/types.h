#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "orderflow/common/result.h"
#include "orderflow/http/auth.h"

namespace orderflow::http {

/// A parsed HTTP request, independent of the server library.
struct Request {
  std::string method;                              ///< "GET", "POST", …
  std::string path;                                ///< decoded path without the query string
  std::map<std::string, std::string> query;        ///< decoded query parameters
  std::map<std::string, std::string> path_params;  ///< filled by the router ("{id}")
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// The caller of a route with a verified bearer token (set by Router::dispatch); nullopt for
  /// an anonymous request (auth.mode none, an open route, or optional without a token).
  std::optional<Principal> principal;
  /// The W3C traceparent of this request's handling (set by Server): a child span of the
  /// caller's `traceparent` header, or a new trace when it has none or an invalid one
  /// (observability/trace_context.h). The response carries it back in its `traceparent` header,
  /// and the events a handler produces carry it. Empty when dispatched without a Server (the
  /// events then start a new trace).
  std::string traceparent;

  /// Case-insensitive header lookup.
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
  [[nodiscard]] std::optional<std::string> query_param(const std::string& name) const;
  [[nodiscard]] std::string path_param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  /// JSON body with the given status.
  static Response json(int status, const nlohmann::json& body);
  /// `{"error":{"code":…,"message":…}}` with the given status.
  static Response error(int status, std::string_view code, std::string_view message);
  /// The error body with the status for its kind: 400 kInvalidInput, 401 kUnauthenticated
  /// (with WWW-Authenticate: Bearer error="invalid_token"), 403 kForbidden, 404 kNotFound,
  /// 409 kConflict, 422 kUnprocessable, 503 kUnavailable (with Retry-After: 1), 500 kInternal.
  static Response from_error(const Error& error);
};

/// 503 {"error":{"code":"DRAINING",…}} with Retry-After: 1 — a write refused while the service
/// drains before stopping.
Response draining();

/// 503 {"error":{"code":"OVERLOADED","message":`message`}} with Retry-After: 1 — refused
/// because a capacity limit is reached (connections, requests in flight, outbox backlog); the
/// request had no effect and the client should retry after the delay (with backoff).
Response overloaded(std::string_view message);

/// A whole base-10 integer ("42", "-7"); nullopt for anything else (spaces, "4x", "", overflow).
std::optional<std::int64_t> parse_int(std::string_view text);

/// An identifier a client names (a user id from a body, the X-User-Id header or a `userId`
/// query parameter; an item's sku): 1 to 128 bytes of valid UTF-8 without control characters
/// (U+0000–U+001F, U+007F), so it is stored, published and shown as the same text everywhere.
/// kInvalidInput INVALID_FIELD naming `field` otherwise. Pure.
Result<void> check_identifier(std::string_view text, std::string_view field);

/// The user a list request is about. With a token: its `sub`; a `userId` query parameter
/// naming someone else is kForbidden USER_MISMATCH, except for an admin, who may ask for any
/// user. Anonymous: the `userId` query parameter, else the X-User-Id header; kInvalidInput
/// MISSING_USER when neither is given. A query parameter or header used is checked as
/// check_identifier does (kInvalidInput INVALID_FIELD).
Result<std::string> require_user_id(const Request& request);

/// Whether the caller may see a record of `owner`: anonymous requests (no token, as before
/// authentication existed), admins and the owner may; other callers get the record's 404.
bool may_access(const Request& request, std::string_view owner);

/// The user a request without a body user acts for: the token's `sub`, else the X-User-Id
/// header (nullopt when absent or empty). A header that fails check_identifier is kInvalidInput
/// INVALID_FIELD, even when the body names the user: it is never stored or ignored silently.
Result<std::optional<std::string>> caller_user_id(const Request& request);

/// A write naming `user` (e.g. the body's userId): kForbidden USER_MISMATCH when a token is
/// present and its `sub` is another user (admins included: they act as themselves).
Result<void> check_acting_user(const Request& request, std::string_view user);

/// Page parameters of a list request.
struct PageRequest {
  int page = 0;
  int size = 20;
};

/// Reads `page` (default 0, 0..1000000) and `size` (default 20, 1..max_size; larger is clamped)
/// from the query. kInvalidInput INVALID_PAGE otherwise.
Result<PageRequest> parse_page(const Request& request, int max_size = 100);

/// Fills request.path (percent-decoded) and request.query (percent-decoded, '+' as space; the
/// last of repeated keys wins) from a request target "/path?a=1&b". Invalid escapes are kept
/// literally. Never fails.
void apply_target(std::string_view target, Request& request);

/// `text` with every invalid UTF-8 sequence replaced by U+FFFD: record keys, values and headers
/// are whatever a producer wrote, and what an API shows of them must be text. Pure.
std::string printable(std::string_view text);

/// `text` percent-encoded for a request target: every byte except unreserved characters
/// (A-Z a-z 0-9 - . _ ~) and, with `keep_slash`, '/' (a path rather than one query item). Pure.
std::string percent_encode(std::string_view text, bool keep_slash);

/// HTTP status for an ErrorKind (see Response::from_error).
int status_for(ErrorKind kind);

/// Parses a JSON request body. kInvalidInput "MALFORMED_JSON" when it is not JSON, and
/// "INVALID_BODY" when it is not an object.
Result<nlohmann::json> parse_json_object(std::string_view body);

}  // namespace orderflow::http
