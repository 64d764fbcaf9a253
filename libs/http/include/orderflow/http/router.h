#pragma once

#include <functional>
#include <string>
#include <vector>

#include "orderflow/http/types.h"

namespace orderflow::http {

using Handler = std::function<Response(const Request&)>;

/// Maps (method, path pattern) to handlers. Patterns are literal segments and `{name}`
/// parameters, e.g. "/api/orders/{id}". Thread-safe for dispatch once routes are added.
class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);

  /// Dispatches `request` (fills path_params). Unknown path → 404 ROUTE_NOT_FOUND; known path
  /// with another method → 405 METHOD_NOT_ALLOWED with an Allow header. A handler that throws
  /// gives 500 INTERNAL (logged by the server). `route` receives the matched pattern (metric
  /// label) or "unmatched".
  Response dispatch(Request& request, std::string& route) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace orderflow::http
