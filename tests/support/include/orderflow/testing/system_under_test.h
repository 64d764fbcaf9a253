#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "orderflow/testing/support.h"
#include "orderflow/testing/test_broker.h"
#include "orderflow/testing/test_database.h"

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
  /// kEmbedded: `orderflow up` starts its embedded broker (orderflow-broker). kKafka: the
  /// services run on the ctest run's shared Kafka cluster (kafka.bootstrap_servers in the
  /// generated orderflow.yaml), with topic names, DLT suffix and consumer groups of this system
  /// alone (topic(), dlt(), group()), its topics created first through the Admin API.
  BrokerKind broker = BrokerKind::kEmbedded;
  /// kSqlite: every service on its SQLite file, as config/ says. kPostgres: storage.backend
  /// postgres, a database per service: on the ctest run's shared server (shared_postgres_url(),
  /// the test's name ends in …Postgres) as storage.postgres.url with a database_prefix of this
  /// system alone, its databases dropped by the destructor; without one, on a private server
  /// that `orderflow up` starts under the data dir (initdb adds a few seconds).
  DatabaseKind storage = DatabaseKind::kSqlite;
  /// Instances of every service (`orderflow up --replicas`); more than one needs kPostgres.
  /// endpoint() knows each by its instance name (order-service, order-service-2, …).
  int replicas = 1;
  /// auth.mode of the generated orderflow.yaml: "optional" (as config/orderflow.yaml), "none"
  /// or "required" (every route but /health/*, /metrics and /openapi.json needs a token).
  std::string auth_mode = "optional";
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
  /// Of a service's instance, by its name in endpoints.json (instances()).
  [[nodiscard]] const Endpoint& endpoint(const std::string& service) const;
  /// The instance names of `service` in endpoints.json: the service's own name first, then
  /// <service>-2, <service>-3, … in order.
  [[nodiscard]] std::vector<std::string> instances(const std::string& service) const;
  [[nodiscard]] const std::string& bootstrap_servers() const { return bootstrap_; }
  [[nodiscard]] const std::string& data_dir() const { return data_dir_; }
  /// The generated orderflow.yaml. Like config/orderflow.yaml it has auth.mode optional with
  /// an HS256 secret, so `orderflow token --config <this>` mints tokens the services accept.
  [[nodiscard]] std::string config_file() const {
    return (dir_.path() / "orderflow.yaml").string();
  }
  [[nodiscard]] BrokerKind broker() const { return broker_; }
  /// The name this system uses for the configured topic `name` ("orders.v1", "inventory.v1",
  /// "payments.v1"): `name` itself on the embedded broker, `name.<id>` on the shared cluster.
  [[nodiscard]] std::string topic(const std::string& name) const;
  /// The dead-letter topic of `name`: topic(name) + the DLT suffix (".dlt" on the embedded
  /// broker, ".dlt.<id>" on the shared cluster, so that the ops-service sees only this
  /// system's dead letters).
  [[nodiscard]] std::string dlt(const std::string& name) const;
  /// The consumer group of `service` ("inventory-service" on the embedded broker,
  /// "inventory-service.<id>" on the shared cluster).
  [[nodiscard]] std::string group(const std::string& service) const;

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
  /// The storage section of the generated orderflow.yaml (sets the shared server's fields).
  std::string postgres_yaml(DatabaseKind storage);
  TempDir dir_;
  BrokerKind broker_ = BrokerKind::kEmbedded;
  std::string names_suffix_;  ///< "" or ".<id>": topics and groups on the shared cluster
  /// Storage on the shared PostgreSQL server: its URL and this system's database prefix, whose
  /// databases the destructor drops when this system created them (owns_databases_).
  std::string postgres_url_;
  std::string database_prefix_;
  bool owns_databases_ = false;
  std::string data_dir_;
  std::map<std::string, Endpoint> endpoints_;
  std::string bootstrap_;
  pid_t pid_ = -1;
  int exit_code_ = -1;  ///< once reaped
};

/// The RunningSystems of one test suite, one per broker kind (and database kind): started by the
/// first test that asks for its kind, stopped by stop_all() (call it from TearDownTestSuite). ctest
/// runs each test in a process of its own; a direct run of the binary shares a system between the
/// suite's tests. Not thread-safe.
class SystemsByBroker {
 public:
  /// The running system of `kind`, started with `service_overrides` and `options` (its broker
  /// set to `kind`) if there is none yet. Throws as RunningSystem's constructor does.
  RunningSystem& get(BrokerKind kind,
                     const std::map<std::string, std::vector<std::string>>& service_overrides = {},
                     SystemOptions options = {});
  /// The same for a broker and a database: options.broker and options.storage set from them.
  RunningSystem& get(BrokerKind broker, DatabaseKind database,
                     const std::map<std::string, std::vector<std::string>>& service_overrides = {},
                     SystemOptions options = {});
  /// Stops every system (SIGINT, drain) and returns the exit code of each `orderflow up`.
  std::vector<int> stop_all();

 private:
  std::map<std::pair<BrokerKind, DatabaseKind>, std::unique_ptr<RunningSystem>> systems_;
};

/// Runs a shell command and returns its stdout (e.g. kcat). Exit status in `exit_code`.
std::string run_command(const std::string& command, int* exit_code = nullptr);

}  // namespace orderflow::testing
