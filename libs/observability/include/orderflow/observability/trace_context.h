#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace orderflow::observability {

/// W3C trace context (https://www.w3.org/TR/trace-context/), the one implementation every
/// library and service uses: the HTTP server (a request's trace), the consumers (log lines) and
/// every producer of an event (its `traceparent` header).
///
/// A traceparent is version-00 text "00-" trace-id "-" parent-id "-" trace-flags: 32, 16 and 2
/// lower-case hex digits, trace-id and parent-id not all zero (55 characters). Other versions
/// (and the invalid version "ff") are not continued: a new trace starts instead.
struct TraceContext {
  std::string trace_id;  ///< 32 lower-case hex digits, not all zero
  std::string span_id;   ///< the parent-id field: 16 lower-case hex digits, not all zero
  std::string flags;     ///< trace-flags, 2 lower-case hex digits ("01" = sampled)

  /// The traceparent text "00-<trace_id>-<span_id>-<flags>". Pure.
  [[nodiscard]] std::string traceparent() const;
};

/// The parts of a valid version-00 traceparent; nullopt for anything else (wrong length or
/// separators, another version, upper-case or non-hex digits, an all-zero trace-id or
/// parent-id). Pure; thread-safe.
std::optional<TraceContext> parse_traceparent(std::string_view traceparent);

/// A new trace: random trace-id and span-id (never all zero), flags "01" (sampled).
/// Thread-safe (a random engine per thread, seeded from std::random_device).
TraceContext new_trace();

/// Work done on behalf of `parent`: the same trace-id and flags with a new random span-id.
/// Thread-safe.
TraceContext child_of(const TraceContext& parent);

/// The traceparent text of work done on behalf of `parent` (a traceparent header, "" when
/// there is none): child_of(parent) when it parses, else a new trace. Thread-safe.
std::string child_traceparent(std::string_view parent);

/// A new trace's traceparent text (new_trace().traceparent()). Thread-safe.
std::string new_traceparent();

/// `traceparent` itself when it parses, else a new trace's traceparent: the context a piece of
/// work runs in when it is handed one that may be missing or invalid. Thread-safe.
std::string traceparent_or_new(std::string_view traceparent);

/// The trace-id of a traceparent, as log lines carry it (`trace_id=`); "" when `traceparent`
/// is missing or invalid. Pure; thread-safe.
std::string trace_id_of(std::string_view traceparent);

}  // namespace orderflow::observability
