#pragma once

// What `orderflow up` runs: config/orderflow.yaml read into a SystemSpec, and what follows from
// it alone (instance names, databases, PostgreSQL URIs, launch commands, consumer groups).

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "kafka_cluster.h"
#include "orderflow/config/config.h"

namespace orderflow::cli {

/// The service that watches the others' consumer groups (lag.groups).
inline constexpr const char* kOpsService = "ops-service";

/// One service process of the system.
struct ServiceSpec {
  std::string name;                    ///< e.g. order-service (also the executable's name)
  std::string config_file;             ///< absolute path; empty = defaults
  int port = 0;                        ///< 0 = pick a free one
  std::vector<std::string> overrides;  ///< services.<name>.set: passed as --set key=value
  /// services.<name>.replicas (or `--replicas`): instances of the service, all in its consumer
  /// group and on its database; the first on `port`, the others on free ports.
  int replicas = 1;
};

/// The name of instance `index` (1-based) of `service`: the service's own name for the first,
/// `<service>-<index>` for the others (order-service, order-service-2, …). It is the instance's
/// child name, log file (<data_dir>/logs/<name>.log), port file, endpoints.json key and
/// service.instance_id.
std::string instance_name(const std::string& service, int index);

/// How `orderflow up` restarts a child that exited on its own (config section `supervision`).
struct SupervisionSpec {
  /// A child that exits more than this many times within `window` is given up on (and with
  /// it the whole system); 0 = never restart.
  int max_restarts = 5;
  std::chrono::milliseconds window{60000};
  /// Delay before a restart: doubles per exit up to `backoff_max`; starts over once the child
  /// stayed up for a whole `window`.
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{10000};
};

/// What `orderflow up` runs (config/orderflow.yaml).
struct SystemSpec {
  std::string data_dir;
  std::string bin_dir;            ///< where orderflow-broker and the services are
  std::string bootstrap_servers;  ///< non-empty = external Kafka, no embedded broker
  /// Which broker `orderflow up` starts when bootstrap_servers is empty: kEmbeddedBroker
  /// (orderflow-broker, librdkafka's mock cluster) or kKafkaBroker (a local Apache Kafka
  /// cluster of `brokers` JVMs, kafka_cluster.h, with the topics created through the Admin API).
  std::string broker_mode = "embedded";
  static constexpr const char* kEmbeddedBroker = "embedded";
  static constexpr const char* kKafkaBroker = "kafka";
  /// kafka.profile: the services' librdkafka profile (config/kafka-profiles.yaml). Empty = the
  /// broker's: `embedded` with orderflow-broker, `cluster` otherwise (kafka_profile()).
  std::string kafka_profile;
  int brokers = 3;
  int partitions = 3;
  /// broker.security (or `--kafka-security`) of the local Apache Kafka cluster (kKafkaBroker
  /// only): kNone, or kScram, a SASL/SCRAM user per service with ACLs (bus_acls.h), each
  /// service given its user and password through its environment (ORDERFLOW__KAFKA__SASL__*).
  KafkaSecurity kafka_security = KafkaSecurity::kNone;
  std::vector<std::string> topics{"orders.v1", "inventory.v1", "payments.v1"};
  std::string dlt_suffix = ".dlt";
  std::vector<ServiceSpec> services;
  std::chrono::milliseconds ready_timeout{30000};
  std::chrono::milliseconds drain_timeout{15000};
  /// `orderflow up --prometheus-targets FILE`: where to write the Prometheus file_sd targets
  /// besides <data_dir>/prometheus-targets.json (docs/operations.md "Prometheus and Grafana").
  /// Not in the config file.
  std::string prometheus_targets;
  /// How long a child may take to exit after SIGTERM before it is killed (the services: after
  /// their drain_timeout). Not in the config file; longer e.g. for a profiler that writes its
  /// output at exit.
  std::chrono::milliseconds exit_grace{3000};
  /// Words put before the command of every child the system spawns (the embedded broker and
  /// every service instance, not a Kafka cluster or PostgreSQL server), e.g. a profiler:
  /// {"valgrind", "--tool=callgrind", "--callgrind-out-file=/tmp/p/callgrind.out.{name}"}.
  /// "{name}" in a word becomes the child's name (kBrokerName, instance_name()). Empty = the
  /// executables run directly. Not in the config file.
  std::vector<std::string> launcher;
  SupervisionSpec supervision;
  bool inherit_output = false;  ///< children log to this terminal instead of <data_dir>/logs
  /// storage.backend (or `--storage`): kSqlite leaves every service's storage to its own
  /// config (a SQLite file in data_dir by default); kPostgres puts every service on PostgreSQL,
  /// a database of its own each (postgres_database()) that all its instances share.
  std::string storage_backend = "sqlite";
  static constexpr const char* kSqlite = "sqlite";
  static constexpr const char* kPostgres = "postgres";
  /// storage.postgres.url: an external server (libpq URI) on which `orderflow up` creates the
  /// services' databases, connected to the database the URI names. Empty = a private server
  /// that `orderflow up` starts under <data_dir>/postgres (postgres_server.h).
  std::string postgres_url;
  /// storage.postgres.database_prefix: put before every service's database name, e.g. on an
  /// external server shared with other systems.
  std::string postgres_database_prefix;
  /// storage.postgres.bin_dir: initdb and postgres of the private server; empty = Debian's
  /// newest (default_postgres_bin_dir()).
  std::string postgres_bin_dir;
  /// Section `auth` (http::AuthConfig), given to every service through its environment
  /// (ORDERFLOW__AUTH__*, so the secret is never on a command line).
  http::AuthConfig auth;

