#include "system.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <utility>

#include "bus_acls.h"
#include "child_process.h"
#include "orderflow/config/config.h"
#include "orderflow/http/client.h"
#include "orderflow/messaging/topic_admin.h"
#include "postgres_server.h"
#include "supervisor.h"

namespace orderflow::cli {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

fs::path bootstrap_file(const SystemSpec& spec) {
  return fs::path(spec.data_dir) / "broker.bootstrap";
}

std::string kafka_node_name(int node) { return "kafka-" + std::to_string(node); }

std::string port_file(const SystemSpec& spec, const std::string& service) {
  return (fs::path(spec.data_dir) / (service + ".port")).string();
}

}  // namespace

System::System(SystemSpec spec, std::shared_ptr<spdlog::logger> logger)
    : spec_(std::move(spec)), logger_(std::move(logger)) {
  for (const auto& service : spec_.services) {
    for (int index = 1; index <= std::max(1, service.replicas); ++index) {
      instances_.push_back({instance_name(service.name, index), &service, index});
    }
  }
}

System::~System() { stop(); }

pid_t System::spawn(const std::string& name, const std::string& executable,
                    const std::vector<std::string>& args) {
  auto exe = (fs::path(spec_.bin_dir) / executable).string();
  if (!fs::exists(exe)) throw std::runtime_error("executable not found: " + exe);
  auto log_file = (fs::path(spec_.data_dir) / "logs" / (name + ".log")).string();
  std::vector<std::string> command{exe};
  command.insert(command.end(), args.begin(), args.end());
  auto argv_store = launch_command(spec_.launcher, name, std::move(command));
  ChildOptions options;
  options.log_file = spec_.inherit_output ? "" : log_file;
  if (is_service(name) && !postgres_password_.empty()) {
    options.env["PGPASSWORD"] = postgres_password_;
  }
  if (const auto* instance = find_instance(name);
      instance != nullptr && spec_.kafka_security == KafkaSecurity::kScram && cluster_) {
    // The service's own principal; the password never on its command line.
    const auto& user = instance->service->name;
    options.env["ORDERFLOW__KAFKA__SASL__USERNAME"] = user;
    options.env["ORDERFLOW__KAFKA__SASL__PASSWORD"] =
        cluster_->client_config(user).properties.at("sasl.password");
  }
  if (is_service(name)) {
    const auto& auth = spec_.auth;
    static constexpr const char* kModes[] = {"none", "optional", "required"};
    options.env["ORDERFLOW__AUTH__MODE"] = kModes[static_cast<int>(auth.mode)];
    options.env["ORDERFLOW__AUTH__ALGORITHM"] = http::to_string(auth.algorithm);
    options.env["ORDERFLOW__AUTH__CLOCK_SKEW_MS"] = std::to_string(auth.clock_skew.count());
    for (const auto& [key, value] :
         {std::pair<const char*, const std::string&>{"SECRET", auth.secret},
          {"PUBLIC_KEY_FILE", auth.public_key_file},
          {"ISSUER", auth.issuer},
          {"AUDIENCE", auth.audience}}) {
      if (!value.empty()) options.env[std::string("ORDERFLOW__AUTH__") + key] = value;
    }
  }
  pid_t pid = spawn_child(argv_store, options);
  if (auto* child = find(name)) {
    child->pid = pid;
  } else {
    children_.push_back({name, pid});
  }
  logger_->debug("started {} pid={}", name, pid);
  write_pids_file();
  return pid;
}

System::Child* System::find(const std::string& name) {
  for (auto& child : children_) {
    if (child.name == name) return &child;
  }
  return nullptr;
}

const System::Instance* System::find_instance(const std::string& name) const {
  for (const auto& instance : instances_) {
    if (instance.name == name) return &instance;
  }
  return nullptr;
}

bool System::is_service(const std::string& name) const { return find_instance(name) != nullptr; }

config::Source System::service_source(const ServiceSpec& service) const {
  auto overrides = storage_overrides(service);
  overrides.insert(overrides.end(), service.overrides.begin(), service.overrides.end());
  return config::Source::load(service.config_file, config::Source::process_environment(),
                              overrides);
}

