#include "suite.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

#include "bench_system.h"
#include "db_probe.h"
#include "kafka_cluster.h"
#include "kafka_probe.h"
#include "load_generator.h"
#include "orderflow/config/kafka_profile.h"
#include "orderflow/http/client.h"
#include "orderflow/http/router.h"
#include "orderflow/http/server.h"
#include "orderflow/messaging/topic_admin.h"
#include "orderflow/observability/metrics.h"
#include "postgres_probe.h"
#include "postgres_server.h"
#include "process_stats.h"
#include "system.h"

namespace orderflow::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr const char* kBaselineTopic = "bench.baseline.v1";
/// The process name of the PostgreSQL server in the CPU and memory figures: the postmaster
/// with its children summed (sample_process_tree).
constexpr const char* kPostgresProcess = "postgres";

std::optional<ProcessSample> sample(const std::string& name, pid_t pid) {
  return name == kPostgresProcess ? sample_process_tree(pid) : sample_process(pid);
}

/// CPU (% of one core) and memory of every process over a phase.
class ProcessWatch {
 public:
  explicit ProcessWatch(std::map<std::string, pid_t> pids) : pids_(std::move(pids)) {
    pids_["orderflow-bench"] = getpid();
    started_ = Clock::now();
    machine_before_ = machine_busy_seconds();
    for (const auto& [name, pid] : pids_) {
      if (auto s = sample(name, pid)) before_[name] = *s;
    }
  }
  nlohmann::json finish() const {
    auto wall = std::chrono::duration<double>(Clock::now() - started_).count();
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, pid] : pids_) {
      auto s = sample(name, pid);
      if (!s || before_.count(name) == 0) continue;
      const double cpu_s = s->cpu_s - before_.at(name).cpu_s;
      out[name] = {{"cpuPercent", 100.0 * cpu_s / wall},
                   {"cpuS", cpu_s},
                   {"rssMiB", static_cast<double>(s->rss_kib) / 1024.0},
                   {"peakRssMiB", static_cast<double>(s->peak_rss_kib) / 1024.0}};
    }
    return out;
  }
  /// The whole machine's busy CPU since construction, % of one core (this run's processes
  /// and everything else on the machine).
  [[nodiscard]] double machine_cpu_percent() const {
    auto wall = std::chrono::duration<double>(Clock::now() - started_).count();
    return 100.0 * (machine_busy_seconds() - machine_before_) / wall;
  }

 private:
  std::map<std::string, pid_t> pids_;
  Clock::time_point started_;
  double machine_before_ = 0;
  std::map<std::string, ProcessSample> before_;
};

nlohmann::json memory_of(const std::map<std::string, pid_t>& pids) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, pid] : pids) {
    if (auto s = sample(name, pid)) {
      out[name] = {{"rssMiB", static_cast<double>(s->rss_kib) / 1024.0},
                   {"peakRssMiB", static_cast<double>(s->peak_rss_kib) / 1024.0}};
    }
  }
  return out;
}

// Sum of orderflow_messages_total over every label set, from a service's /metrics.
double messages_total(const cli::Endpoint& ep) {
  auto r = http::request(ep.host, ep.port, "GET", "/metrics", {}, {}, 2000ms);
  if (!r || r->status != 200) return 0;
  double total = 0;
  std::istringstream in(r->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("orderflow_messages_total{", 0) != 0) continue;
    auto space = line.rfind(' ');
    if (space != std::string::npos) total += std::stod(line.substr(space + 1));
  }
  return total;
}

// POST /api/orders spread over `servers` for options.phase with options.connections.
LoadOptions phase_load(const std::vector<cli::Endpoint>& servers, const SuiteOptions& options) {
  auto load = bench::order_load(servers, options.skus);
  load.duration = options.phase;
  load.connections = options.connections;
  return load;
}

bool sustainable(const nlohmann::json& phase, double p99_limit_ms) {
  const auto& load = phase["load"];
  const auto& e2e = phase["e2e"];
  return load["errors"] == 0 && load["timeouts"] == 0 && load["unsent"] == 0 &&
         e2e["missing"] == 0 && e2e["cancelled"] == 0 &&
         e2e["latency"]["p99Ms"].get<double>() < p99_limit_ms;
}

