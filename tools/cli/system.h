#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "kafka_cluster.h"
#include "orderflow/common/result.h"
#include "orderflow/config/config.h"
#include "system_spec.h"

namespace orderflow::cli {

class PostgresServer;

/// A short-lived (5 min) admin token for `user`, minted with auth.secret, for the CLI's own
/// requests to admin routes; nullopt unless auth.mode is required with HS256 (optional mode
/// lets them through without one; RS256/ES256 keys cannot be minted here).
std::optional<std::string> admin_token(const http::AuthConfig& auth, const std::string& user);

/// host:port of a running service.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  [[nodiscard]] std::string url() const { return "http://" + host + ":" + std::to_string(port); }
};

/// The broker and every service as child processes. start() brings them up in order and waits
/// for readiness; stop() drains (stop intake, flush outboxes, let consumers catch up) and then
/// stops them in reverse order. Between the two, the primitives below let a supervisor
/// (supervisor.h) restart single children. Not thread-safe.
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
  /// A child that exited: its name and waitpid() status.
  struct Exit {
    std::string name;
    int status = 0;
  };
  /// One child that exited since the last call (a Kafka node as "kafka-N"), reaped; nullopt
  /// when all run. Never blocks.
  std::optional<Exit> reap();

  /// Name of the embedded broker's child process.
  static constexpr const char* kBrokerName = "orderflow-broker";
  /// Whether `name` is the embedded broker (false with an external Kafka and for the nodes of a
  /// local Kafka cluster, which keeps serving while a majority of its nodes runs).
  [[nodiscard]] bool is_broker(const std::string& name) const;
  /// The Kafka node (1-based) of the child `name` ("kafka-N", broker mode kafka); nullopt for
  /// any other name.
  [[nodiscard]] std::optional<int> kafka_node(const std::string& name) const;
  /// Name of the private PostgreSQL server's child (storage backend postgres without
  /// storage.postgres.url).
  static constexpr const char* kPostgresName = "postgres";
  /// Whether `name` is an instance of a service (instance_name()), not a broker, Kafka node or
  /// database server.
  [[nodiscard]] bool is_service(const std::string& name) const;
  /// Every child's name in start order: the private PostgreSQL server ("postgres") first when
  /// there is one, then the broker when embedded or the Kafka nodes "kafka-1".."kafka-N" in
  /// broker mode kafka, then every service's instances, a service's first instance first.
  [[nodiscard]] std::vector<std::string> child_names() const;

  /// Starts the exited child `name` again with its start arguments, without waiting: a service
  /// on the HTTP port it had bound and the current bootstrap_servers(); the broker after
  /// removing the stale broker.bootstrap; a Kafka node on its own ports and data
  /// (KafkaCluster::restart_node); the PostgreSQL server on its port and data, waiting until it
  /// accepts connections (a failed start is reported by the next reap() as an exit of its own).
  /// Counts a restart. Throws std::runtime_error when the child still runs or cannot be forked.
  void respawn(const std::string& name);
  /// Sends `signal` to the child `name` if it runs (e.g. SIGTERM before a restart).
  void signal(const std::string& name, int signal);
  /// For a respawned broker: whether its broker.bootstrap appeared; then bootstrap_servers()
  /// is the new one. Never blocks.
  bool poll_broker_bootstrap();
  /// One GET /health/ready of the service `name` (timeout `timeout` ms); true on 200. For a
  /// Kafka node: whether it answers a metadata request on its own listener within `timeout`.
  /// For the PostgreSQL server: whether it runs (respawn() returns once it accepts connections).
  [[nodiscard]] bool probe_ready(const std::string& name, std::chrono::milliseconds timeout) const;
  /// How long the restarted child `name` may take to get ready: timeouts.ready_ms, or the
  /// cluster's start timeout for a Kafka node (a JVM recovering its logs takes longer), or the
  /// PostgreSQL server's.
  [[nodiscard]] std::chrono::milliseconds ready_timeout(const std::string& name) const;
  /// Polls GET /admin/status of every service every `interval` until two rounds in a row show
  /// no outbox rows pending, no consumer lag and no records in flight anywhere (a service that
  /// does not answer counts as quiet), or until `deadline`. Returns whether it got quiet.
  [[nodiscard]] bool wait_until_quiet(
      std::chrono::steady_clock::time_point deadline,
      std::chrono::milliseconds interval = std::chrono::milliseconds(100)) const;
  /// Rewrites <data_dir>/endpoints.json (service ports, current bootstrap) atomically, and the
  /// Prometheus targets beside it (write_prometheus_targets()).
  void write_endpoints_file() const;
  /// Rewrites <data_dir>/prometheus-targets.json, and SystemSpec::prometheus_targets when set,
  /// atomically: Prometheus file_sd targets, one group per service instance
  /// ({"targets": ["host:port"], "labels": {"orderflow_instance": name}}); `running` false
  /// writes an empty list (every target gone after a clean stop).
  void write_prometheus_targets(bool running) const;
  /// Rewrites <data_dir>/pids.json: {"pids": {name: pid, …, "orderflow": own pid},
  /// "restarts": {name: count}} atomically. Only running children are listed.
  void write_pids_file() const;
  /// How often each child was respawned since start() (children never restarted: absent).
  [[nodiscard]] const std::map<std::string, int>& restarts() const { return restarts_; }

  [[nodiscard]] const std::map<std::string, Endpoint>& endpoints() const { return endpoints_; }
  [[nodiscard]] const std::string& bootstrap_servers() const { return bootstrap_; }
  [[nodiscard]] const SystemSpec& spec() const { return spec_; }
  /// Storage backend postgres: the server's URI without a database and without password
  /// (valid after start()); empty otherwise.
  [[nodiscard]] std::string postgres_server_uri() const;
  /// Process id of every running child by name ("orderflow-broker" when embedded, "kafka-N"
  /// for the JVMs of a Kafka cluster), for the bench's RSS and CPU readings.
  [[nodiscard]] std::map<std::string, pid_t> pids() const;

 private:
  struct Child {
    std::string name;
    pid_t pid = -1;
  };
  /// One process of a service.
  struct Instance {
    std::string name;  ///< instance_name(service.name, index)
    const ServiceSpec* service = nullptr;
    int index = 1;  ///< 1-based
  };
  Child* find(const std::string& name);
  [[nodiscard]] const Instance* find_instance(const std::string& name) const;
  /// Throws config::ConfigError when a service with several instances would store in SQLite.
  void check_replicas() const;
  /// The service's configuration as it will read it (file, environment, the --set overrides
  /// of storage_overrides() and of services.<name>.set).
  [[nodiscard]] config::Source service_source(const ServiceSpec& service) const;
  /// --set overrides that put a service on storage backend postgres (none for sqlite).
  [[nodiscard]] std::vector<std::string> storage_overrides(const ServiceSpec& service) const;
  /// Backend postgres: starts the private server or checks the external one, and creates every
  /// service's database on it.
  void start_postgres();
  /// The private server's max_connections: every instance's pool plus a margin.
  [[nodiscard]] int postgres_max_connections() const;
  [[nodiscard]] std::vector<std::string> broker_args() const;
  [[nodiscard]] std::vector<std::string> service_args(const Instance& instance, int port) const;
  /// Starts bin_dir/`executable` as the child `name`.
  pid_t spawn(const std::string& name, const std::string& executable,
              const std::vector<std::string>& args);
  void wait_for_broker();
  /// Broker mode kafka: starts the cluster, writes broker.bootstrap, creates the topics.
  void start_kafka_cluster();
  void wait_for_ready(const std::string& name, const std::string& port_file);
  void drain();
  /// Headers of the requests `orderflow up` itself makes to /admin/*: an admin token minted
  /// with auth.secret when auth.mode is required with HS256; none otherwise (with RS256/ES256
  /// the drain requests are refused and each service drains on SIGTERM alone).
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> admin_headers() const;
  /// SIGTERM to every child in `children`, SIGKILL to those still running after `grace`.
  void terminate(const std::vector<Child*>& children, std::chrono::milliseconds grace);

  SystemSpec spec_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<Instance> instances_;  ///< every service's, in start order
  std::vector<Child> children_;      ///< start order; broker first when embedded
  std::map<std::string, Endpoint> endpoints_;
  std::string bootstrap_;
  std::map<std::string, int> restarts_;
  std::unique_ptr<KafkaCluster> cluster_;     ///< broker mode kafka only
  std::unique_ptr<PostgresServer> postgres_;  ///< backend postgres without postgres_url only
  std::optional<int> postgres_failed_start_;  ///< a respawn that failed, for reap()
  std::string postgres_password_;             ///< the services' PGPASSWORD; never logged or on argv
  std::map<std::string, std::string> database_uris_;  ///< by service name, without password
  bool started_ = false;
};

/// The instances of <data_dir>/endpoints.json written by a running `orderflow up`
/// (runtime::read_endpoints_file): none when the file does not exist, its error (kInvalidInput
/// ENDPOINTS_INVALID, kUnavailable ENDPOINTS_UNREADABLE, naming the file and the problem) when
/// it does not read as one. Thread-safe.
Result<std::map<std::string, Endpoint>> read_endpoints_file(const std::string& data_dir);

}  // namespace orderflow::cli
