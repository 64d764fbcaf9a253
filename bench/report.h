#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace orderflow::bench {

/// One Markdown table row of a load phase: name, offered and achieved rate, API and e2e
/// percentiles (ms), errors/timeouts/missing.
std::string markdown_row(const nlohmann::json& phase);
/// Header (two lines) matching markdown_row.
std::string markdown_header();

/// Keys of the suite's JSON under which each broker's run is (run_suite's output).
inline constexpr const char* kEmbeddedSection = "embedded";
inline constexpr const char* kKafkaSection = "kafka";

/// Renders the suite's JSON ({"embedded": run, "kafka": run, "date", "commit", …}; either
/// run may be missing) as docs/benchmarks.md. Everything after the line
/// kHandWrittenMarker in `previous` (the file's current text) is kept as it is.
std::string render_report(const nlohmann::json& results, const std::string& plot_file,
                          const std::string& previous);

inline constexpr const char* kHandWrittenMarker =
    "<!-- Everything below this line is written by hand; make bench keeps it. -->";

/// The lines around the PostgreSQL section, which only a run on PostgreSQL writes:
/// render_report() copies it from `previous` as it is, render_postgres_report() replaces it.
inline constexpr const char* kPostgresBeginMarker =
    "<!-- PostgreSQL section: written by `make bench-postgres`; `make bench` keeps it. -->";
inline constexpr const char* kPostgresEndMarker = "<!-- End of the PostgreSQL section. -->";

/// The lines around the CPU-per-order section, which only `orderflow-bench profile` (make
/// profile) writes: render_report() and render_postgres_report() keep it as it is.
inline constexpr const char* kProfileBeginMarker =
    "<!-- CPU-per-order section: written by `make profile`; `make bench` keeps it. -->";
inline constexpr const char* kProfileEndMarker = "<!-- End of the CPU-per-order section. -->";

/// The section of `previous` from `begin_marker` to the end of the line of the first
/// `end_marker` after it, followed by one blank line; "" when `previous` has no such section.
std::string marked_section(const std::string& previous, std::string_view begin_marker,
                           std::string_view end_marker);

/// `previous` with its section from `begin_marker` to the end of the line of `end_marker`
/// replaced by `section` (the new section's text, markers included, ending in a newline).
/// Without such a section, `section` and a blank line go before kHandWrittenMarker, or at the
/// end when `previous` has no marker either. Everything else is kept.
std::string replace_marked_section(const std::string& previous, std::string_view begin_marker,
                                   std::string_view end_marker, const std::string& section);

/// This machine for a report: "N cores (CPU model), X GiB RAM, Linux <release> <arch>".
std::string machine_summary();

/// `previous` (docs/benchmarks.md's current text) with its PostgreSQL section (between
/// kPostgresBeginMarker and kPostgresEndMarker) rendered anew from the JSON of a suite run with
/// storage postgres ({"storage": "postgres", "postgres": server settings, "embedded" and/or
/// "kafka": run_suite's output, "date", …}); the section goes before kHandWrittenMarker when
/// `previous` has none, at the end when it has no marker either. Everything else is kept.
std::string render_postgres_report(const nlohmann::json& results, const std::string& previous);

/// A sweep's JSON (run_sweep) as one Markdown table: per setting and rate, e2e p50/p99/max
/// (ms), missing orders and the CPU of the broker and of every process (% of one core).
std::string render_sweep(const nlohmann::json& sweep);

/// Writes `<png>.dat` and `<png>.gp` next to `png` and runs gnuplot. Returns false (and the
/// report says so) when gnuplot is missing or fails.
bool write_plot(const nlohmann::json& results, const std::string& png);

}  // namespace orderflow::bench