  /// Whether `orderflow up` starts orderflow-broker (no external bootstrap, embedded mode).
  [[nodiscard]] bool embedded_broker() const {
    return bootstrap_servers.empty() && broker_mode != kKafkaBroker;
  }
  /// The profile passed to every service: kafka_profile, else the broker's.
  [[nodiscard]] std::string services_kafka_profile() const {
    if (!kafka_profile.empty()) return kafka_profile;
    return embedded_broker() ? "embedded" : "cluster";
  }
};

/// The PostgreSQL database of `service`: `prefix` followed by the service's name without its
/// "-service" suffix and with '-' as '_' (order, inventory, payment, notification, ops).
std::string postgres_database(const std::string& prefix, const std::string& service);

/// A libpq URI (postgres:// or postgresql://) as `orderflow up` passes it on.
struct PostgresUri {
  std::string without_password;  ///< the URI without the password of its user info
  std::string password;          ///< the password, percent-decoded; empty when it has none
};
/// Takes the password out of `uri` (it goes to the services' environment as PGPASSWORD, never
/// on their command line). Throws config::ConfigError when `uri` is not a postgres:// or
/// postgresql:// URI.
PostgresUri split_postgres_password(const std::string& uri);
/// `uri` naming `database` (an identifier needing no percent-encoding) instead of the database
/// it names, if any; hosts, user and parameters are kept. Throws as split_postgres_password().
std::string postgres_uri_with_database(const std::string& uri, const std::string& database);

/// The argv of a child: the words of `launcher` (SystemSpec::launcher), "{name}" in each
/// replaced by the child's `name`, then `command` (the executable and its arguments).
std::vector<std::string> launch_command(const std::vector<std::string>& launcher,
                                        const std::string& name, std::vector<std::string> command);

/// Loads config/orderflow.yaml-style files. Relative paths are relative to the file.
/// Throws config::ConfigError on a bad file or unknown key.
SystemSpec load_system_spec(const std::string& file, const std::string& data_dir_override,
                            const std::string& bin_dir);

/// The consumer group of every service of `spec` but ops-service, by service name: its
/// consumer.group_id (its config file, environment and `set` overrides), else its name; and
/// with notification-service, its data-platform sink's group under "data-platform-sink" (its
/// sink.group_id, else data-platform-sink; empty while sink.enabled is false: the group does
/// not run and ops-service drops it from its lag.groups). `orderflow up` passes them to
/// ops-service as lag.group_ids, so that the groups whose lag it watches (lag.groups) are the
/// ones the services really use (e.g. with a suffix per test run). Throws config::ConfigError
/// when a service's file cannot be read or its sink.enabled is not a boolean.
std::map<std::string, std::string> service_group_ids(const SystemSpec& spec);

}  // namespace orderflow::cli
