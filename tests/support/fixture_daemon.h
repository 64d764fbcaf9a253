// The daemon behind a ctest fixture that one test run shares (orderflow-test-cluster for Kafka,
// orderflow-test-postgres for PostgreSQL): `start` forks it and returns once it is ready,
// `stop` ends it. Only these two executables use it.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace orderflow::testing {

/// One fixture daemon's files in its directory.
struct FixtureDaemon {
  std::string program;  ///< the executable's name: a live pid's argv[0] contains it
  std::string what;     ///< "test cluster", "test postgres server": for messages
  std::filesystem::path dir;
  std::string pid_file;            ///< in dir, written by the daemon, removed when it ends
  std::string ready_file;          ///< in dir, written whole (rename) by `serve` once it is ready
  bool ready_file_secret = false;  ///< true: `start` does not print the ready file's text
};

/// A fixture executable's command line: `start|stop --dir DIR [--flag N]...`.
struct FixtureCommand {
  std::string command;                 ///< "start" or "stop"
  std::filesystem::path dir;           ///< absolute
  std::map<std::string, int> numbers;  ///< the numeric flags given, by flag ("--brokers")

  /// The value of numeric `flag`, or `fallback` when it was not given.
  [[nodiscard]] int number(const std::string& flag, int fallback) const {
    auto found = numbers.find(flag);
    return found == numbers.end() ? fallback : found->second;
  }
};

/// Parses argv[1..]; nullopt (after printing `usage` to stderr) when the command is not start or
/// stop, --dir is missing, or a flag is not --dir nor one of `numeric_flags` with a number.
std::optional<FixtureCommand> parse_fixture_command(int argc, char** argv,
                                                    const std::vector<std::string>& numeric_flags,
                                                    const std::string& usage);

/// Stops the daemon of an earlier start on daemon.dir (SIGTERM, then SIGKILL after `timeout`)
/// and waits until it is gone. Returns 0 when none runs or it stopped, 1 when it was killed.
int stop_fixture_daemon(const FixtureDaemon& daemon, std::chrono::seconds timeout);

/// Stops a daemon left by an interrupted run, empties daemon.dir, forks the daemon and waits
/// until it wrote its ready file (returns 0, printing the file's first line unless it is
/// secret) or exited
/// (returns 1, printing the end of dir/harness.log). The daemon runs in its own session with
/// its output in dir/harness.log and SIGTERM, SIGINT and SIGHUP blocked; it calls
/// `serve(stop_signals)` and exits with its result (1 when it throws, the message logged).
int start_fixture_daemon(const FixtureDaemon& daemon,
                         const std::function<int(const sigset_t& stop_signals)>& serve);

/// In `serve`: waits until a stop signal arrives (returns 0), `died()` says the served
/// process(es) exited (returns 1) or `max_lifetime` passed (returns 0: a run interrupted before
/// its cleanup leaves nothing running for long).
int serve_until_stopped(const sigset_t& stop_signals, std::chrono::seconds max_lifetime,
                        const std::function<bool()>& died);

/// Writes `text` to daemon.dir/ready_file whole (a test never reads half of it), readable by
/// its owner only.
void write_ready_file(const FixtureDaemon& daemon, const std::string& text);

}  // namespace orderflow::testing
