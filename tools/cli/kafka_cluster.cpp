#include "kafka_cluster.h"

#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bus_acls.h"
#include "child_process.h"
#include "orderflow/messaging/kafka_security.h"
#include "supervisor.h"

namespace orderflow::cli {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int kLogLinesOnFailure = 20;
constexpr int kLogLinesScannedForCause = 400;
constexpr auto kMetadataTimeout = 2000ms;
constexpr auto kPollInterval = 200ms;

// Free loopback ports: bound to port 0 all at once (so they differ), then released for the
// JVMs to bind.
std::vector<int> free_ports(int count) {
  std::vector<int> fds;
  std::vector<int> ports;
  for (int i = 0; i < count; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) close(fd);
      for (int f : fds) close(f);
      throw std::runtime_error("kafka cluster: no free loopback port");
    }
    fds.push_back(fd);
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int f : fds) close(f);
  return ports;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

bool exited_ok(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

rd_kafka_t* make_probe(const std::string& bootstrap,
                       const std::map<std::string, std::string>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "client.id", "orderflow-cluster-probe", err, sizeof err);
  for (const auto& [name, value] : properties) {
    rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err);
  }
  // Connection refused is expected while the JVMs start: keep librdkafka quiet.
  rd_kafka_conf_set_log_cb(conf, nullptr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("kafka cluster: ") + err);
  }
  return rk;
}

// Brokers listed in a metadata answer through `rk`; -1 when none came within the timeout.
int brokers_in_metadata(rd_kafka_t* rk, std::chrono::milliseconds timeout = kMetadataTimeout) {
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(rk, 0, nullptr, &metadata, static_cast<int>(timeout.count())) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return -1;
  }
  int count = metadata->broker_cnt;
  rd_kafka_metadata_destroy(metadata);
  return count;
}

constexpr const char* kBrokerUser = "broker";  // the brokers' own user (inter-broker, controller)
constexpr const char* kScramMechanism = "SCRAM-SHA-256";

// 32 hex digits from the kernel's CSPRNG: no quote or space to escape in a JAAS line.
std::string random_password() {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  unsigned char bytes[16];
  if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes)) {
    throw std::runtime_error("kafka cluster: cannot read /dev/urandom");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

// A file only its owner may read, created so (no window in which it is world-readable).
void write_private_file(const fs::path& path, const std::string& text) {
  fs::remove(path);
  std::ofstream(path).close();
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  std::ofstream(path) << text;
}

}  // namespace

std::optional<KafkaSecurity> parse_kafka_security(const std::string& text) {
  if (text == "none") return KafkaSecurity::kNone;
  if (text == "scram") return KafkaSecurity::kScram;
  return std::nullopt;
}

std::string pinned_kafka_version() { return ORDERFLOW_KAFKA_VERSION; }

std::string default_kafka_lib_dir() {
  std::string cache;
  if (const char* home = std::getenv("ORDERFLOW_KAFKA_HOME"); home != nullptr && *home != '\0') {
    cache = home;
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    cache = std::string(xdg) + "/orderflow";
  } else {
    const char* user_home = std::getenv("HOME");
    cache = std::string(user_home != nullptr ? user_home : "/tmp") + "/.cache/orderflow";
  }
  return cache + "/kafka-" + pinned_kafka_version() + "/lib";
}

KafkaCluster::KafkaCluster(KafkaClusterOptions options, std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)), logger_(std::move(logger)) {
  if (options_.brokers < 1) throw std::runtime_error("kafka cluster: brokers must be >= 1");
  if (options_.lib_dir.empty()) options_.lib_dir = default_kafka_lib_dir();
  if (options_.log4j_config.empty()) options_.log4j_config = ORDERFLOW_KAFKA_LOG4J_CONFIG;
  if (options_.sasl_users.empty()) options_.sasl_users = bus_service_users();
}

