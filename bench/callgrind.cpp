#include "callgrind.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>

namespace orderflow::bench {

namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto end = text.find('\n');
    out.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

std::vector<std::string> words(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

}  // namespace

std::optional<std::int64_t> callgrind_total(std::string_view text, std::string_view event) {
  std::optional<std::size_t> column;
  std::optional<std::int64_t> totals;
  std::optional<std::int64_t> summary;
  for (auto line : lines_of(text)) {
    auto w = words(line);
    if (w.empty()) continue;
    if (w[0] == "events:") {
      auto at = std::find(w.begin() + 1, w.end(), event);
      if (at != w.end()) column = static_cast<std::size_t>(at - w.begin());
      continue;
    }
    const bool is_totals = w[0] == "totals:";
    if ((!is_totals && w[0] != "summary:") || !column || *column >= w.size()) continue;
    // Unsigned in the file: a wrapped summary does not fit and is skipped below.
    std::int64_t value = 0;
    try {
      std::size_t used = 0;
      value = std::stoll(w[*column], &used);
      if (used != w[*column].size()) continue;
    } catch (const std::exception&) {
      continue;
    }
    auto& sum = is_totals ? totals : summary;
    sum = sum.value_or(0) + value;
  }
  if (!column) return std::nullopt;
  return totals ? totals : summary;
}

std::vector<FunctionCost> parse_annotate_functions(std::string_view text) {
  std::vector<FunctionCost> out;
  bool in_table = false;
  for (auto line : lines_of(text)) {
    if (!in_table) {
      auto end = line.find_last_not_of(' ');
      in_table =
          end != std::string_view::npos && line.substr(0, end + 1).ends_with("file:function");
      continue;
    }
    if (line.starts_with("---")) continue;
    auto start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) {
      if (!out.empty()) break;
      continue;
    }
    line.remove_prefix(start);
    // "1,234,567 (12.34%)  file:function [object]"
    std::int64_t cost = 0;
    std::size_t i = 0;
    for (; i < line.size() && (std::isdigit(static_cast<unsigned char>(line[i])) || line[i] == ',');
         ++i) {
      if (line[i] != ',') cost = cost * 10 + (line[i] - '0');
    }
    if (i == 0) continue;
    auto rest = line.substr(i);
    rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(' ')));
    if (rest.starts_with('(')) {
      auto close = rest.find(')');
      if (close == std::string_view::npos) continue;
      rest.remove_prefix(close + 1);
      rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(' ')));
    }
    FunctionCost f;
    f.cost = cost;
    if (rest.ends_with(']')) {
      if (auto open = rest.rfind(" ["); open != std::string_view::npos) {
        f.object = std::string(rest.substr(open + 2, rest.size() - open - 3));
        rest = rest.substr(0, open);
      }
    }
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) {
      f.function = std::string(rest);
    } else {
      f.file = std::string(rest.substr(0, colon));
      f.function = std::string(rest.substr(colon + 1));
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::string cost_component(const FunctionCost& f) {
  const auto slash = f.object.rfind('/');
  const std::string_view object = slash == std::string::npos
                                      ? std::string_view(f.object)
                                      : std::string_view(f.object).substr(slash + 1);
  const std::string_view fn = f.function;
  const std::string_view file = f.file;
  if (object.starts_with("librdkafka") || fn.starts_with("rd_kafka")) return "librdkafka";
  if (object.starts_with("libsqlite3") || fn.starts_with("sqlite3")) return "SQLite";
  if (object.starts_with("liblz4") || object.starts_with("libzstd") || object.starts_with("libz."))
    return "compression";
  if (object.starts_with("libprometheus") || contains(fn, "prometheus::"))
    return "metrics (prometheus-cpp)";
  if (contains(fn, "nlohmann::")) return "JSON (nlohmann)";
  if (object.starts_with("libsimdjson") || contains(fn, "simdjson::")) return "JSON (simdjson)";
  if (contains(fn, "spdlog::") || contains(fn, "fmt::")) return "logging (spdlog, fmt)";
  if (contains(fn, "boost::")) return "HTTP (Boost.Beast, Asio)";
  if (contains(file, "/malloc/") || fn.starts_with("operator new") ||
      fn.starts_with("operator delete") || fn.starts_with("malloc") || fn.starts_with("free") ||
      fn.starts_with("_int_malloc") || fn.starts_with("_int_free") || fn.starts_with("cfree"))
    return "malloc, free";
  if (contains(file, "/string/") || contains(file, "multiarch") || fn.starts_with("__mem") ||
      fn.starts_with("mem") || fn.starts_with("__str") || fn.starts_with("str"))
    return "memcpy, strings (libc)";
  if (contains(file, "/nptl/") || contains(fn, "pthread_") || fn.starts_with("mtx_") ||
      fn.starts_with("cnd_") || contains(fn, "futex"))
    return "locks, threads (libc)";
  if (object.starts_with("libc.so")) return "libc, other";
  if (object.starts_with("libstdc++") || fn.starts_with("std::")) return "C++ standard library";
  if (object.starts_with("ld-linux")) return "dynamic linker";
  if (contains(fn, "orderflow::")) return "orderflow code";
  return "other";
}

std::string display_name(std::string_view function) {
  constexpr std::string_view kAnonymous = "(anonymous namespace)";
  std::string out;
  int angle = 0;
  int paren = 0;
  for (std::size_t i = 0; i < function.size(); ++i) {
    if (function.substr(i).starts_with(kAnonymous)) {
      if (angle == 0 && paren == 0) out += "{anon}";
      i += kAnonymous.size() - 1;
      continue;
    }
    const char c = function[i];
    // "operator<", "operator<<", "operator()", "operator->": part of the name, not a list.
    if (angle == 0 && paren == 0 && std::string_view(out).ends_with("operator-") && c == '>') {
      out += c;
      continue;
    }
    if (std::string_view(out).ends_with("operator") && angle == 0 && paren == 0 &&
        (c == '<' || c == '>' || c == '(')) {
      out += c;
      if (c == '(' && i + 1 < function.size() && function[i + 1] == ')') out += function[++i];
      while (c != '(' && i + 1 < function.size() && function[i + 1] == c) out += function[++i];
      continue;
    }
    if (c == '<' || c == '(') {
      if (angle == 0 && paren == 0) out += c == '<' ? "<…" : "(";
      (c == '<' ? angle : paren) += 1;
      continue;
    }
    if (c == '>' || c == ')') {
      int& depth = c == '>' ? angle : paren;
      if (depth == 0) return std::string(function);  // unbalanced: leave it as it is
      if (--depth == 0 && angle == 0 && paren == 0) out += c;
      continue;
    }
    if (angle == 0 && paren == 0) out += c;
  }
  if (angle != 0 || paren != 0) return std::string(function);
  return out;
}

}  // namespace orderflow::bench
