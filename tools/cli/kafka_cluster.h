#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "orderflow/messaging/record.h"

namespace orderflow::cli {

/// How clients reach a KafkaCluster. kNone: a PLAINTEXT listener, no authorizer (anyone who
/// reaches the port may do anything). kScram: the client listener is SASL_PLAINTEXT with
/// SCRAM-SHA-256, a user per name of KafkaClusterOptions::sasl_users plus kKafkaAdminUser
/// (bus_acls.h), and StandardAuthorizer denies what no ACL allows (super users: the admin
/// and the brokers' own user); docs/security.md.
enum class KafkaSecurity { kNone, kScram };
/// "none" / "scram"; nullopt for anything else.
std::optional<KafkaSecurity> parse_kafka_security(const std::string& text);

/// Where a KafkaCluster runs and with what (the JVM settings are per node).
struct KafkaClusterOptions {
  std::string data_dir;  ///< nodes under <data_dir>/kafka/node-N, logs in <data_dir>/logs
  int brokers = 3;       ///< combined broker+controller nodes
  /// Fixed when the data dir is first formatted: a later start with another value throws.
  KafkaSecurity security = KafkaSecurity::kNone;
  /// kScram: the SASL users besides the admin (default: bus_service_users()). Their random
  /// passwords are made at the first start and kept in <data_dir>/kafka/credentials.json
  /// (mode 0600); a user not in that file at a later start throws (SCRAM credentials are
  /// written into the metadata when the storage is formatted).
  std::vector<std::string> sasl_users;
  /// The Kafka jars (scripts/install-kafka.sh); empty = default_kafka_lib_dir().
  std::string lib_dir;
  /// log4j2 configuration of the JVMs; empty = tools/kafka/log4j2.xml of this source tree.
  std::string log4j_config;
  std::string java = "java";  ///< looked up in PATH
  /// Heap and GC flags: bounded so that 3 JVMs fit beside the services on a small machine.
  std::vector<std::string> jvm_options{"-Xmx512m", "-Xms256m", "-XX:+UseSerialGC",
                                       "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"};
  /// How long start() waits for every broker to be reported by the metadata.
  std::chrono::milliseconds start_timeout{180000};
  /// How long stop() waits after SIGTERM before SIGKILL (a clean shutdown flushes the logs).
  std::chrono::milliseconds stop_grace{30000};
};

/// The Kafka version pinned in tools/kafka/pom.xml (compiled in).
std::string pinned_kafka_version();
/// ${ORDERFLOW_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/orderflow}/kafka-<version>/lib,
/// as scripts/install-kafka.sh fills it.
std::string default_kafka_lib_dir();

/// A local Apache Kafka cluster in KRaft mode: `brokers` JVMs, each broker and controller, on
/// loopback ports. The first start() on a data dir picks free ports, writes every node's
/// server.properties and formats its storage; later starts reuse the ports and cluster id
/// recorded in <data_dir>/kafka/cluster.json, so records and committed offsets survive. Not
/// thread-safe.
class KafkaCluster {
 public:
  KafkaCluster(KafkaClusterOptions options, std::shared_ptr<spdlog::logger> logger);
  /// Stops the JVMs (stop()).
  ~KafkaCluster();
  KafkaCluster(const KafkaCluster&) = delete;
  KafkaCluster& operator=(const KafkaCluster&) = delete;

  /// Formats (first run only) and starts every node, then waits until a metadata request
  /// reports every broker. Throws std::runtime_error when the jars are missing, a JVM exits or
  /// the cluster is not complete within start_timeout: the message has the last lines of the
  /// node's log, and whatever was started is stopped again. Idempotent while running.
  void start();
  /// SIGTERM to every JVM, waits up to stop_grace for each, then SIGKILL. Idempotent.
  void stop();
  /// host:port of every node's client listener, comma-separated (valid after start()).
  [[nodiscard]] const std::string& bootstrap_servers() const { return bootstrap_; }
  [[nodiscard]] KafkaSecurity security() const { return options_.security; }
  /// Connection settings of a client: bootstrap_servers() and, with kScram, the SASL settings
  /// of `user` (kKafkaAdminUser or one of sasl_users). Valid after start(). Throws
  /// std::runtime_error for a user the cluster does not know (kScram).
  [[nodiscard]] messaging::KafkaConfig client_config(const std::string& user) const;
  [[nodiscard]] const std::string& cluster_id() const { return cluster_id_; }
  [[nodiscard]] int brokers() const { return options_.brokers; }
  /// Process id of every running JVM, node 1 first (-1: not running).
  [[nodiscard]] std::vector<pid_t> pids() const;
  /// The node (1-based) of a JVM that exited since the last call, reaped, with its waitpid()
  /// status; nullopt when all run. Never blocks.
  struct Exit {
    int node = 0;
    int status = 0;
  };
  std::optional<Exit> reap();
  /// <data_dir>/logs/kafka-N.log.
  [[nodiscard]] std::string log_file(int node) const;
  /// Starts the JVM of `node` (1-based) again after it exited (reap()): the same
  /// server.properties, ports and data, so it rejoins the quorum and recovers its logs. Does
  /// not wait; node_serves() tells when it is back. Throws std::runtime_error when the cluster
  /// is not started, the node is unknown or its JVM still runs.
  void restart_node(int node);
  /// Whether `node` answers a metadata request on its own listener within `timeout` (it has
  /// caught up with the controller and serves clients). Blocks up to about `timeout`.
  [[nodiscard]] bool node_serves(int node, std::chrono::milliseconds timeout) const;
  /// How long a node may take to start (KafkaClusterOptions::start_timeout).
  [[nodiscard]] std::chrono::milliseconds start_timeout() const { return options_.start_timeout; }

 private:
  struct Node {
    int id = 0;
    int broker_port = 0;
    int controller_port = 0;
    pid_t pid = -1;
  };
  /// Whether the layout was made now (a new cluster).
  bool load_or_create_layout();
  void load_or_create_credentials(bool new_cluster);
  void write_server_properties(const Node& node) const;
  void format_storage();
  [[nodiscard]] std::string node_dir(int id) const;
  [[nodiscard]] std::string classpath() const;
  pid_t spawn_java(const std::vector<std::string>& args, const std::string& log) const;
  void spawn_node(Node& node);
  void wait_until_complete();
  [[noreturn]] void fail(const std::string& what, int node);

  KafkaClusterOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<Node> nodes_;
  std::string cluster_id_;
  std::string bootstrap_;
  /// kScram: user → password, the brokers' own user included.
  std::map<std::string, std::string> credentials_;
  bool running_ = false;
};

}  // namespace orderflow::cli