messaging::KafkaConfig KafkaCluster::client_config(const std::string& user) const {
  messaging::KafkaConfig config;
  config.bootstrap_servers = bootstrap_;
  if (options_.security == KafkaSecurity::kNone) return config;
  auto found = credentials_.find(user);
  if (found == credentials_.end() || user == kBrokerUser) {
    throw std::runtime_error("kafka cluster: no SASL user " + user);
  }
  messaging::set_sasl_credentials(config, user, found->second, kScramMechanism);
  return config;
}

void KafkaCluster::load_or_create_credentials(bool new_cluster) {
  credentials_.clear();
  if (options_.security == KafkaSecurity::kNone) return;
  auto file = fs::path(options_.data_dir) / "kafka" / "credentials.json";
  std::vector<std::string> users{kBrokerUser, kKafkaAdminUser};
  users.insert(users.end(), options_.sasl_users.begin(), options_.sasl_users.end());
  if (new_cluster) {
    nlohmann::json doc = nlohmann::json::object();
    for (const auto& user : users) doc[user] = credentials_[user] = random_password();
    write_private_file(file, doc.dump(2) + "\n");
    return;
  }
  std::ifstream in(file);
  auto doc = nlohmann::json::parse(in, nullptr, false);
  if (!doc.is_object()) throw std::runtime_error("kafka cluster: unreadable " + file.string());
  for (const auto& user : users) {
    if (!doc.contains(user) || !doc[user].is_string()) {
      throw std::runtime_error("kafka cluster: " + options_.data_dir + " has no SASL user " + user +
                               " (users are made when the storage is formatted); use another "
                               "data dir");
    }
    credentials_[user] = doc[user].get<std::string>();
  }
}

KafkaCluster::~KafkaCluster() { stop(); }

std::string KafkaCluster::node_dir(int id) const {
  return (fs::path(options_.data_dir) / "kafka" / ("node-" + std::to_string(id))).string();
}

std::string KafkaCluster::log_file(int node) const {
  return (fs::path(options_.data_dir) / "logs" / ("kafka-" + std::to_string(node) + ".log"))
      .string();
}

std::string KafkaCluster::classpath() const { return options_.lib_dir + "/*"; }

std::vector<pid_t> KafkaCluster::pids() const {
  std::vector<pid_t> out;
  for (const auto& node : nodes_) out.push_back(node.pid);
  return out;
}

pid_t KafkaCluster::spawn_java(const std::vector<std::string>& args, const std::string& log) const {
  std::vector<std::string> argv{options_.java};
  argv.insert(argv.end(), args.begin(), args.end());
  return spawn_child(argv, log);
}

bool KafkaCluster::load_or_create_layout() {
  auto state_file = fs::path(options_.data_dir) / "kafka" / "cluster.json";
  fs::create_directories(state_file.parent_path());
  fs::create_directories(fs::path(options_.data_dir) / "logs");
  nodes_.clear();
  if (fs::exists(state_file)) {
    std::ifstream in(state_file);
    auto doc = nlohmann::json::parse(in, nullptr, false);
    if (!doc.is_object() || !doc.contains("nodes") || !doc["nodes"].is_array()) {
      throw std::runtime_error("kafka cluster: unreadable " + state_file.string());
    }
    cluster_id_ = doc.value("clusterId", "");
    auto security = doc.value("security", "none");
    if (parse_kafka_security(security) != options_.security) {
      throw std::runtime_error("kafka cluster: " + options_.data_dir +
                               " holds a cluster with security " + security +
                               "; use that --kafka-security or another data dir");
    }
    for (const auto& n : doc["nodes"]) {
      nodes_.push_back({n.value("id", 0), n.value("brokerPort", 0), n.value("controllerPort", 0)});
    }
    if (static_cast<int>(nodes_.size()) != options_.brokers) {
      throw std::runtime_error("kafka cluster: " + options_.data_dir + " holds a " +
                               std::to_string(nodes_.size()) + "-node cluster, not " +
                               std::to_string(options_.brokers) +
                               "; use that --brokers or another data dir");
    }
    return false;
  }
  auto ports = free_ports(2 * options_.brokers);
  for (int i = 0; i < options_.brokers; ++i) {
    nodes_.push_back({i + 1, ports[2 * i], ports[2 * i + 1]});
  }
  // The cluster id as Kafka makes it (a random UUID in its base64 form).
  auto out = (fs::path(options_.data_dir) / "kafka" / "random-uuid.out").string();
  fs::remove(out);
  int status =
      wait_exit(spawn_java({"-cp", classpath(), "kafka.tools.StorageTool", "random-uuid"}, out));
  std::ifstream in(out);
  std::string line;
  static const std::regex kUuid("^[A-Za-z0-9_-]{22}$");
  while (std::getline(in, line)) {
    if (std::regex_match(line, kUuid)) cluster_id_ = line;
  }
  if (!exited_ok(status) || cluster_id_.empty()) {
    throw std::runtime_error("kafka cluster: StorageTool random-uuid failed (" +
                             describe_exit_status(status) + "):\n" +
                             tail_lines(out, kLogLinesOnFailure));
  }
  fs::remove(out);
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : nodes_) {
    nodes.push_back(
        {{"id", n.id}, {"brokerPort", n.broker_port}, {"controllerPort", n.controller_port}});
  }
  const char* security = options_.security == KafkaSecurity::kScram ? "scram" : "none";
  std::ofstream(state_file)
      << nlohmann::json{{"clusterId", cluster_id_}, {"security", security}, {"nodes", nodes}}.dump(
             2)
      << "\n";
  return true;
}