class SagaRunner {
 public:
  SagaRunner(cli::System& system, TerminalWatcher& watcher, const SuiteOptions& options,
             std::map<std::string, pid_t> broker_pids, std::shared_ptr<spdlog::logger> log)
      : system_(system),
        watcher_(watcher),
        options_(options),
        broker_pids_(std::move(broker_pids)),
        log_(std::move(log)) {}

  nlohmann::json run(const std::string& name, LoadMode mode, double rate,
                     std::chrono::milliseconds duration) {
    auto load = phase_load(order_endpoints(system_), options_);
    load.mode = mode;
    load.rate = rate;
    load.duration = duration;
    load.on_response = [this](std::int64_t, Clock::time_point intended, const http::Response& r) {
      if (r.status == 201) watcher_.expect(order_id_of(r.body), intended);
    };
    std::map<std::string, double> messages_before;
    for (const auto& [svc, ep] : system_.endpoints()) messages_before[svc] = messages_total(ep);
    auto pids = system_.pids();
    pids.insert(broker_pids_.begin(), broker_pids_.end());
    ProcessWatch watch(pids);
    auto started = Clock::now();
    auto result = run_load(load);
    auto e2e = watcher_.collect(Clock::now() + 30s);
    auto wall = std::chrono::duration<double>(Clock::now() - started).count();
    // Orders the saga finished per second: unlike the POST rate it does not count orders
    // that only queued up in the services (a closed loop can post faster than the saga ends).
    const double finishing = std::chrono::duration<double>(e2e.last_terminal - started).count();
    const double finished_per_s =
        finishing > 0 ? static_cast<double>(e2e.completed + e2e.cancelled) / finishing : 0;
    nlohmann::json hops = nlohmann::json::object();
    for (const auto& [svc, ep] : system_.endpoints()) {
      hops[svc] = (messages_total(ep) - messages_before[svc]) / wall;
    }
    nlohmann::json phase = {{"name", name},
                            {"mode", mode == LoadMode::kOpen ? "open" : "closed"},
                            {"rate", rate},
                            {"load", to_json(result)},
                            {"e2e", to_json(e2e)},
                            {"finishedPerS", finished_per_s},
                            {"processes", watch.finish()},
                            {"machineCpuPercent", watch.machine_cpu_percent()},
                            {"messagesPerS", hops}};
    log_->info(
        "phase {}: offered {:.0f}/s, ok {:.0f}/s, finished {:.0f}/s, api p99 {:.2f} ms, e2e p50 "
        "{:.2f} p99 {:.2f} ms, errors {} timeouts {} missing {} cancelled {}",
        name, rate, result.throughput, finished_per_s, result.latency.p99_ms, e2e.latency.p50_ms,
        e2e.latency.p99_ms, result.errors, result.timeouts, e2e.missing, e2e.cancelled);
    return phase;
  }

 private:
  cli::System& system_;
  TerminalWatcher& watcher_;
  const SuiteOptions& options_;
  std::map<std::string, pid_t> broker_pids_;
  std::shared_ptr<spdlog::logger> log_;
};

/// The broker of a whole run: nothing to do for the embedded one (every System starts its
/// own); for Kafka a cluster started once (or an external one), its topics, its JVMs' pids.
class BrokerUnderTest {
 public:
  BrokerUnderTest(const SuiteOptions& options, std::shared_ptr<spdlog::logger> log)
      : options_(options), log_(std::move(log)) {}
  ~BrokerUnderTest() { stop(); }
  BrokerUnderTest(const BrokerUnderTest&) = delete;
  BrokerUnderTest& operator=(const BrokerUnderTest&) = delete;

  [[nodiscard]] bool embedded() const { return options_.broker == kEmbeddedBroker; }

