#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <string>

#include "system.h"

namespace orderflow::cli {

/// Options of `orderflow dlq list|show|replay|discard`.
struct DlqOptions {
  std::string action;  ///< list | show | replay | discard
  std::optional<std::string> id;
  std::optional<std::string> topic;
  std::optional<std::string> group;
  std::optional<std::string> status;
  std::optional<std::string> key;
  int limit = 50;
  bool dry_run = false;
  std::string actor = "cli";
  /// Sent as `Authorization: Bearer` when set (auth.mode required: the ops API needs admin).
  std::optional<std::string> bearer_token;
};

/// Runs one dlq action against the ops-service of `endpoints` (from endpoints.json).
/// Exit code: 0 ok, 1 API error (its message printed to `err`), 2 no running ops-service.
int run_dlq_command(const std::map<std::string, Endpoint>& endpoints, const DlqOptions& options,
                    std::ostream& out, std::ostream& err);

}  // namespace orderflow::cli
