#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

namespace orderflow::cli {

/// One service process of the system.
struct ServiceSpec {
  std::string name;                    ///< e.g. order-service (also the executable's name)
  std::string config_file;             ///< absolute path; empty = defaults
  int port = 0;                        ///< 0 = pick a free one
  std::vector<std::string> overrides;  ///< services.<name>.set: passed as --set key=value
};

/// What `orderflow up` runs (config/orderflow.yaml).
struct SystemSpec {
  std::string data_dir;
  std::string bin_dir;            ///< where orderflow-broker and the services are
  std::string bootstrap_servers;  ///< non-empty = external Kafka, no embedded broker
  int brokers = 3;
  int partitions = 3;
  std::vector<std::string> topics{"orders.v1", "inventory.v1", "payments.v1"};
  std::string dlt_suffix = ".dlt";
  std::vector<ServiceSpec> services;
  std::chrono::milliseconds ready_timeout{30000};
  std::chrono::milliseconds drain_timeout{15000};
  bool inherit_output = false;  ///< children log to this terminal instead of <data_dir>/logs
};

/// Loads config/orderflow.yaml-style files. Relative paths are relative to the file.
/// Throws config::ConfigError on a bad file or unknown key.
SystemSpec load_system_spec(const std::string& file, const std::string& data_dir_override,
                            const std::string& bin_dir);

/// host:port of a running service.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  [[nodiscard]] std::string url() const { return "http://" + host + ":" + std::to_string(port); }
};

/// The broker and every service as child processes. start() brings them up in order and waits
/// for readiness; stop() drains (stop intake, flush outboxes, let consumers catch up) and then
/// stops them in reverse order. Not thread-safe.
class System {
 public:
  System(SystemSpec spec, std::shared_ptr<spdlog::logger> logger);
  ~System();
  System(const System&) = delete;
  System& operator=(const System&) = delete;

  /// Throws std::runtime_error when a process does not start or get ready in time (what was
  /// started is stopped again).
  void start();
  /// Graceful drain then stop. Idempotent.
  void stop();
  /// Name of a child that exited on its own, or "" when all run. Reaps it.
  std::string exited_child();

  [[nodiscard]] const std::map<std::string, Endpoint>& endpoints() const { return endpoints_; }
  [[nodiscard]] const std::string& bootstrap_servers() const { return bootstrap_; }
  [[nodiscard]] const SystemSpec& spec() const { return spec_; }
  /// Process id of every running child by name ("orderflow-broker" when embedded), for the
  /// bench's RSS and CPU readings.
  [[nodiscard]] std::map<std::string, pid_t> pids() const;

 private:
  struct Child {
    std::string name;
    pid_t pid = -1;
  };
  pid_t spawn(const std::string& name, const std::vector<std::string>& args);
  void wait_for_ready(const std::string& name, const std::string& port_file);
  void drain();
  void terminate(Child& child, std::chrono::milliseconds grace);
  void write_endpoints_file() const;

  SystemSpec spec_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<Child> children_;  ///< start order; broker first when embedded
  std::map<std::string, Endpoint> endpoints_;
  std::string bootstrap_;
  bool started_ = false;
};

/// Reads <data_dir>/endpoints.json written by a running `orderflow up`.
std::map<std::string, Endpoint> read_endpoints_file(const std::string& data_dir);

}  // namespace orderflow::cli