std::vector<std::string> System::storage_overrides(const ServiceSpec& service) const {
  if (spec_.storage_backend != SystemSpec::kPostgres) return {};
  std::vector<std::string> out{std::string("storage.backend=") + SystemSpec::kPostgres};
  // Known once start_postgres() created the database.
  if (auto uri = database_uris_.find(service.name); uri != database_uris_.end()) {
    out.push_back("storage.postgres.url=" + uri->second);
  }
  return out;
}

void System::check_replicas() const {
  for (const auto& service : spec_.services) {
    if (service.replicas <= 1) continue;
    auto backend = service_source(service).scalar("storage.backend").value_or("sqlite");
    if (backend != "sqlite") continue;
    // SQLite itself serialises the processes' writes, but the services' outbox relays read
    // their unsent rows without claiming them: two instances on one file would publish every
    // event twice, racing each other, and so out of order for one order.
    throw config::ConfigError(
        service.name + ": " + std::to_string(service.replicas) +
        " replicas need a database that several instances can share; it stores in SQLite, one "
        "file per service, whose outbox two instances would both publish (every event twice and "
        "out of order). Run with --storage postgres, or with one replica");
  }
}

std::vector<std::string> System::broker_args() const {
  std::vector<std::string> args{"--data-dir",   spec_.data_dir,
                                "--brokers",    std::to_string(spec_.brokers),
                                "--partitions", std::to_string(spec_.partitions)};
  for (const auto& t : spec_.topics) {
    args.insert(args.end(), {"--topic", t, "--topic", t + spec_.dlt_suffix});
  }
  return args;
}

std::vector<std::string> System::service_args(const Instance& instance, int port) const {
  const ServiceSpec& service = *instance.service;
  std::vector<std::string> args;
  if (!service.config_file.empty()) args.insert(args.end(), {"--config", service.config_file});
  args.insert(args.end(),
              {"--data-dir", spec_.data_dir, "--port", std::to_string(port), "--port-file",
               port_file(spec_, instance.name), "--set", "kafka.bootstrap_servers=" + bootstrap_,
               "--set", "timeouts.drain_ms=" + std::to_string(spec_.drain_timeout.count()), "--set",
               "kafka.profile=" + spec_.services_kafka_profile()});
  // orderflow-broker creates the topics itself: the embedded broker has no CreateTopics.
  // A secured cluster's services may not create topics: orderflow up did, as the admin.
  if (spec_.embedded_broker() || spec_.kafka_security == KafkaSecurity::kScram) {
    args.insert(args.end(), {"--set", "topics.create=false"});
  }
  if (instance.index > 1)
    args.insert(args.end(), {"--set", "service.instance_id=" + instance.name});
  if (service.name == kOpsService) {
    for (const auto& [name, group] : service_group_ids(spec_)) {
      args.insert(args.end(), {"--set", "lag.group_ids." + name + "=" + group});
    }
  }
  for (const auto& o : storage_overrides(service)) args.insert(args.end(), {"--set", o});
  for (const auto& o : service.overrides) args.insert(args.end(), {"--set", o});
  return args;
}

