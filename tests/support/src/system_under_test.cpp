#include "orderflow/testing/system_under_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "orderflow/http/client.h"
#include "postgres_server.h"
#include "system.h"

namespace orderflow::testing {
namespace fs = std::filesystem;

namespace {

int exit_code_of(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

nlohmann::json read_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return nullptr;
  return nlohmann::json::parse(in, nullptr, false);
}

// One object of <data_dir>/pids.json ("pids" or "restarts"): name → number.
std::map<std::string, int> counts_in_pids_file(const std::string& data_dir, const char* key) {
  std::map<std::string, int> out;
  auto doc = read_json(fs::path(data_dir) / "pids.json");
  if (!doc.is_object() || !doc.contains(key) || !doc[key].is_object()) return out;
  for (const auto& [name, value] : doc[key].items()) out[name] = value.get<int>();
  return out;
}

constexpr const char* kServices[] = {"order-service", "inventory-service", "payment-service",
                                     "notification-service", "ops-service"};

}  // namespace

std::string RunningSystem::topic(const std::string& name) const { return name + names_suffix_; }

std::string RunningSystem::dlt(const std::string& name) const {
  return topic(name) + ".dlt" + names_suffix_;
}

std::string RunningSystem::group(const std::string& service) const {
  return service + names_suffix_;
}

RunningSystem::RunningSystem(
    const std::map<std::string, std::vector<std::string>>& service_overrides,
    const SystemOptions& options)
    : broker_(options.broker) {
  data_dir_ = options.data_dir.empty() ? (dir_.path() / "data").string() : options.data_dir;
  std::string kafka_yaml;
  std::vector<std::string> names_overrides;
  if (broker_ == BrokerKind::kKafka) {
    auto bootstrap = shared_kafka_bootstrap();
    if (bootstrap.empty()) {
      throw std::runtime_error(std::string("a /Kafka test needs the shared cluster: run it "
                                           "through ctest (label kafka), or set ") +
                               kKafkaBootstrapFileEnv);
    }
    names_suffix_ = "." + unique_name("e2e").substr(4);
    kafka_yaml = "kafka:\n  bootstrap_servers: \"" + bootstrap + "\"\n";
    // The services create these topics themselves at start-up (topics.create, on with an
    // external bootstrap), as on a user's cluster: that path is part of what these tests run.
    names_overrides = {
        "topics.orders=" + topic("orders.v1"), "topics.inventory=" + topic("inventory.v1"),
        "topics.payments=" + topic("payments.v1"), "topics.dlt_suffix=.dlt" + names_suffix_};
  }
  // Left by an earlier run that was killed: it must not be taken for this one being up.
  std::error_code ec;
  fs::remove(fs::path(data_dir_) / "endpoints.json", ec);
  std::string config_dir = std::string(ORDERFLOW_SOURCE_DIR) + "/config";
  std::string system_yaml = "data_dir: " + data_dir_ + "\n" + kafka_yaml +
                            postgres_yaml(options.storage) + "auth:\n  mode: " + options.auth_mode +
                            "\n  algorithm: HS256\n"
                            "  secret: e2e-test-secret-0123456789abcdefghij\n"
                            "services:\n";
  for (const std::string name : kServices) {
    system_yaml += "  " + name + ":\n    config: " + config_dir + "/" + name + ".yaml\n" +
                   "    port: 0\n    set:\n";
    for (const auto& o : names_overrides) system_yaml += "      - \"" + o + "\"\n";
    if (broker_ == BrokerKind::kKafka) {
      system_yaml += "      - \"consumer.group_id=" + group(name) + "\"\n";
      if (name == std::string("notification-service")) {
        system_yaml += "      - \"sink.group_id=" + group("data-platform-sink") + "\"\n";
      }
    }
    if (auto it = service_overrides.find(name); it != service_overrides.end()) {
      for (const auto& o : it->second) system_yaml += "      - \"" + o + "\"\n";
    }
    system_yaml += "      - \"service.name=" + name + "\"\n";
  }
  system_yaml += options.system_yaml;
  auto system_file = dir_.path() / "orderflow.yaml";
  std::ofstream(system_file) << system_yaml;

  std::string exe = std::string(ORDERFLOW_BIN_DIR) + "/orderflow";
  pid_ = fork();
  if (pid_ == 0) {
    auto log = (dir_.path() / "orderflow-up.log").string();
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    dup2(STDOUT_FILENO, STDERR_FILENO);
    std::vector<std::string> args{exe,          "up",     "--config", system_file.string(),
                                  "--data-dir", data_dir_};
    if (options.storage == DatabaseKind::kPostgres) {
      args.insert(args.end(), {"--storage", "postgres"});
    }
    if (options.replicas > 1) {
      args.insert(args.end(), {"--replicas", std::to_string(options.replicas)});
    }
    args.insert(args.end(), options.up_args.begin(), options.up_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  auto endpoints_file = fs::path(data_dir_) / "endpoints.json";
  bool up = eventually([&] { return exited() || fs::exists(endpoints_file); }, options.up_timeout,
                       std::chrono::milliseconds{50});
  if (!up || pid_ < 0 || !reload_endpoints()) {
    auto text = output();
    if (pid_ > 0) stop();
    throw std::runtime_error("orderflow up did not come up:\n" + text);
  }
}

bool RunningSystem::reload_endpoints() {
  auto doc = read_json(fs::path(data_dir_) / "endpoints.json");
  if (!doc.is_object() || !doc.contains("services") || !doc.contains("kafka")) return false;
  std::map<std::string, Endpoint> endpoints;
  for (const auto& [name, value] : doc["services"].items()) {
    endpoints[name] = {value["host"].get<std::string>(), value["port"].get<std::uint16_t>()};
  }
  endpoints_ = std::move(endpoints);
  bootstrap_ = doc["kafka"]["bootstrapServers"].get<std::string>();
  return true;
}

std::map<std::string, pid_t> RunningSystem::pids() const {
  return counts_in_pids_file(data_dir_, "pids");
}

std::map<std::string, int> RunningSystem::restarts() const {
  return counts_in_pids_file(data_dir_, "restarts");
}

bool RunningSystem::exited(int* exit_code) {
  if (pid_ > 0) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    pid_ = -1;
    exit_code_ = exit_code_of(status);
  }
  if (exit_code != nullptr) *exit_code = exit_code_;
  return true;
}

std::string RunningSystem::output() const {
  std::ifstream log(dir_.path() / "orderflow-up.log");
  return {std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>()};
}

std::string RunningSystem::postgres_yaml(DatabaseKind storage) {
  if (storage != DatabaseKind::kPostgres) return "";
  postgres_url_ = shared_postgres_url();
  if (postgres_url_.empty()) return "";  // `orderflow up` starts a private server
  // A second system on the data dir of a first one finds its databases by the prefix it left.
  auto prefix_file = fs::path(data_dir_) / "e2e-database-prefix";
  std::ifstream known(prefix_file);
  if (!std::getline(known, database_prefix_) || database_prefix_.empty()) {
    database_prefix_ = unique_name("e2e") + "_";
    std::replace(database_prefix_.begin(), database_prefix_.end(), '-', '_');
    fs::create_directories(data_dir_);
    std::ofstream(prefix_file) << database_prefix_ << "\n";
    owns_databases_ = true;
  }
  return "storage:\n  postgres:\n    url: \"" + postgres_url_ +
         "\"\n    database_prefix: " + database_prefix_ + "\n";
}

RunningSystem::~RunningSystem() {
  stop();
  if (!owns_databases_) return;
  for (const std::string service : kServices) {
    auto database = cli::postgres_database(database_prefix_, service);
    try {
      cli::drop_postgres_database(postgres_url_, database);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "dropping " << database << ": " << e.what();
    }
  }
}

const RunningSystem::Endpoint& RunningSystem::endpoint(const std::string& service) const {
  return endpoints_.at(service);
}

std::vector<std::string> RunningSystem::instances(const std::string& service) const {
  std::vector<std::string> names;
  for (int index = 1;; ++index) {
    auto name = index == 1 ? service : service + "-" + std::to_string(index);
    if (endpoints_.count(name) == 0) return names;
    names.push_back(name);
  }
}

RunningSystem::Reply RunningSystem::call(
    const std::string& service, const std::string& method, const std::string& target,
    const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) const {
  const auto& ep = endpoint(service);
  auto all_headers = headers;
  if (!body.empty()) all_headers.emplace_back("Content-Type", "application/json");
  auto r = http::request(ep.host, ep.port, method, target, body, all_headers);
  Reply reply;
  if (!r.ok()) return reply;
  reply.status = r->status;
  reply.raw = r->body;
  reply.body = nlohmann::json::parse(r->body, nullptr, false);
  return reply;
}

int RunningSystem::stop() {
  if (pid_ <= 0) return exit_code_;
  kill(pid_, SIGINT);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  exit_code_ = exit_code_of(status);
  return exit_code_;
}

RunningSystem& SystemsByBroker::get(
    BrokerKind kind, const std::map<std::string, std::vector<std::string>>& service_overrides,
    SystemOptions options) {
  return get(kind, options.storage, service_overrides, std::move(options));
}

RunningSystem& SystemsByBroker::get(
    BrokerKind broker, DatabaseKind database,
    const std::map<std::string, std::vector<std::string>>& service_overrides,
    SystemOptions options) {
  auto& system = systems_[{broker, database}];
  if (!system) {
    options.broker = broker;
    options.storage = database;
    system = std::make_unique<RunningSystem>(service_overrides, options);
  }
  return *system;
}

std::vector<int> SystemsByBroker::stop_all() {
  std::vector<int> codes;
  for (auto& [kind, system] : systems_) {
    if (system) codes.push_back(system->stop());
  }
  systems_.clear();
  return codes;
}

std::string run_command(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::array<char, 4096> buf{};
  while (auto n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  int status = pclose(pipe);
  if (exit_code != nullptr) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace orderflow::testing