  void start() {
    if (embedded()) return;
    if (!options_.external_bootstrap.empty()) {
      bootstrap_ = options_.external_bootstrap;
    } else {
      cli::KafkaClusterOptions cluster;
      cluster.data_dir = options_.work_dir + "/kafka-cluster";
      cluster.brokers = options_.cluster_brokers;
      cluster_ = std::make_unique<cli::KafkaCluster>(cluster, log_);
      auto started = Clock::now();
      cluster_->start();
      log_->info("kafka cluster of {} nodes up in {:.1f} s: {}", options_.cluster_brokers,
                 std::chrono::duration<double>(Clock::now() - started).count(),
                 cluster_->bootstrap_servers());
      bootstrap_ = cluster_->bootstrap_servers();
    }
    // The topics as `orderflow up --broker kafka` creates them, and the raw baseline's.
    auto spec = cli::load_system_spec(options_.source_dir + "/config/orderflow.yaml",
                                      options_.work_dir, options_.bin_dir);
    const int replication = messaging::default_replication_factor(options_.cluster_brokers);
    const std::map<std::string, std::string> configs{
        {"min.insync.replicas",
         std::to_string(messaging::default_min_insync_replicas(replication))}};
    std::vector<messaging::TopicSpec> topics{
        {kBaselineTopic, spec.partitions, replication, configs}};
    for (const auto& name : spec.topics) {
      topics.push_back({name, spec.partitions, replication, configs});
      topics.push_back({name + spec.dlt_suffix, spec.partitions, replication, configs});
    }
    messaging::KafkaConfig kafka;
    kafka.bootstrap_servers = bootstrap_;
    kafka.client_id = "orderflow-bench";
    config::apply_kafka_profile(
        config::load_kafka_profile("cluster", options_.source_dir + "/config/kafka-profiles.yaml"),
        kafka);
    messaging::ensure_topics(kafka, topics, 60s, log_);
  }

  void stop() {
    if (cluster_) cluster_->stop();
    cluster_.reset();
  }

  /// Points a system at this broker.
  void adapt(cli::SystemSpec& spec) const {
    if (embedded()) return;
    spec.bootstrap_servers = bootstrap_;
  }

  /// The processes every system of the run shares: the JVMs (kafka-N) of a cluster this run
  /// started, and the PostgreSQL server ("postgres") when this run started it.
  [[nodiscard]] std::map<std::string, pid_t> pids() const {
    std::map<std::string, pid_t> out;
    if (options_.storage == kPostgresStorage && options_.postgres_pid > 0)
      out[kPostgresProcess] = options_.postgres_pid;
    if (!cluster_) return out;
    auto jvms = cluster_->pids();
    for (std::size_t i = 0; i < jvms.size(); ++i) {
      if (jvms[i] > 0) out["kafka-" + std::to_string(i + 1)] = jvms[i];
    }
    return out;
  }

 private:
  const SuiteOptions& options_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<cli::KafkaCluster> cluster_;
  std::string bootstrap_;
};

/// librdkafka properties of the bench's own clients (the raw baseline, the e2e watcher, the raw
/// drain) on this broker: the services' profile on it (config/kafka-profiles.yaml).
struct ClientProperties {
  std::map<std::string, std::string> producer;
  std::map<std::string, std::string> consumer;
};

ClientProperties client_properties(const SuiteOptions& options) {
  messaging::KafkaConfig kafka;
  config::apply_kafka_profile(
      config::load_kafka_profile(options.broker == kEmbeddedBroker ? "embedded" : "cluster",
                                 options.source_dir + "/config/kafka-profiles.yaml"),
      kafka);
  ClientProperties out{kafka.properties, kafka.properties};
  for (const auto& [k, v] : kafka.producer_properties) out.producer[k] = v;
  for (const auto& [k, v] : kafka.consumer_properties) out.consumer[k] = v;
  return out;
}

// A storage.postgres.database_prefix no other system of this process (or of an earlier
// run on the same external server) has used: every system starts on empty databases.
std::string fresh_database_prefix() {
  static std::atomic<int> systems{0};
  return "bench" + std::to_string(getpid()) + "_" + std::to_string(++systems) + "_";
}

