#pragma once

#include <functional>
#include <string>
#include <vector>

#include "orderflow/http/types.h"

namespace orderflow::http {

using Handler = std::function<Response(const Request&)>;

/// What Router::dispatch produced for one request.
struct Dispatched {
  Response response;
  /// The matched pattern (the metric label), or "unmatched".
  std::string route = "unmatched";
  /// What the handler threw (what(), or "unknown exception"), for the server's log; empty when
  /// no handler threw. Never sent to the client: the response is then 500 INTERNAL without it.
  std::string handler_error;
};

/// Maps (method, path pattern) to handlers. Patterns are literal segments and `{name}`
/// parameters, e.g. "/api/orders/{id}", and may end with a `{name...}` tail that takes the rest
/// of the path (one segment or more, joined by '/', empty segments dropped), e.g.
/// "/svc/{service}/{path...}". Where two patterns match, a literal segment beats a parameter at
/// the first position they differ, and an exact-length pattern beats a tail. The literal rule
/// holds across methods: a path a literal route matches is that route's resource, so another
/// method there is 405 (Allow: the literal route's methods) rather than a parameter route of
/// that method (GET /api/dlq/replay with POST /api/dlq/replay and GET /api/dlq/{id}).
/// Thread-safe for dispatch once routes are added.
class Router {
 public:
  /// `access` is what the route asks of its caller when the server authenticates (auth.mode
  /// optional or required); routes are kUser unless said otherwise.
  void add(std::string method, std::string pattern, Handler handler, Access access = Access::kUser);

  /// Dispatches `request` (fills path_params) and returns the response with the matched
  /// route. Unknown path → 404 ROUTE_NOT_FOUND; known path with another method → 405
  /// METHOD_NOT_ALLOWED with an Allow header. With `auth`, the route's access is checked
  /// before its handler runs (which sets request.principal): 401 MISSING_TOKEN/INVALID_TOKEN
  /// with WWW-Authenticate: Bearer error="invalid_token", 403 ADMIN_REQUIRED with
  /// error="insufficient_scope"; the handler does not run then. A handler that throws gives
  /// 500 INTERNAL, and what it threw comes back in Dispatched::handler_error (the server logs
  /// it).
  [[nodiscard]] Dispatched dispatch(Request& request, const Authenticator* auth = nullptr) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    Access access;
  };
  std::vector<Route> routes_;
};

}  // namespace orderflow::http