void KafkaCluster::write_server_properties(const Node& node) const {
  std::string voters;
  for (const auto& n : nodes_) {
    if (!voters.empty()) voters += ",";
    voters += std::to_string(n.id) + "@127.0.0.1:" + std::to_string(n.controller_port);
  }
  int replication = std::min(3, options_.brokers);
  auto dir = fs::path(node_dir(node.id));
  fs::create_directories(dir);
  const bool scram = options_.security == KafkaSecurity::kScram;
  // kScram: CLIENT (SCRAM, also between brokers) and CONTROLLER (PLAIN: SCRAM credentials live
  // in the metadata the controllers serve, so they cannot authenticate the controllers' own
  // quorum) both need a password: no listener is left where a client is ANONYMOUS.
  const std::string client = scram ? "CLIENT" : "PLAINTEXT";
  std::ostringstream out;
  out << "# Written by orderflow (tools/cli/kafka_cluster.cpp) at every start.\n"
      << "process.roles=broker,controller\n"
      << "node.id=" << node.id << "\n"
      << "controller.quorum.voters=" << voters << "\n"
      << "listeners=" << client << "://127.0.0.1:" << node.broker_port
      << ",CONTROLLER://127.0.0.1:" << node.controller_port << "\n"
      << "advertised.listeners=" << client << "://127.0.0.1:" << node.broker_port << "\n"
      << "controller.listener.names=CONTROLLER\n"
      << "inter.broker.listener.name=" << client << "\n"
      << "log.dirs=" << (dir / "data").string() << "\n"
      << "offsets.topic.replication.factor=" << replication << "\n"
      << "transaction.state.log.replication.factor=" << replication << "\n"
      << "transaction.state.log.min.isr=" << std::max(1, replication - 1) << "\n"
      << "group.initial.rebalance.delay.ms=0\n"
      << "auto.create.topics.enable=false\n";
  if (!scram) {
    out << "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n";
    std::ofstream(dir / "server.properties") << out.str();
    return;
  }
  const auto& password = credentials_.at(kBrokerUser);
  out << "listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT\n"
      << "sasl.mechanism.inter.broker.protocol=" << kScramMechanism << "\n"
      << "sasl.mechanism.controller.protocol=PLAIN\n"
      << "listener.name.client.sasl.enabled.mechanisms=" << kScramMechanism << "\n"
      << "listener.name.client.scram-sha-256.sasl.jaas.config="
      << "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
      << kBrokerUser << "\" password=\"" << password << "\";\n"
      << "listener.name.controller.sasl.enabled.mechanisms=PLAIN\n"
      << "listener.name.controller.plain.sasl.jaas.config="
      << "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
      << kBrokerUser << "\" password=\"" << password << "\" user_" << kBrokerUser << "=\""
      << password << "\";\n"
      << "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n"
      << "allow.everyone.if.no.acl.found=false\n"
      << "super.users=User:" << kBrokerUser << ";User:" << kKafkaAdminUser << "\n";
  write_private_file(dir / "server.properties", out.str());
}

