#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "orderflow/http/server.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/messaging/outbox.h"
#include "orderflow/messaging/record.h"
#include "orderflow/observability/logging.h"
#include "orderflow/storage/database.h"

namespace orderflow::config {

/// A configuration problem that stops start-up; the message names the key and the problem.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Configuration layers merged in order: YAML file, environment, command-line overrides.
/// Environment: `ORDERFLOW__A__B_C=v` sets `a.b_c` (double underscore separates levels, names
/// are lower-cased). Overrides: "a.b.c=value". Values are kept as YAML scalars and typed when
/// read. Immutable after load; thread-safe to read.
class Source {
 public:
  /// Throws ConfigError when the file cannot be read or parsed, has a key that is a list or a
  /// section, or an override lacks '='.
  /// An empty `file` means no file (defaults only).
  static Source load(const std::string& file, const std::map<std::string, std::string>& env,
                     const std::vector<std::string>& overrides);
  /// The process environment as a map (for load()).
  static std::map<std::string, std::string> process_environment();

  Source();
  ~Source();
  Source(const Source&);
  Source& operator=(const Source&);
  Source(Source&&) noexcept;
  Source& operator=(Source&&) noexcept;

  /// Raw scalar text at a dotted path, if set.
  [[nodiscard]] std::optional<std::string> scalar(const std::string& path) const;
  /// Keys of the map at a dotted path ("" = root); empty when absent or not a map.
  [[nodiscard]] std::vector<std::string> keys(const std::string& path) const;
  /// The subtree at path flattened to dotted keys relative to it ({"linger.ms": "5"}), so keys
  /// that contain dots (librdkafka properties) work from YAML, env and --set alike.
  [[nodiscard]] std::map<std::string, std::string> flat_map(const std::string& path) const;
  /// Every leaf path (dotted) present in the tree.
  [[nodiscard]] std::vector<std::string> leaf_paths() const;
  /// True when the node at path is a sequence or map (not a scalar).
  [[nodiscard]] bool is_container(const std::string& path) const;
  /// Items of a sequence of scalars at path; ConfigError when an item is a list or a section.
  [[nodiscard]] std::vector<std::string> sequence(const std::string& path) const;
  [[nodiscard]] const std::string& file() const { return file_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string file_;
};

/// Typed, once-only reading of a Source. Every get marks its key as known; finish() rejects
/// any key in the source that nobody read (a typo stops start-up instead of being ignored).
/// Not thread-safe (used during start-up only).
class Reader {
 public:
  explicit Reader(const Source& source) : source_(source) {}

