#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace orderflow::bench {

/// The total of `event` (e.g. "Ir", instructions executed) in the text of one callgrind output
/// file (callgrind.out.*): the sum of its "totals:" lines (one per part or thread), or, when
/// it has none, of its "summary:" lines, taking the column of `event` in its "events:" line.
/// nullopt when the text has no "events:" line naming `event` or neither kind of total.
/// "totals:" comes first because callgrind 3.19 writes a wrong "summary:" (the whole run minus
/// what earlier dumps held, wrapped below zero) into the final part of a process whose counters
/// were dumped on request before; "totals:" is the sum of that part's own cost lines.
std::optional<std::int64_t> callgrind_total(std::string_view text, std::string_view event = "Ir");

/// One function line of `callgrind_annotate` output.
struct FunctionCost {
  std::string file;       ///< source file as printed ("???" when unknown)
  std::string function;   ///< e.g. "sqlite3VdbeExec" or "0x000000000004dee0" without symbols
  std::string object;     ///< the executable or shared object in brackets; empty when not printed
  std::int64_t cost = 0;  ///< of the first event shown (Ir in this bench)
};

/// The function lines of `callgrind_annotate` output, in its order: the lines
/// "1,234 (5.67%)  file:function [object]" of the table headed "… file:function" (up to the
/// next blank line). Everything else (header, "PROGRAM TOTALS", source annotation) is skipped.
std::vector<FunctionCost> parse_annotate_functions(std::string_view text);

/// The part of the system a function's cost is charged to in the report, by object, function
/// name and source file: "librdkafka", "SQLite", "JSON (nlohmann)", "logging (spdlog, fmt)",
/// "HTTP (Boost.Beast, Asio)", "malloc, free", "memcpy, strings (libc)", "locks, threads
/// (libc)", "compression", "metrics (prometheus-cpp)", "libc, other",
/// "C++ standard library" (libstdc++ and std:: templates instantiated in the binary),
/// "dynamic linker", "orderflow code" (the services' and libs' own functions, with what the
/// compiler inlined into them), else "other".
std::string cost_component(const FunctionCost& f);

/// A C++ function name shortened for a table: template arguments as "<…>", parameter lists
/// as "()", "(anonymous namespace)" as "{anon}"; e.g.
/// "orderflow::storage::detail::{anon}::SqliteDatabase::write()". Names whose brackets do
/// not balance come back unchanged.
std::string display_name(std::string_view function);

}  // namespace orderflow::bench
