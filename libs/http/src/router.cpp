#include "orderflow/http/router.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <set>
#include <string_view>
#include <utility>

namespace orderflow::http {

namespace {

// Empty segments are dropped, which makes "/a/b/", "/a/b" and "/a//b" the same path.
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    if (next > pos) segments.emplace_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return segments;
}

bool is_param(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// "{name...}": the rest of the path (one segment or more), only as a pattern's last segment.
bool is_tail(const std::string& segment) {
  return is_param(segment) && segment.size() > 5 && segment.ends_with("...}");
}

bool has_tail(const std::vector<std::string>& pattern) {
  return !pattern.empty() && is_tail(pattern.back());
}

std::string param_name(const std::string& segment) {
  return segment.substr(1, segment.size() - (is_tail(segment) ? 5 : 2));
}

bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& path) {
  if (has_tail(pattern) ? path.size() < pattern.size() : pattern.size() != path.size()) {
    return false;
  }
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (!is_param(pattern[i]) && pattern[i] != path[i]) return false;
  }
  return true;
}

// Past a matching tail pattern's own segments, its tail covers the rest of the path.
bool param_at(const std::vector<std::string>& pattern, std::size_t i) {
  return i >= pattern.size() || is_param(pattern[i]);
}

// For two patterns matching one path: `a` has a literal segment where `b` has a parameter at
// the first position where they differ so, e.g. "/orders/search" over "/orders/{id}".
bool more_literal(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    bool a_param = param_at(a, i);
    bool b_param = param_at(b, i);
    if (a_param != b_param) return !a_param;
  }
  return false;
}

// The more literal pattern wins whatever the registration order; between patterns alike so, one
// of exactly the path's length beats a "{name...}" tail.
bool more_specific(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (more_literal(a, b)) return true;
  if (more_literal(b, a)) return false;
  return !has_tail(a) && has_tail(b);
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler, Access access) {
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  auto segments = split_path(pattern);
  routes_.push_back(Route{std::move(method), std::move(pattern), std::move(segments),
                          std::move(handler), access});
}

Dispatched Router::dispatch(Request& request, const Authenticator* auth) const {
  auto path = split_path(request.path);
  // The path is the resource its most literal patterns name, whatever their methods: GET
  // /api/dlq/replay is 405 on POST /api/dlq/replay, not GET /api/dlq/{id} with id "replay".
  const Route* top = nullptr;
  for (const auto& candidate : routes_) {
    if (matches(candidate.segments, path) &&
        (top == nullptr || more_literal(candidate.segments, top->segments))) {
      top = &candidate;
    }
  }
  const Route* best = nullptr;
  std::set<std::string> allowed;
  for (const auto& candidate : routes_) {
    if (top == nullptr || !matches(candidate.segments, path) ||
        more_literal(top->segments, candidate.segments)) {
      continue;
    }
    if (candidate.method != request.method) {
      allowed.insert(candidate.method);
      continue;
    }
    if (best == nullptr || more_specific(candidate.segments, best->segments)) best = &candidate;
  }

  Dispatched out;
  if (best == nullptr) {
    if (allowed.empty()) {
      out.response = Response::error(404, "ROUTE_NOT_FOUND", "no route for " + request.path);
      return out;
    }
    std::string allow;
    for (const auto& method : allowed) {
      if (!allow.empty()) allow += ", ";
      allow += method;
    }
    out.response = Response::error(405, "METHOD_NOT_ALLOWED",
                                   request.method + " is not allowed on " + request.path);
    out.response.headers.emplace_back("Allow", allow);
    return out;
  }

  out.route = best->pattern;
  request.path_params.clear();
  for (std::size_t i = 0; i < best->segments.size(); ++i) {
    const auto& segment = best->segments[i];
    if (i + 1 == best->segments.size() && is_tail(segment)) {
      std::string rest = path[i];
      for (std::size_t j = i + 1; j < path.size(); ++j) rest += "/" + path[j];
      request.path_params[param_name(segment)] = std::move(rest);
    } else if (is_param(segment)) {
      request.path_params[param_name(segment)] = path[i];
    }
  }
  // Whatever the client put in the request, only a verified token names the caller.
  request.principal.reset();
  if (auth != nullptr) {
    auto caller = auth->authenticate(request.header("Authorization"), best->access);
    if (!caller) {
      out.response = Response::from_error(caller.error());
      if (caller.error().kind == ErrorKind::kForbidden) {
        out.response.headers.emplace_back("WWW-Authenticate",
                                          R"(Bearer error="insufficient_scope")");
      }
      return out;
    }
    request.principal = std::move(caller).value();
  }
  try {
    out.response = best->handler(request);
    return out;
  } catch (const std::exception& e) {
    out.handler_error = e.what();
  } catch (...) {
    out.handler_error = "unknown exception";
  }
  // An empty what() still has to reach the log as a failure.
  if (out.handler_error.empty()) out.handler_error = "exception without a message";
  out.response = Response::error(500, "INTERNAL", "internal error");
  return out;
}

}  // namespace orderflow::http