  std::string string(const std::string& path, const std::string& fallback);
  /// One of `allowed`, else ConfigError naming the key and the allowed values.
  std::string choice(const std::string& path, const std::string& fallback,
                     const std::vector<std::string>& allowed);
  std::int64_t integer(const std::string& path, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  double number(const std::string& path, double fallback, double min, double max);
  bool boolean(const std::string& path, bool fallback);
  std::chrono::milliseconds millis(const std::string& path, std::chrono::milliseconds fallback,
                                   std::chrono::milliseconds min = std::chrono::milliseconds{0});
  /// A map of scalars (e.g. kafka.properties); its whole subtree counts as known.
  std::map<std::string, std::string> string_map(const std::string& path);
  std::vector<std::string> string_list(const std::string& path,
                                       const std::vector<std::string>& fallback);
  /// Marks a subtree as known without reading it (read elsewhere).
  void accept_subtree(const std::string& path);
  /// Throws ConfigError listing every key nobody read, with the file name.
  void finish() const;
  /// The source being read (e.g. for resolve_path()).
  [[nodiscard]] const Source& source() const { return source_; }

 private:
  std::string where(const std::string& path) const;
  const Source& source_;
  std::set<std::string> known_;
  std::set<std::string> known_subtrees_;
};

/// Topic names (config section `topics`; ARCHITECTURE.md "Topics").
struct TopicsConfig {
  std::string orders = "orders.v1";
  std::string inventory = "inventory.v1";
  std::string payments = "payments.v1";
  std::string dlt_suffix = ".dlt";
  int partitions = 3;
};

/// The sections every service has.
struct ServiceConfig {
  std::string name;  ///< service.name
  /// service.instance_id (default: the name): tells apart several instances of one service
  /// (`orderflow up --replicas`: order-service-2, …) in their log lines and as the default
  /// kafka.client_id. The consumer group, topics and database stay the service's.
  std::string instance_id;
  std::string data_dir;   ///< data_dir: SQLite files and broker.bootstrap live here
  std::string port_file;  ///< service.port_file: where to write "host:port" after binding
  http::ServerOptions http;
  /// kafka.* with the profile applied (kafka.profile, config/kafka-profiles.yaml).
  messaging::KafkaConfig kafka;
  /// kafka.profile: the librdkafka tuning profile in effect ("none" = librdkafka's defaults).
  /// Default: `embedded` when kafka.bootstrap_servers is empty (the embedded broker's
  /// broker.bootstrap is read), `cluster` otherwise.
  std::string kafka_profile;
  /// topics.create: create the service's topics and DLTs through the Admin API at start-up
  /// (default: on when kafka.bootstrap_servers is set; the embedded broker makes its own).
  bool create_topics = false;
  /// topics.replication_factor (0 = min(3, brokers in the cluster)).
  int replication_factor = 0;
  /// topics.min_insync_replicas (0 = max(1, replication factor - 1)).
  int min_insync_replicas = 0;
  std::chrono::milliseconds bootstrap_wait{30000};  ///< kafka.bootstrap_wait_ms
  storage::StorageConfig storage;
  observability::LogConfig log;
  TopicsConfig topics;
  messaging::ConsumerOptions consumer;  ///< consumer.* (group_id/topics set by the service)
  messaging::RelayOptions outbox;
  /// timeouts.drain_ms: SIGTERM to exit at most this long; what is unfinished by then stays
  /// for the next start (runtime::ShutdownDeadline).
  std::chrono::milliseconds drain_timeout{15000};
  /// health.broker_unreachable_ms: /health/ready answers 503 once the broker has not answered
  /// for longer than this.
  std::chrono::milliseconds broker_grace{5000};
};

/// A service's own defaults where the storage backends differ.
struct ServiceDefaults {
  /// consumer.batch_size on PostgreSQL (64 on SQLite: one writer runs one batch at a time).
  /// A service whose batches lock rows shared by other keys (inventory's products) keeps 1
  /// there: concurrent batches would lock them in different orders and deadlock.
  int postgres_batch_size = 64;
};

/// Reads section `auth` (http::AuthConfig): auth.mode none|optional|required (default none),
/// auth.algorithm HS256|RS256|ES256 (default HS256), auth.secret, auth.public_key_file
/// (resolved like other paths), auth.issuer, auth.audience, auth.clock_skew_ms (default 30000).
/// Throws ConfigError when a mode other than none lacks its key: an HS256 secret shorter than
/// 32 bytes, or no public key file for RS256/ES256.
http::AuthConfig read_auth_config(Reader& reader);

/// Reads the common sections. `default_port` is the service's well-known port (8080…).
/// Relative storage paths are resolved against data_dir.
ServiceConfig read_service_config(Reader& reader, const std::string& default_name,
                                  std::uint16_t default_port, ServiceDefaults defaults = {});

/// When kafka.bootstrap_servers is empty, waits up to bootstrap_wait for
/// `<data_dir>/broker.bootstrap` (written by orderflow-broker) and fills it in.
/// Throws ConfigError when it does not appear in time.
void resolve_bootstrap(ServiceConfig& config);

/// `path` as given when absolute; else relative to the directory of the config file (or the
/// working directory when there is no file).
std::string resolve_path(const Source& source, const std::string& path);

/// The bundled config directory (config/ of the source tree this binary was built from).
std::string default_config_dir();

/// The bundled catalog (catalog/products.yaml of the source tree this binary was built from).
std::string default_catalog_file();

/// Parses a service's command line: `--config FILE`, `--set key=value` (repeatable),
/// `--data-dir DIR`, `--port N`, `--port-file FILE`, `--help`. Returns the merged Source, or
/// nullopt when the process should exit with `exit_code` (help printed or bad flags).
std::optional<Source> load_from_command_line(int argc, char** argv, const std::string& service,
                                             int& exit_code);

}  // namespace orderflow::config