void KafkaCluster::format_storage() {
  std::vector<std::pair<int, pid_t>> formatting;
  for (const auto& node : nodes_) {
    auto props = fs::path(node_dir(node.id)) / "server.properties";
    if (fs::exists(fs::path(node_dir(node.id)) / "data" / "meta.properties")) continue;
    logger_->info("formatting kafka node {} (cluster {})", node.id, cluster_id_);
    std::vector<std::string> args{"-cp",    classpath(),   "kafka.tools.StorageTool",
                                  "format", "-t",          cluster_id_,
                                  "-c",     props.string()};
    if (options_.security == KafkaSecurity::kScram) {
      // The SCRAM users go into the metadata with the format. Through a java @argfile (mode
      // 0600, removed after) so that no password is on a command line others can read.
      std::string words;
      for (const auto& arg : args) words += arg + "\n";
      for (const auto& [user, password] : credentials_) {
        words += std::string("--add-scram\n") + kScramMechanism + "=[name=" + user +
                 ",password=" + password + "]\n";
      }
      auto argfile = fs::path(node_dir(node.id)) / "format.args";
      write_private_file(argfile, words);
      args = {"@" + argfile.string()};
    }
    formatting.emplace_back(node.id, spawn_java(args, log_file(node.id)));
  }
  std::optional<std::pair<int, int>> failed;
  for (auto [id, pid] : formatting) {
    int status = wait_exit(pid);
    fs::remove(fs::path(node_dir(id)) / "format.args");
    if (!exited_ok(status) && !failed) failed = std::make_pair(id, status);
  }
  if (failed) {
    fail("formatting the storage of node " + std::to_string(failed->first) + " failed (" +
             describe_exit_status(failed->second) + ")",
         failed->first);
  }
}

void KafkaCluster::start() {
  if (running_) return;
  if (!fs::exists(fs::path(options_.lib_dir) / ("kafka_2.13-" + pinned_kafka_version() + ".jar"))) {
    throw std::runtime_error("kafka cluster: Kafka " + pinned_kafka_version() + " jars not in " +
                             options_.lib_dir + "; run scripts/install-kafka.sh (make deps)");
  }
  auto started = std::chrono::steady_clock::now();
  load_or_create_credentials(load_or_create_layout());
  for (const auto& node : nodes_) write_server_properties(node);
  format_storage();
  running_ = true;
  bootstrap_.clear();
  for (auto& node : nodes_) {
    if (!bootstrap_.empty()) bootstrap_ += ",";
    bootstrap_ += "127.0.0.1:" + std::to_string(node.broker_port);
    spawn_node(node);
  }
  wait_until_complete();
  logger_->info("kafka cluster of {} brokers up in {} ms at {}", nodes_.size(),
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count(),
                bootstrap_);
}

void KafkaCluster::spawn_node(Node& node) {
  std::vector<std::string> args = options_.jvm_options;
  args.insert(args.end(), {"-Dlog4j2.configurationFile=" + options_.log4j_config,
                           "-Dkafka.logs.dir=" + (fs::path(options_.data_dir) / "logs").string(),
                           "-cp", classpath(), "kafka.Kafka",
                           (fs::path(node_dir(node.id)) / "server.properties").string()});
  node.pid = spawn_java(args, log_file(node.id));
  logger_->debug("started kafka node {} pid={}", node.id, node.pid);
}

void KafkaCluster::restart_node(int node) {
  if (!running_) throw std::runtime_error("kafka cluster: not started");
  if (node < 1 || node > static_cast<int>(nodes_.size())) {
    throw std::runtime_error("kafka cluster: no node " + std::to_string(node));
  }
  auto& n = nodes_[node - 1];
  if (n.pid > 0) {
    throw std::runtime_error("kafka node " + std::to_string(node) + " still runs (pid " +
                             std::to_string(n.pid) + ")");
  }
  spawn_node(n);
}