// The dev system with every port 0 and the bench's catalog; `only` names the one service to
// run (with the broker), empty = all of them; `replicas` instances of each (0 =
// options.replicas). On PostgreSQL every call gets databases of its own.
cli::SystemSpec system_spec(const SuiteOptions& options, const BrokerUnderTest& broker,
                            const std::string& data_dir, const std::string& catalog,
                            const std::string& only = {},
                            const std::vector<std::string>& extra_overrides = {},
                            int replicas = 0) {
  auto overrides = options.service_overrides;
  overrides.insert(overrides.end(), extra_overrides.begin(), extra_overrides.end());
  auto spec = bench_system_spec(options.source_dir, options.bin_dir, data_dir, catalog, overrides,
                                only, replicas > 0 ? replicas : options.replicas);
  if (options.storage == kPostgresStorage) {
    spec.storage_backend = cli::SystemSpec::kPostgres;
    spec.postgres_url = options.postgres_url;
    spec.postgres_database_prefix = fresh_database_prefix();
  }
  // The mock cluster of this librdkafka does not serve CreateTopics: the broker creates the
  // raw baseline's topic at start like the system's own.
  spec.topics.emplace_back(kBaselineTopic);
  broker.adapt(spec);
  return spec;
}

nlohmann::json api_phase(const std::string& name, const std::vector<cli::Endpoint>& servers,
                         const SuiteOptions& options, LoadMode mode, double rate,
                         const std::map<std::string, pid_t>& pids, bool noop) {
  auto load = phase_load(servers, options);
  load.mode = mode;
  load.rate = rate;
  if (noop) load.target = "/noop";
  ProcessWatch watch(pids);
  auto result = run_load(load);
  return {{"name", name},
          {"mode", mode == LoadMode::kOpen ? "open" : "closed"},
          {"rate", rate},
          {"load", to_json(result)},
          {"processes", watch.finish()}};
}

std::map<std::string, pid_t> merged(std::map<std::string, pid_t> a,
                                    const std::map<std::string, pid_t>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

// A consumer hop in isolation: a second notification-service in a new consumer group drains
// the backlog the saga phases left on its topics; records/s from its first record to the end
// of the backlog or 20 s, whichever comes first (orderflow_messages_total on /metrics, polled
// every 20 ms).
nlohmann::json notification_drain(const cli::System& system, const SuiteOptions& options,
                                  const BrokerUnderTest& broker, const std::string& catalog,
                                  const std::shared_ptr<spdlog::logger>& log) {
  const std::int64_t backlog = topic_end_offsets(system.bootstrap_servers(), "orders.v1") +
                               topic_end_offsets(system.bootstrap_servers(), "payments.v1");
  // The baseline of this hop: a raw consumer reading the same records and producer batches.
  const double raw = raw_drain_rate(system.bootstrap_servers(), {"orders.v1", "payments.v1"}, 20s,
                                    client_properties(options).consumer);
  log->info("raw drain: {:.0f} records/s", raw);
  auto spec = system_spec(options, broker, options.work_dir + "/drain", catalog,
                          "notification-service", {}, 1);
  spec.bootstrap_servers = system.bootstrap_servers();
  spec.services.at(0).overrides.push_back("consumer.group_id=bench-drain-" +
                                          std::to_string(Clock::now().time_since_epoch().count()));
  cli::System drain(spec, log);
  drain.start();
  ProcessWatch watch(
      merged({{"notification-service", drain.pids().at("notification-service")}}, broker.pids()));
  const auto& ep = drain.endpoints().at("notification-service");
  double first = -1;
  double last = 0;
  Clock::time_point first_at{};
  Clock::time_point last_at{};
  auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline) {
    double n = messages_total(ep);
    auto now = Clock::now();
    if (first >= 0 && (now - first_at > 20s || now - last_at > 2s)) break;
    if (first < 0 && n > 0) {
      first = n;
      first_at = now;
    }
    if (n > last) {
      last = n;
      last_at = now;
    }
    if (n >= static_cast<double>(backlog)) break;
    std::this_thread::sleep_for(20ms);
  }
  auto processes = watch.finish();
  drain.stop();
  double seconds = std::chrono::duration<double>(last_at - first_at).count();
  double rate = seconds > 0 ? (last - first) / seconds : 0;
  log->info("hop drain: notification-service {} of {} records, {:.0f} records/s", last, backlog,
            rate);
  return {{"service", "notification-service"},
          {"backlog", backlog},
          {"consumed", last},
          {"recordsPerS", rate},
          {"rawRecordsPerS", raw},
          {"processes", processes}};
}

