#include "orderflow/observability/trace_context.h"

#include <algorithm>
#include <cstddef>
#include <random>

namespace orderflow::observability {
namespace {

constexpr std::size_t kTraceIdDigits = 32;
constexpr std::size_t kSpanIdDigits = 16;
constexpr std::size_t kLength = 3 + kTraceIdDigits + 1 + kSpanIdDigits + 1 + 2;

// Upper case is invalid in W3C trace context, so it is refused rather than normalised.
bool is_lower_hex(std::string_view digits) {
  return std::all_of(digits.begin(), digits.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_zero(std::string_view digits) {
  return digits.find_first_not_of('0') == std::string_view::npos;
}

std::string random_hex(std::size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::mt19937_64 engine{std::random_device{}()};
  std::string out;
  out.reserve(digits);
  do {
    out.clear();
    for (std::size_t i = 0; i < digits; ++i) out.push_back(kHex[engine() & 0xF]);
  } while (is_zero(out));  // an all-zero trace-id or parent-id is invalid
  return out;
}

}  // namespace

std::string TraceContext::traceparent() const {
  return "00-" + trace_id + "-" + span_id + "-" + flags;
}

std::optional<TraceContext> parse_traceparent(std::string_view text) {
  if (text.size() != kLength || text.substr(0, 3) != "00-" || text[35] != '-' || text[52] != '-') {
    return std::nullopt;
  }
  auto trace_id = text.substr(3, kTraceIdDigits);
  auto span_id = text.substr(36, kSpanIdDigits);
  auto flags = text.substr(53, 2);
  if (!is_lower_hex(trace_id) || !is_lower_hex(span_id) || !is_lower_hex(flags) ||
      is_zero(trace_id) || is_zero(span_id)) {
    return std::nullopt;
  }
  return TraceContext{std::string(trace_id), std::string(span_id), std::string(flags)};
}

TraceContext new_trace() {
  return TraceContext{random_hex(kTraceIdDigits), random_hex(kSpanIdDigits), "01"};
}

TraceContext child_of(const TraceContext& parent) {
  return TraceContext{parent.trace_id, random_hex(kSpanIdDigits), parent.flags};
}

std::string child_traceparent(std::string_view parent) {
  auto parsed = parse_traceparent(parent);
  return (parsed ? child_of(*parsed) : new_trace()).traceparent();
}

std::string new_traceparent() { return new_trace().traceparent(); }

std::string traceparent_or_new(std::string_view traceparent) {
  return parse_traceparent(traceparent) ? std::string(traceparent) : new_traceparent();
}

std::string trace_id_of(std::string_view traceparent) {
  auto parsed = parse_traceparent(traceparent);
  return parsed ? parsed->trace_id : std::string();
}

}  // namespace orderflow::observability
