#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "orderflow/testing/support.h"

namespace orderflow::testing {

/// How a RunningSystem starts besides the services' overrides.
struct SystemOptions {
  /// Run on this data dir instead of a fresh one (e.g. a second `orderflow up` on the
  /// databases of one that was killed); it is not removed afterwards.
  std::string data_dir;
  /// YAML appended at the top level of the generated orderflow.yaml, e.g.
  /// "supervision:\n  max_restarts: 1\n".
  std::string system_yaml;
  /// More arguments for `orderflow up`, e.g. {"--broker", "kafka"} for the real cluster.
  std::vector<std::string> up_args;
  /// How long `orderflow up` may take to write endpoints.json (a JVM cluster takes longer).
  std::chrono::milliseconds up_timeout{60000};
};

/// A real `orderflow up` process (the built executable) with every port 0 in a temp data dir,
/// for e2e tests. The constructor waits until endpoints.json appears; the destructor sends
/// SIGINT and waits for the drain.
class RunningSystem {
 public:
  /// Runs the repo's config/ files; `service_overrides` maps a service name to "key=value"
  /// overrides passed to it (services.<name>.set in the generated orderflow.yaml).
  explicit RunningSystem(
      const std::map<std::string, std::vector<std::string>>& service_overrides = {},
      const SystemOptions& options = {});
  ~RunningSystem();
  RunningSystem(const RunningSystem&) = delete;
  RunningSystem& operator=(const RunningSystem&) = delete;

  struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
  };
  [[nodiscard]] const Endpoint& endpoint(const std::string& service) const;
  [[nodiscard]] const std::string& bootstrap_servers() const { return bootstrap_; }
  [[nodiscard]] const std::string& data_dir() const { return data_dir_; }

  struct Reply {
    int status = 0;
    nlohmann::json body;
    std::string raw;
  };
  /// HTTP call to a service; status 0 when it could not connect.
  Reply call(const std::string& service, const std::string& method, const std::string& target,
             const std::string& body = {},
             const std::vector<std::pair<std::string, std::string>>& headers = {}) const;

  /// Re-reads endpoints.json (rewritten after a broker restart: new bootstrap_servers());
  /// false when it is missing or unreadable, then nothing changes.
  bool reload_endpoints();
  /// Process ids by name from <data_dir>/pids.json, as kept current by `orderflow up` after
  /// every restart ("orderflow" itself, "orderflow-broker", each service); empty when the file
  /// is missing.
  [[nodiscard]] std::map<std::string, pid_t> pids() const;
  /// How often each child was restarted (pids.json "restarts"); absent = never.
  [[nodiscard]] std::map<std::string, int> restarts() const;
  /// Whether `orderflow up` has exited on its own; its exit code goes to `exit_code`.
  /// Never blocks; after it returned true, stop() returns that code.
  bool exited(int* exit_code = nullptr);
  /// Everything `orderflow up` printed so far (stdout and stderr).
  [[nodiscard]] std::string output() const;

  /// SIGINT and wait; returns the exit code of `orderflow up`.
  int stop();

 private:
  TempDir dir_;
  std::string data_dir_;
  std::map<std::string, Endpoint> endpoints_;
  std::string bootstrap_;
  pid_t pid_ = -1;
  int exit_code_ = -1;  ///< once reaped
};

/// Runs a shell command and returns its stdout (e.g. kcat). Exit status in `exit_code`.
std::string run_command(const std::string& command, int* exit_code = nullptr);

}  // namespace orderflow::testing