bool KafkaCluster::node_serves(int node, std::chrono::milliseconds timeout) const {
  if (node < 1 || node > static_cast<int>(nodes_.size())) return false;
  using Probe = std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)>;
  Probe own(make_probe("127.0.0.1:" + std::to_string(nodes_[node - 1].broker_port),
                       client_config(kKafkaAdminUser).properties),
            rd_kafka_destroy);
  return brokers_in_metadata(own.get(), timeout) > 0;
}

void KafkaCluster::wait_until_complete() {
  using Probe = std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)>;
  Probe cluster(nullptr, rd_kafka_destroy);
  try {
    cluster.reset(make_probe(bootstrap_, client_config(kKafkaAdminUser).properties));
  } catch (...) {
    stop();
    throw;
  }
  auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  int seen = 0;
  while (true) {
    if (auto gone = reap()) {
      fail("kafka node " + std::to_string(gone->node) + " exited at start (" +
               describe_exit_status(gone->status) + ")",
           gone->node);
    }
    seen = std::max(0, brokers_in_metadata(cluster.get()));
    // A node is listed once it registered with the controller, which is before it binds its
    // client listener (a port taken meanwhile makes it exit then): ask each node itself too.
    if (seen >= static_cast<int>(nodes_.size()) &&
        std::all_of(nodes_.begin(), nodes_.end(), [this](const Node& node) {
          Probe own(make_probe("127.0.0.1:" + std::to_string(node.broker_port),
                               client_config(kKafkaAdminUser).properties),
                    rd_kafka_destroy);
          return brokers_in_metadata(own.get()) > 0;
        })) {
      return;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      fail("kafka cluster reported " + std::to_string(seen) + " of " +
               std::to_string(nodes_.size()) + " brokers after " +
               std::to_string(options_.start_timeout.count()) + " ms",
           1);
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

void KafkaCluster::fail(const std::string& what, int node) {
  stop();
  // The JVM's stack traces bury the cause: name the innermost one first.
  std::string cause;
  std::istringstream recent(tail_lines(log_file(node), kLogLinesScannedForCause));
  for (std::string line; std::getline(recent, line);) {
    if (line.rfind("Caused by: ", 0) == 0 || line.find(" FATAL ") != std::string::npos) {
      cause = line;
    }
  }
  throw std::runtime_error(what + (cause.empty() ? "" : ": " + cause) + "\nlast lines of " +
                           log_file(node) + ":\n" + tail_lines(log_file(node), kLogLinesOnFailure));
}

std::optional<KafkaCluster::Exit> KafkaCluster::reap() {
  for (auto& node : nodes_) {
    if (node.pid <= 0) continue;
    int status = 0;
    if (waitpid(node.pid, &status, WNOHANG) == node.pid) {
      node.pid = -1;
      return Exit{node.id, status};
    }
  }
  return std::nullopt;
}

void KafkaCluster::stop() {
  if (!running_) return;
  running_ = false;
  for (const auto& node : nodes_) {
    if (node.pid > 0) kill(node.pid, SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() + options_.stop_grace;
  auto running = [&] {
    return std::any_of(nodes_.begin(), nodes_.end(), [](const Node& n) { return n.pid > 0; });
  };
  while (running() && std::chrono::steady_clock::now() < deadline) {
    for (auto& node : nodes_) {
      int status = 0;
      if (node.pid > 0 && waitpid(node.pid, &status, WNOHANG) == node.pid) node.pid = -1;
    }
    if (running()) std::this_thread::sleep_for(50ms);
  }
  for (auto& node : nodes_) {
    if (node.pid <= 0) continue;
    logger_->warn("kafka node {} did not stop within {} ms; killing it", node.id,
                  options_.stop_grace.count());
    kill(node.pid, SIGKILL);
    wait_exit(node.pid);
    node.pid = -1;
  }
}

}  // namespace orderflow::cli