void System::start() {
  if (started_) return;
  check_replicas();
  if (spec_.kafka_security != KafkaSecurity::kNone &&
      (spec_.broker_mode != SystemSpec::kKafkaBroker || !spec_.bootstrap_servers.empty())) {
    // The embedded broker has no SASL; an external cluster's security is its own (kafka.sasl.*).
    throw config::ConfigError(
        "broker.security scram needs the local Apache Kafka cluster "
        "(--broker kafka, no kafka.bootstrap_servers)");
  }
  started_ = true;
  fs::create_directories(fs::path(spec_.data_dir) / "logs");
  // Files of an earlier run that was killed would describe processes that are gone.
  std::error_code ec;
  fs::remove(fs::path(spec_.data_dir) / "endpoints.json", ec);
  fs::remove(fs::path(spec_.data_dir) / "pids.json", ec);
  try {
    if (spec_.storage_backend == SystemSpec::kPostgres) start_postgres();
    if (spec_.bootstrap_servers.empty() && spec_.broker_mode == SystemSpec::kKafkaBroker) {
      start_kafka_cluster();
    } else if (spec_.bootstrap_servers.empty()) {
      fs::remove(bootstrap_file(spec_));
      spawn(kBrokerName, kBrokerName, broker_args());
      wait_for_broker();
    } else {
      bootstrap_ = spec_.bootstrap_servers;
    }
    // All at once: the instances of one service join its group together (one rebalance).
    for (const auto& instance : instances_) {
      fs::remove(port_file(spec_, instance.name));
      int port = instance.index == 1 ? instance.service->port : 0;
      spawn(instance.name, instance.service->name, service_args(instance, port));
    }
    for (const auto& instance : instances_) {
      wait_for_ready(instance.name, port_file(spec_, instance.name));
    }
    write_endpoints_file();
  } catch (...) {
    stop();
    throw;
  }
}

void System::start_postgres() {
  std::string admin_uri;  // where the databases are created, with its password if it has one
  std::string server_uri;
  if (spec_.postgres_url.empty()) {
    PostgresServerOptions options;
    options.data_dir = spec_.data_dir;
    options.bin_dir = spec_.postgres_bin_dir;
    options.max_connections = postgres_max_connections();
    postgres_ = std::make_unique<PostgresServer>(options, logger_);
    postgres_->start();
    write_pids_file();
    postgres_password_ = postgres_->password();
    server_uri = postgres_->url("");
  } else {
    admin_uri = spec_.postgres_url;
    auto split = split_postgres_password(spec_.postgres_url);
    // Empty: the services inherit this process's PGPASSWORD or passfile, as libpq reads them.
    postgres_password_ = split.password;
    server_uri = postgres_uri_with_database(split.without_password, "");
  }
  for (const auto& service : spec_.services) {
    auto database = postgres_database(spec_.postgres_database_prefix, service.name);
    try {
      if (postgres_) {
        postgres_->ensure_database(database);
      } else {
        ensure_postgres_database(admin_uri, database);
      }
    } catch (const std::exception& e) {
      throw std::runtime_error(service.name + ": cannot create its database " + database + " on " +
                               server_uri + ": " + e.what());
    }
    database_uris_[service.name] = postgres_uri_with_database(server_uri, database);
  }
  logger_->info("storage: PostgreSQL {} ({}), a database per service", server_uri,
                postgres_ ? "private server under " + spec_.data_dir + "/postgres"
                          : std::string("storage.postgres.url"));
}

int System::postgres_max_connections() const {
  // Per instance its pool and a few beyond it (migration lock, outbox relay); the private
  // server's default when that is more.
  constexpr int kDefaultPool = 8;  // storage.postgres.pool_size's default (libs/config)
  constexpr int kPerInstanceBeyondPool = 4;
  constexpr int kAdminSessions = 10;
  int total = kAdminSessions;
  for (const auto& instance : instances_) {
    auto pool = service_source(*instance.service).scalar("storage.postgres.pool_size");
    total += (pool ? std::stoi(*pool) : kDefaultPool) + kPerInstanceBeyondPool;
  }
  return std::max(total, PostgresServerOptions{}.max_connections);
}

std::string System::postgres_server_uri() const {
  if (spec_.storage_backend != SystemSpec::kPostgres) return "";
  if (postgres_) return postgres_->url("");
  return postgres_uri_with_database(split_postgres_password(spec_.postgres_url).without_password,
                                    "");
}

