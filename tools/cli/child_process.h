#pragma once

#include <signal.h>
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace orderflow::cli {

/// An operating-system account a child runs as (see lookup_os_user()).
struct OsUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  ///< supplementary groups, as initgroups() would set them
};

/// The account `name` from the user database. Throws std::runtime_error when there is none.
OsUser lookup_os_user(const std::string& name);

/// How spawn_child() starts a child.
struct ChildOptions {
  /// stdout and stderr are appended to this file (opened before any change of user), or
  /// inherited when empty.
  std::string log_file;
  /// When set, the child drops to this account before exec (only root may do so).
  std::optional<OsUser> user;
  /// Sent to the child when this process dies.
  int death_signal = SIGTERM;
  /// The child's working directory; empty = this process's.
  std::string working_dir;
  /// Set in the child's environment on top of this process's (e.g. PGPASSWORD: a secret that
  /// must not appear on a command line).
  std::map<std::string, std::string> env;
};

/// Starts `argv` (argv[0] is searched in PATH when it has no '/') as a child of `orderflow up`:
/// in its own process group (a terminal Ctrl-C reaches only orderflow, which stops children in
/// order), sent options.death_signal when this process dies, with every signal unblocked. An
/// exec failure (or a failed change of user) is written to the log and the child exits 127.
/// Throws std::runtime_error when fork fails.
pid_t spawn_child(const std::vector<std::string>& argv, const ChildOptions& options);

/// spawn_child() with the output appended to `log_file` (inherited when empty), SIGTERM on
/// this process's death, as the current user.
pid_t spawn_child(const std::vector<std::string>& argv, const std::string& log_file);

}  // namespace orderflow::cli
