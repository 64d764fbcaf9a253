#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

#include "load_generator.h"

namespace orderflow::bench {

/// Which broker a suite run measures.
inline constexpr const char* kEmbeddedBroker = "embedded";  ///< orderflow-broker (mock cluster)
inline constexpr const char* kKafkaBroker = "kafka";        ///< a local 3-node Apache Kafka

/// Where the services of a suite run store (SuiteOptions::storage).
inline constexpr const char* kSqliteStorage = "sqlite";      ///< a SQLite file per service
inline constexpr const char* kPostgresStorage = "postgres";  ///< a PostgreSQL database per service

/// The standard suite of `make bench` (docs/benchmarks.md "Method"), on one broker.
struct SuiteOptions {
  std::string source_dir;  ///< repository root: config/orderflow.yaml and the service configs
  std::string bin_dir;     ///< orderflow-broker and the services
  std::string work_dir;    ///< temp dir for data, catalog and baselines (created, not removed)
  /// kEmbeddedBroker: every saga phase on a fresh system with its own embedded broker.
  /// kKafkaBroker: one Kafka cluster (KafkaCluster, `cluster_brokers` JVMs) for the whole run,
  /// fresh services for every phase; its JVMs' CPU and memory are reported as kafka-N.
  std::string broker = kEmbeddedBroker;
  int cluster_brokers = 3;
  /// kKafkaBroker only: an already running cluster to use instead of starting one (its JVMs'
  /// CPU is then not reported). Topics are created on it when missing.
  std::string external_bootstrap;
  std::chrono::milliseconds phase{10000};  ///< length of every measured load phase
  int connections = 32;                    ///< keep-alive connections of the load generator
  std::vector<double> saga_rates{200, 500, 1000, 2000};
  double api_rate = 1000;
  int max_search_steps = 4;
  double p99_limit_ms = 100;  ///< "sustainable": e2e p99 under this and no errors
  /// Extra `--set key=value` for every service (what-if runs, e.g. log.level=warn).
  std::vector<std::string> service_overrides;
  bool local_baselines = true;  ///< raw SQLite commits and the no-op HTTP handler
  bool kafka_baseline = true;   ///< raw librdkafka produce → consume through this broker
  bool api_only = true;         ///< run the API-only scenario
  bool closed_loop = true;      ///< the closed-loop saga phase and the consumer hop drain
  /// The full saga's standard phases: idle figures, fixed rates, closed loop, the search for
  /// the maximum sustainable rate (false: only the scale-out scenario, if any, runs of it).
  bool saga_phases = true;
  /// Products in the bench's catalog (BENCH-1 … BENCH-N, 10^9 units each); order i buys one
  /// unit of product i mod skus. 1 = every order reserves the same product (its row is the
  /// one every inventory transaction writes).
  int skus = 1;
  /// kSqliteStorage (the services' configuration as it is) or kPostgresStorage: every system
  /// of the run on the server `postgres_url`, each on fresh databases of its own (a new
  /// storage.postgres.database_prefix per system), and the raw PostgreSQL commit baseline.
  std::string storage = kSqliteStorage;
  /// kPostgresStorage: a libpq URI of the server, password included, naming an existing
  /// database of a user allowed to CREATE DATABASE (e.g. PostgresServer::url_with_password
  /// ("postgres")). Required then; run_suite() throws std::invalid_argument without it.
  std::string postgres_url;
  /// The server's postmaster when this run started it: its processes (the postmaster and its
  /// children) are reported as "postgres" in the CPU and memory tables. -1 = not reported.
  pid_t postgres_pid = -1;
  /// Connection counts of the raw PostgreSQL commit baseline (kPostgresStorage only).
  std::vector<int> postgres_baseline_connections{1, 8};
  /// Instances of every service (ServiceSpec::replicas) in every system of the run; the load
  /// generator spreads its connections over every order-service instance. > 1 needs
  /// kPostgresStorage.
  int replicas = 1;
  /// The scale-out scenario: for each count here (e.g. 1, 2), the full saga with that many
  /// instances of every service, closed loop and open loop at scale_out_rate, on fresh
  /// systems, `scale_out_rounds` times in turn. Empty = not run. Counts > 1 need
  /// kPostgresStorage.
  std::vector<int> scale_out;
  int scale_out_rounds = 2;
  double scale_out_rate = 200;
};

/// Runs baselines, API-only, full-saga and (options.scale_out) scale-out scenarios on
/// options.broker and options.storage and returns every figure as JSON (schema:
/// docs/benchmarks.md). Throws std::runtime_error when the system or the cluster cannot start,
/// std::invalid_argument when options.storage is postgres without options.postgres_url.
nlohmann::json run_suite(const SuiteOptions& options, const std::shared_ptr<spdlog::logger>& log);

/// One service setting of a sweep: `--set key=value` for every service, one value at a time.
struct SweepSetting {
  std::string key;                  ///< e.g. kafka.consumer.fetch.wait.max.ms
  std::vector<std::string> values;  ///< e.g. 5, 50, 100, 500
};

/// The full saga at options.saga_rates on options.broker for the services' configuration as
/// it is, then once per value of every setting (one factor at a time, the others as
/// configured). Every phase runs on fresh services (and, embedded, a fresh broker). Returns
/// {"broker", "rates", "runs": [{"setting", "value", "phases": [...]}]}.
nlohmann::json run_sweep(const SuiteOptions& options, const std::vector<SweepSetting>& settings,
                         const std::shared_ptr<spdlog::logger>& log);

/// One full-saga phase as run_suite() runs each: a fresh system on options.broker (embedded:
/// with a broker of its own) and options.storage, a 2 s warm-up at 200 orders/s, then `mode`
/// at `rate` orders/s (kOpen) for options.phase over options.connections. Returns the phase's
/// JSON as in run_suite()'s "saga" (load, e2e, finishedPerS, processes: per process cpuS,
/// cpuPercent, rssMiB over the phase and the wait for its orders' terminal events, …).
/// Throws as run_suite().
nlohmann::json run_saga_phase(const SuiteOptions& options, const std::string& name, LoadMode mode,
                              double rate, const std::shared_ptr<spdlog::logger>& log);

}  // namespace orderflow::bench