/// Full-saga phases, each on fresh services (and, embedded, a fresh broker).
class SagaPhases {
 public:
  SagaPhases(const SuiteOptions& options, const BrokerUnderTest& broker, std::string catalog,
             std::shared_ptr<spdlog::logger> log)
      : options_(options), broker_(broker), catalog_(std::move(catalog)), log_(std::move(log)) {}

  /// A 2 s warm-up at 200 orders/s, then the measured phase; `drain` also runs the consumer
  /// hop drain on that system afterwards (into *drain_out). `replicas` instances of every
  /// service (0 = options.replicas).
  nlohmann::json run(const std::string& name, LoadMode mode, double rate,
                     const std::vector<std::string>& overrides = {},
                     nlohmann::json* drain_out = nullptr, int replicas = 0) {
    cli::System system(
        system_spec(options_, broker_, options_.work_dir + "/saga-" + std::to_string(++systems_),
                    catalog_, {}, overrides, replicas),
        log_);
    system.start();
    TerminalWatcher watcher(system.bootstrap_servers(), "orders.v1",
                            client_properties(options_).consumer);
    watcher.start();
    SagaRunner saga(system, watcher, options_, broker_.pids(), log_);
    // Group joins and first connections make the first orders slow; not part of the phase.
    saga.run(name + "-warm-up", LoadMode::kOpen, 200, 2s);
    auto phase = saga.run(name, mode, rate, options_.phase);
    watcher.stop();
    note_peak(merged(system.pids(), broker_.pids()));
    if (drain_out != nullptr) {
      log_->info("scenario: consumer hop drain");
      *drain_out = notification_drain(system, options_, broker_, catalog_, log_);
    }
    system.stop();
    return phase;
  }

  [[nodiscard]] const nlohmann::json& peak() const { return peak_; }

 private:
  void note_peak(const std::map<std::string, pid_t>& pids) {
    const auto now = memory_of(pids);
    for (const auto& [name, m] : now.items()) {
      double v = m["peakRssMiB"].get<double>();
      if (!peak_.contains(name) || peak_[name]["peakRssMiB"].get<double>() < v) peak_[name] = m;
    }
  }

  const SuiteOptions& options_;
  const BrokerUnderTest& broker_;
  std::string catalog_;
  std::shared_ptr<spdlog::logger> log_;
  int systems_ = 0;
  nlohmann::json peak_ = nlohmann::json::object();
};

}  // namespace