void System::start_kafka_cluster() {
  fs::remove(bootstrap_file(spec_));
  KafkaClusterOptions options;
  options.data_dir = spec_.data_dir;
  options.brokers = spec_.brokers;
  options.security = spec_.kafka_security;
  options.sasl_users = bus_service_users();
  for (const auto& service : spec_.services) {
    if (std::find(options.sasl_users.begin(), options.sasl_users.end(), service.name) ==
        options.sasl_users.end()) {
      options.sasl_users.push_back(service.name);
    }
  }
  cluster_ = std::make_unique<KafkaCluster>(options, logger_);
  cluster_->start();
  bootstrap_ = cluster_->bootstrap_servers();
  write_pids_file();
  int replication = messaging::default_replication_factor(spec_.brokers);
  std::vector<messaging::TopicSpec> topics;
  for (const auto& name : spec_.topics) {
    for (const auto& topic : {name, name + spec_.dlt_suffix}) {
      topics.push_back({topic,
                        spec_.partitions,
                        replication,
                        {{"min.insync.replicas",
                          std::to_string(messaging::default_min_insync_replicas(replication))}}});
    }
  }
  auto kafka = cluster_->client_config(kKafkaAdminUser);
  kafka.client_id = "orderflow-up";
  messaging::ensure_topics(kafka, topics, spec_.ready_timeout, logger_);
  if (spec_.kafka_security == KafkaSecurity::kScram) {
    BusTopics names{spec_.topics.at(0), spec_.topics.at(1), spec_.topics.at(2), spec_.dlt_suffix};
    messaging::create_acls(kafka, service_acl_rules(names), spec_.ready_timeout);
    logger_->info("kafka ACLs in place: one SASL/SCRAM user per service (docs/security.md)");
  }
  std::ofstream(bootstrap_file(spec_)) << bootstrap_ << "\n";
}

void System::wait_for_broker() {
  auto deadline = std::chrono::steady_clock::now() + spec_.ready_timeout;
  while (!poll_broker_bootstrap()) {
    if (reap()) throw std::runtime_error("orderflow-broker exited at start");
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("orderflow-broker did not become ready");
    }
    std::this_thread::sleep_for(20ms);
  }
}

bool System::poll_broker_bootstrap() {
  std::ifstream in(bootstrap_file(spec_));
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) return false;
  bootstrap_ = line;
  return true;
}

bool System::is_broker(const std::string& name) const {
  return spec_.bootstrap_servers.empty() && name == kBrokerName;
}

std::optional<int> System::kafka_node(const std::string& name) const {
  if (!cluster_) return std::nullopt;
  for (int node = 1; node <= cluster_->brokers(); ++node) {
    if (name == kafka_node_name(node)) return node;
  }
  return std::nullopt;
}

std::vector<std::string> System::child_names() const {
  std::vector<std::string> names;
  if (postgres_) names.emplace_back(kPostgresName);
  if (cluster_) {
    for (int node = 1; node <= cluster_->brokers(); ++node) names.push_back(kafka_node_name(node));
  }
  for (const auto& child : children_) names.push_back(child.name);
  return names;
}

void System::respawn(const std::string& name) {
  if (postgres_ && name == kPostgresName) {
    if (postgres_->pid() > 0) {
      throw std::runtime_error(name + " still runs (pid " + std::to_string(postgres_->pid()) + ")");
    }
    ++restarts_[name];
    try {
      postgres_->start();
    } catch (const std::exception& e) {
      // Reported as the next exit, so that the supervisor backs off and counts it.
      logger_->warn("{}", e.what());
      postgres_failed_start_ = 1 << 8;  // a waitpid() status: exit code 1
    }
    write_pids_file();
    return;
  }
  if (auto node = kafka_node(name)) {
    cluster_->restart_node(*node);
    ++restarts_[name];
    write_pids_file();
    return;
  }
  auto* child = find(name);
  if (child == nullptr) throw std::runtime_error("no such child: " + name);
  if (child->pid > 0)
    throw std::runtime_error(name + " still runs (pid " + std::to_string(child->pid) + ")");
  ++restarts_[name];
  if (is_broker(name)) {
    std::error_code ec;
    fs::remove(bootstrap_file(spec_), ec);
    spawn(name, name, broker_args());
  } else if (const auto* instance = find_instance(name)) {
    auto bound = endpoints_.find(name);
    // The port it had bound keeps endpoints.json and every client's URL valid.
    int port = bound != endpoints_.end() ? bound->second.port
               : instance->index == 1    ? instance->service->port
                                         : 0;
    std::error_code ec;
    fs::remove(port_file(spec_, name), ec);
    spawn(name, instance->service->name, service_args(*instance, port));
  }
}

