#include "orderflow/http/types.h"

#include <algorithm>
#include <charconv>

#include <cctype>
#include <string>

namespace orderflow::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// dump() throws on invalid UTF-8 by default; a response must never fail to serialize.
std::string dump(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Invalid escapes are kept literally rather than rejected: lookups then simply miss.
std::string percent_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_as_space && c == '+' ? ' ' : c);
  }
  return out;
}

void parse_query(std::string_view query, std::map<std::string, std::string>& out) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    auto pair = query.substr(pos, end - pos);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      auto key = percent_decode(pair.substr(0, eq), true);
      auto value =
          eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1), true);
      out.insert_or_assign(std::move(key), std::move(value));
    }
    pos = end + 1;
  }
}

}  // namespace

std::string printable(std::string_view text) {
  return nlohmann::json::parse(dump(nlohmann::json(std::string(text)))).get<std::string>();
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

void apply_target(std::string_view target, Request& request) {
  auto question = target.find('?');
  request.path = percent_decode(target.substr(0, question), false);
  if (question != std::string_view::npos) parse_query(target.substr(question + 1), request.query);
}

std::optional<std::string> Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::optional<std::string> Request::query_param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::string Request::path_param(const std::string& name) const {
  auto it = path_params.find(name);
  return it == path_params.end() ? std::string{} : it->second;
}

Response Response::json(int status, const nlohmann::json& body) {
  Response response;
  response.status = status;
  response.body = dump(body);
  return response;
}

Response Response::error(int status, std::string_view code, std::string_view message) {
  return json(status, {{"error", {{"code", code}, {"message", message}}}});
}

Response Response::from_error(const Error& error) {
  int status = status_for(error.kind);
  Response response = Response::error(status, error.code, error.message);
  if (status == 503) response.headers.emplace_back("Retry-After", "1");
  if (status == 401) {
    response.headers.emplace_back("WWW-Authenticate", R"(Bearer error="invalid_token")");
  }
  return response;
}

int status_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return 400;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kConflict:
      return 409;
    case ErrorKind::kUnprocessable:
      return 422;
    case ErrorKind::kUnavailable:
      return 503;
    case ErrorKind::kInternal:
      return 500;
    case ErrorKind::kUnauthenticated:
      return 401;
    case ErrorKind::kForbidden:
      return 403;
  }
  return 500;
}

Result<nlohmann::json> parse_json_object(std::string_view body) {
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  } catch (const std::exception& e) {
    return invalid_input("MALFORMED_JSON",
                         std::string("request body is not valid JSON: ") + e.what());
  }
  if (parsed.is_discarded()) {
    return invalid_input("MALFORMED_JSON", "request body is not valid JSON");
  }
  if (!parsed.is_object()) {
    return invalid_input("INVALID_BODY", "request body must be a JSON object");
  }
  return parsed;
}

Response draining() {
  auto r = Response::error(503, "DRAINING", "the service is shutting down");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

Response overloaded(std::string_view message) {
  auto r = Response::error(503, "OVERLOADED", message);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<void> check_identifier(std::string_view text, std::string_view field) {
  // printable() changes exactly the invalid UTF-8 sequences.
  bool valid = !text.empty() && text.size() <= 128 && printable(text) == text &&
               std::none_of(text.begin(), text.end(), [](char c) {
                 return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
               });
  if (valid) return {};
  return invalid_input("INVALID_FIELD",
                       "'" + std::string(field) +
                           "' must be 1 to 128 bytes of UTF-8 text without control characters");
}

Result<std::string> require_user_id(const Request& request) {
  if (request.principal) {
    auto asked = request.query_param("userId");
    if (!asked || asked->empty() || *asked == request.principal->user_id) {
      return request.principal->user_id;
    }
    if (!request.principal->is_admin()) {
      return forbidden("USER_MISMATCH", "userId does not match the token's subject");
    }
    if (auto checked = check_identifier(*asked, "userId"); !checked) return checked.error();
    return *asked;
  }
  std::optional<std::string> user;
  if (auto query = request.query_param("userId")) {
    // An empty parameter is a missing user, not a reason to read the header.
    if (!query->empty()) {
      if (auto checked = check_identifier(*query, "userId"); !checked) return checked.error();
      user = std::move(query);
    }
  } else {
    auto header = caller_user_id(request);
    if (!header) return header.error();
    user = std::move(header).value();
  }
  if (!user) {
    return invalid_input("MISSING_USER", "userId query parameter or X-User-Id header is required");
  }
  return *user;
}

bool may_access(const Request& request, std::string_view owner) {
  return !request.principal || request.principal->is_admin() || request.principal->user_id == owner;
}

Result<std::optional<std::string>> caller_user_id(const Request& request) {
  if (request.principal) return std::optional<std::string>(request.principal->user_id);
  auto header = request.header("X-User-Id");
  if (!header || header->empty()) return std::optional<std::string>();
  if (auto checked = check_identifier(*header, "X-User-Id"); !checked) return checked.error();
  return header;
}

Result<void> check_acting_user(const Request& request, std::string_view user) {
  if (request.principal && request.principal->user_id != user) {
    return forbidden("USER_MISMATCH", "the request's user does not match the token's subject");
  }
  return {};
}

Result<PageRequest> parse_page(const Request& request, int max_size) {
  auto page = parse_int(request.query_param("page").value_or("0"));
  auto size = parse_int(request.query_param("size").value_or("20"));
  if (!page || !size || *page < 0 || *page > 1'000'000 || *size < 1) {
    return invalid_input("INVALID_PAGE", "page must be 0..1000000 and size ≥ 1");
  }
  return PageRequest{static_cast<int>(*page),
                     static_cast<int>(std::min<std::int64_t>(*size, max_size))};
}

}  // namespace orderflow::http
