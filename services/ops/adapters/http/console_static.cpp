#include "console_static.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

namespace orderflow::ops {
namespace {

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

std::string content_type(const std::filesystem::path& file) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".html", "text/html; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"}};
  const auto ext = file.extension().string();
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return std::string(type);
  }
  return "application/octet-stream";
}

// Only names Vite writes: one segment of safe characters, never "." or "..".
bool safe_name(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
  });
}

http::Response file_response(std::string body, std::string type, std::string cache_control) {
  http::Response r;
  r.status = 200;
  r.body = std::move(body);
  r.content_type = std::move(type);
  r.headers.emplace_back("Cache-Control", std::move(cache_control));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

http::Response not_built(const std::filesystem::path& dir) {
  http::Response r;
  r.status = 503;
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-cache");
  // The directory is the operator's own configuration; it is escaped all the same.
  std::string where;
  for (char c : dir.string()) {
    switch (c) {
      case '<':
        where += "&lt;";
        break;
      case '>':
        where += "&gt;";
        break;
      case '&':
        where += "&amp;";
        break;
      case '"':
        where += "&quot;";
        break;
      default:
        where += c;
    }
  }
  r.body =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>orderflow console not "
      "built</title></head><body><h1>The ops console is not built</h1><p>No index.html in " +
      where +
      ".</p><p>Build it with <code>cmake --build build --target ops-console</code> (or "
      "<code>make build</code>; it needs Node.js and npm), or point the config key "
      "<code>console.dir</code> at a built console. The ops API (/api/dlq, /metrics, …) "
      "works without it.</p></body></html>\n";
  return r;
}

}  // namespace

void add_console_static_routes(http::Router& router, std::filesystem::path dir) {
  router.add(
      "GET", "/",
      [dir](const http::Request&) {
        auto body = read_file(dir / "index.html");
        if (!body) return not_built(dir);
        auto r = file_response(std::move(*body), "text/html; charset=utf-8", "no-cache");
        // The page shows untrusted data (keys, headers, values): no script but its own.
        r.headers.emplace_back("Content-Security-Policy",
                               "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'");
        return r;
      },
      http::Access::kOpen);
  router.add(
      "GET", "/assets/{file}",
      [dir](const http::Request& req) {
        const auto& name = req.path_param("file");
        if (!safe_name(name)) return http::Response::error(404, "NOT_FOUND", "no such asset");
        auto path = dir / "assets" / name;
        auto body = read_file(path);
        if (!body) return http::Response::error(404, "NOT_FOUND", "no such asset");
        return file_response(std::move(*body), content_type(path),
                             "public, max-age=31536000, immutable");
      },
      http::Access::kOpen);
}

}  // namespace orderflow::ops