nlohmann::json run_suite(const SuiteOptions& options, const std::shared_ptr<spdlog::logger>& log) {
  if (options.storage == kPostgresStorage && options.postgres_url.empty())
    throw std::invalid_argument("run_suite: storage postgres needs options.postgres_url");
  fs::create_directories(options.work_dir);
  const auto catalog = write_catalog(options.work_dir, options.skus);
  nlohmann::json out;
  out["broker"] = options.broker;
  out["storage"] = options.storage;
  out["replicas"] = options.replicas;
  out["phaseMs"] = options.phase.count();
  out["connections"] = options.connections;
  out["skus"] = options.skus;

  if (options.local_baselines) {
    // (b) raw commit rate of the database, same durability and transaction shape.
    log->info("baseline: raw SQLite commits");
    out["baselines"]["db"] =
        to_json(run_db_baseline(options.work_dir + "/baseline-full.db", "FULL", 3s));
    out["baselines"]["dbNormal"] =
        to_json(run_db_baseline(options.work_dir + "/baseline-normal.db", "NORMAL", 2s));
    if (options.storage == kPostgresStorage) {
      // The same shape on the server the services use, durable (synchronous_commit on).
      const std::string database = fresh_database_prefix() + "baseline";
      cli::ensure_postgres_database(options.postgres_url, database);
      const auto url = cli::postgres_uri_with_database(options.postgres_url, database);
      out["baselines"]["postgres"] = nlohmann::json::array();
      for (int connections : options.postgres_baseline_connections) {
        log->info("baseline: raw PostgreSQL commits, {} connection(s)", connections);
        auto result = to_json(run_postgres_baseline(url, connections, 3s));
        result["connections"] = connections;
        out["baselines"]["postgres"].push_back(result);
      }
      cli::drop_postgres_database(options.postgres_url, database);
    }

    // (c) a no-op handler on the same HTTP stack, same load generator and body.
    {
      log->info("baseline: no-op HTTP handler");
      observability::Metrics metrics("bench-noop");
      http::Router router;
      std::atomic<std::int64_t> ids{0};
      router.add("POST", "/noop", [&](const http::Request&) {
        return http::Response::json(201,
                                    {{"orderId", ids.fetch_add(1) + 1}, {"status", "PENDING"}});
      });
      http::ServerOptions server_options;
      server_options.host = "127.0.0.1";
      http::Server server(server_options, router, metrics, log);
      server.start();
      std::vector<cli::Endpoint> ep{{"127.0.0.1", server.port()}};
      out["baselines"]["httpOpen"] =
          api_phase("noop-open", ep, options, LoadMode::kOpen, options.api_rate, {}, true);
      out["baselines"]["httpClosed"] =
          api_phase("noop-closed", ep, options, LoadMode::kClosed, 0, {}, true);
      server.stop();
    }
  }

  log->info("broker under test: {}", options.broker);
  BrokerUnderTest broker(options, log);
  broker.start();

  // API only: the broker and order-service (its relay still publishes every ORDER_CREATED).
  if (options.api_only) {
    log->info("scenario: API only");
    cli::System system(
        system_spec(options, broker, options.work_dir + "/api", catalog, "order-service"), log);
    system.start();
    const auto ep = order_endpoints(system);
    const auto pids = merged(system.pids(), broker.pids());
    out["api"]["idle"] = memory_of(pids);
    out["api"]["open"] =
        api_phase("api-open", ep, options, LoadMode::kOpen, options.api_rate, pids, false);
    out["api"]["closed"] = api_phase("api-closed", ep, options, LoadMode::kClosed, 0, pids, false);
    system.stop();
  }

  SagaPhases saga(options, broker, catalog, log);
  if (options.saga_phases) {
    // Full saga. Every phase runs on freshly started services: the embedded broker scans its
    // log linearly, so its CPU grows with the records it retains (measured: 36% of a core in the
    // first phase, 70% four phases later at a lower rate), which would make a phase's figures
    // depend on the phases before it. A Kafka cluster stays up for the whole run, as it would.
    log->info("scenario: full saga");
    {
      cli::System system(system_spec(options, broker, options.work_dir + "/saga-0", catalog), log);
      system.start();
      // Let start-up work (migrations, catalog seeding, group joins) settle before "idle".
      std::this_thread::sleep_for(2s);
      out["idle"] = memory_of(merged(system.pids(), broker.pids()));
      {
        // What the system costs with no load: polling consumers, heartbeats, relays.
        ProcessWatch watch(merged(system.pids(), broker.pids()));
        std::this_thread::sleep_for(5s);
        out["idleCpu"] = {{"name", "idle"},
                          {"processes", watch.finish()},
                          {"machineCpuPercent", watch.machine_cpu_percent()}};
      }
      // (a) raw librdkafka produce → consume through the same broker.
      if (options.kafka_baseline) {
        log->info("baseline: raw librdkafka produce → consume");
        KafkaBaselineOptions kafka;
        kafka.bootstrap = system.bootstrap_servers();
        kafka.topic = kBaselineTopic;
        kafka.create_topic = false;
        kafka.producer_properties = client_properties(options).producer;
        kafka.consumer_properties = client_properties(options).consumer;
        ProcessWatch watch(merged(system.pids(), broker.pids()));
        out["baselines"]["kafka"] = to_json(run_kafka_baseline(kafka));
        out["baselines"]["kafka"]["processes"] = watch.finish();
      }
      system.stop();
    }

    nlohmann::json phases = nlohmann::json::array();
    double best = 0;
    double first_fail = 0;
    for (double rate : options.saga_rates) {
      auto phase =
          saga.run("saga-" + std::to_string(static_cast<int>(rate)), LoadMode::kOpen, rate);
      bool ok = sustainable(phase, options.p99_limit_ms);
      phase["sustainable"] = ok;
      if (ok && first_fail == 0) best = std::max(best, rate);
      if (!ok && first_fail == 0) first_fail = rate;
      phases.push_back(phase);
    }
    double closed_rate = 0;
    if (options.closed_loop) {
      nlohmann::json drain;
      auto closed = saga.run("saga-closed", LoadMode::kClosed, 0, {}, &drain);
      out["saga"]["closed"] = closed;
      out["hopDrain"] = drain;
      closed_rate = closed["load"]["throughput"].get<double>();
    }

    // Maximum sustainable rate: bisect between the best passing and the first failing rate.
    double hi = first_fail > 0 ? first_fail : std::max(best * 1.5, closed_rate);
    for (int step = 0; step < options.max_search_steps && hi - best > std::max(50.0, best * 0.05);
         ++step) {
      double rate = std::round((best + hi) / 2 / 50) * 50;
      if (rate <= best || rate >= hi) break;
      auto phase =
          saga.run("search-" + std::to_string(static_cast<int>(rate)), LoadMode::kOpen, rate);
      bool ok = sustainable(phase, options.p99_limit_ms);
      phase["sustainable"] = ok;
      phases.push_back(phase);
      (ok ? best : hi) = rate;
    }
    out["saga"]["phases"] = phases;
    out["saga"]["maxSustainable"] = best;
  }

  // Scale-out: the same saga with 1, 2, … instances of every service, in turn, round after
  // round, so that a change of the machine's other load hits every count alike.
  if (!options.scale_out.empty()) {
    log->info("scenario: scale-out");
    nlohmann::json scale = nlohmann::json::array();
    for (int round = 1; round <= options.scale_out_rounds; ++round) {
      for (int instances : options.scale_out) {
        const std::string tag = "x" + std::to_string(instances) + "-r" + std::to_string(round);
        auto open = saga.run(
            "scale-" + std::to_string(static_cast<int>(options.scale_out_rate)) + "-" + tag,
            LoadMode::kOpen, options.scale_out_rate, {}, nullptr, instances);
        open["sustainable"] = sustainable(open, options.p99_limit_ms);
        auto closed = saga.run("scale-closed-" + tag, LoadMode::kClosed, 0, {}, nullptr, instances);
        scale.push_back(
            {{"instances", instances}, {"round", round}, {"open", open}, {"closed", closed}});
      }
    }
    out["scaleOut"] = {{"rate", options.scale_out_rate}, {"runs", scale}};
  }
  out["peak"] = saga.peak();
  broker.stop();
  return out;
}