void System::signal(const std::string& name, int signal) {
  if (postgres_ && name == kPostgresName) {
    if (postgres_->pid() > 0) kill(postgres_->pid(), signal);
    return;
  }
  if (auto node = kafka_node(name)) {
    if (pid_t pid = cluster_->pids()[*node - 1]; pid > 0) kill(pid, signal);
    return;
  }
  auto* child = find(name);
  if (child != nullptr && child->pid > 0) kill(child->pid, signal);
}

bool System::probe_ready(const std::string& name, std::chrono::milliseconds timeout) const {
  if (auto node = kafka_node(name)) return cluster_->node_serves(*node, timeout);
  if (postgres_ && name == kPostgresName) return postgres_->pid() > 0;
  auto ep = endpoints_.find(name);
  if (ep == endpoints_.end()) return false;
  auto r = http::request(ep->second.host, ep->second.port, "GET", "/health/ready", {}, {}, timeout);
  return r.ok() && r->status == 200;
}

void System::wait_for_ready(const std::string& name, const std::string& port_file) {
  auto deadline = std::chrono::steady_clock::now() + spec_.ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto gone = reap()) {
      throw std::runtime_error(gone->name + " exited during start-up; see " + spec_.data_dir +
                               "/logs/" + gone->name + ".log");
    }
    if (endpoints_.count(name) == 0) {
      std::ifstream in(port_file);
      std::string line;
      if (in && std::getline(in, line)) {
        auto colon = line.rfind(':');
        if (colon != std::string::npos) {
          auto host = line.substr(0, colon);
          if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
          endpoints_[name] = {host, static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)))};
        }
      }
    }
    if (probe_ready(name, 1000ms)) return;
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error(name + " did not become ready within " +
                           std::to_string(spec_.ready_timeout.count()) + " ms; see " +
                           spec_.data_dir + "/logs/" + name + ".log");
}

std::chrono::milliseconds System::ready_timeout(const std::string& name) const {
  if (postgres_ && name == kPostgresName) return PostgresServerOptions{}.start_timeout;
  return kafka_node(name) ? cluster_->start_timeout() : spec_.ready_timeout;
}

std::map<std::string, pid_t> System::pids() const {
  std::map<std::string, pid_t> out;
  for (const auto& child : children_) {
    if (child.pid > 0) out[child.name] = child.pid;
  }
  if (postgres_ && postgres_->pid() > 0) out[kPostgresName] = postgres_->pid();
  if (cluster_) {
    auto jvms = cluster_->pids();
    for (std::size_t i = 0; i < jvms.size(); ++i) {
      if (jvms[i] > 0) out[kafka_node_name(static_cast<int>(i) + 1)] = jvms[i];
    }
  }
  return out;
}

std::optional<System::Exit> System::reap() {
  if (postgres_) {
    auto status = std::exchange(postgres_failed_start_, std::nullopt);
    if (!status) status = postgres_->reap();
    if (status) {
      write_pids_file();
      return Exit{kPostgresName, *status};
    }
  }
  if (cluster_) {
    if (auto gone = cluster_->reap()) {
      write_pids_file();
      return Exit{kafka_node_name(gone->node), gone->status};
    }
  }
  for (auto& child : children_) {
    if (child.pid <= 0) continue;
    int status = 0;
    if (waitpid(child.pid, &status, WNOHANG) == child.pid) {
      child.pid = -1;
      write_pids_file();
      return Exit{child.name, status};
    }
  }
  return std::nullopt;
}

void System::drain() {
  for (const auto& [name, ep] : endpoints_) {
    auto closed =
        http::request(ep.host, ep.port, "POST", "/admin/drain", {}, admin_headers(), 1000ms);
    // A service that does not answer is stopped anyway below; the drain is best effort.
    if (!closed.ok()) logger_->warn("drain request to {} failed: {}", name, closed.error().message);
  }
  if (!wait_until_quiet(std::chrono::steady_clock::now() + spec_.drain_timeout)) {
    logger_->warn("drain timed out; stopping anyway");
  }
}

