#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace orderflow::cli {

/// Starts `argv` (argv[0] is searched in PATH when it has no '/') as a child of `orderflow up`:
/// in its own process group (a terminal Ctrl-C reaches only orderflow, which stops children in
/// order), sent SIGTERM when this process dies, with every signal unblocked. Its stdout and
/// stderr are appended to `log_file`, or inherited when that is empty. An exec failure is
/// written to the log and the child exits 127. Throws std::runtime_error when fork fails.
pid_t spawn_child(const std::vector<std::string>& argv, const std::string& log_file);

}  // namespace orderflow::cli