nlohmann::json run_sweep(const SuiteOptions& options, const std::vector<SweepSetting>& settings,
                         const std::shared_ptr<spdlog::logger>& log) {
  fs::create_directories(options.work_dir);
  const auto catalog = write_catalog(options.work_dir, options.skus);
  BrokerUnderTest broker(options, log);
  broker.start();
  SagaPhases saga(options, broker, catalog, log);
  nlohmann::json runs = nlohmann::json::array();
  auto measure = [&](const std::string& key, const std::string& value) {
    std::vector<std::string> overrides;
    if (!key.empty()) overrides.push_back(key + "=" + value);
    nlohmann::json phases = nlohmann::json::array();
    for (double rate : options.saga_rates) {
      auto name = "saga-" + std::to_string(static_cast<int>(rate)) +
                  (key.empty() ? std::string() : " " + key + "=" + value);
      phases.push_back(saga.run(name, LoadMode::kOpen, rate, overrides));
    }
    runs.push_back({{"setting", key}, {"value", value}, {"phases", phases}});
  };
  measure("", "");
  for (const auto& s : settings) {
    for (const auto& v : s.values) measure(s.key, v);
  }
  broker.stop();
  return {{"broker", options.broker},
          {"rates", options.saga_rates},
          {"phaseMs", options.phase.count()},
          {"runs", runs}};
}

nlohmann::json run_saga_phase(const SuiteOptions& options, const std::string& name, LoadMode mode,
                              double rate, const std::shared_ptr<spdlog::logger>& log) {
  if (options.storage == kPostgresStorage && options.postgres_url.empty())
    throw std::invalid_argument("run_saga_phase: storage postgres needs options.postgres_url");
  fs::create_directories(options.work_dir);
  const auto catalog = write_catalog(options.work_dir, options.skus);
  BrokerUnderTest broker(options, log);
  broker.start();
  SagaPhases saga(options, broker, catalog, log);
  auto phase = saga.run(name, mode, rate);
  broker.stop();
  return phase;
}

}  // namespace orderflow::bench