std::optional<std::string> admin_token(const http::AuthConfig& auth, const std::string& user) {
  if (auth.mode != http::AuthMode::kRequired || auth.algorithm != http::JwtAlgorithm::kHS256) {
    return std::nullopt;
  }
  auto token = http::mint_hs256(auth, {user, {"admin"}, std::chrono::seconds(300)},
                                std::chrono::system_clock::now());
  if (!token) return std::nullopt;
  return *token;
}

std::vector<std::pair<std::string, std::string>> System::admin_headers() const {
  auto token = admin_token(spec_.auth, "orderflow-up");
  if (!token) return {};
  return {{"Authorization", "Bearer " + *token}};
}

bool System::wait_until_quiet(std::chrono::steady_clock::time_point deadline,
                              std::chrono::milliseconds interval) const {
  int quiet_rounds = 0;
  // Two quiet rounds in a row: an event published by one service may still be on its way to
  // the next one's consumer between two polls.
  while (std::chrono::steady_clock::now() < deadline && quiet_rounds < 2) {
    bool quiet = true;
    for (const auto& [name, ep] : endpoints_) {
      auto r = http::request(ep.host, ep.port, "GET", "/admin/status", {}, admin_headers(), 1000ms);
      if (!r.ok() || r->status != 200) continue;
      auto doc = nlohmann::json::parse(r->body, nullptr, false);
      if (!doc.is_object()) continue;
      if (doc.value("outboxPending", 0) != 0 || doc.value("consumerLag", 0) != 0 ||
          doc.value("inFlight", 0) != 0) {
        quiet = false;
      }
    }
    quiet_rounds = quiet ? quiet_rounds + 1 : 0;
    if (quiet_rounds < 2) std::this_thread::sleep_for(interval);
  }
  return quiet_rounds >= 2;
}

void System::terminate(const std::vector<Child*>& children, std::chrono::milliseconds grace) {
  for (auto* child : children) {
    if (child->pid > 0) kill(child->pid, SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() + grace;
  auto running = [&] {
    return std::any_of(children.begin(), children.end(), [](Child* c) { return c->pid > 0; });
  };
  while (running() && std::chrono::steady_clock::now() < deadline) {
    for (auto* child : children) {
      int status = 0;
      if (child->pid > 0 && waitpid(child->pid, &status, WNOHANG) == child->pid) child->pid = -1;
    }
    if (running()) std::this_thread::sleep_for(20ms);
  }
  for (auto* child : children) {
    if (child->pid <= 0) continue;
    logger_->warn("{} did not stop within {} ms; killing it", child->name, grace.count());
    kill(child->pid, SIGKILL);
    waitpid(child->pid, nullptr, 0);
    child->pid = -1;
  }
}

void System::stop() {
  if (!started_) return;
  started_ = false;
  drain();
  // The services all at once: after the drain nothing flows between them, and without a broker
  // each may need its whole timeouts.drain_ms, which one after the other would add up. They
  // bound themselves by drain_ms; the extra grace covers their exit.
  std::vector<Child*> services;
  std::vector<Child*> broker;
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    (it->name == kBrokerName ? broker : services).push_back(&*it);
  }
  terminate(services, spec_.drain_timeout + spec_.exit_grace);
  terminate(broker, spec_.exit_grace);
  children_.clear();
  if (cluster_) cluster_->stop();
  // Last: the services' drain may still have committed to it.
  if (postgres_) postgres_->stop();
  std::error_code ec;
  fs::remove(fs::path(spec_.data_dir) / "endpoints.json", ec);
  fs::remove(fs::path(spec_.data_dir) / "pids.json", ec);
  try {
    write_prometheus_targets(false);
  } catch (const std::exception& e) {
    logger_->warn("cannot empty the Prometheus targets: {}", e.what());
  }
}

}  // namespace orderflow::cli
