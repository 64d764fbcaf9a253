#include "orderflow/testing/system_under_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "orderflow/http/client.h"

namespace orderflow::testing {
namespace fs = std::filesystem;

RunningSystem::RunningSystem(
    const std::map<std::string, std::vector<std::string>>& service_overrides) {
  data_dir_ = (dir_.path() / "data").string();
  std::string config_dir = std::string(ORDERFLOW_SOURCE_DIR) + "/config";
  std::string system_yaml = "data_dir: " + data_dir_ + "\nservices:\n";
  for (const std::string name : {"order-service", "inventory-service", "payment-service",
                                 "notification-service", "ops-service"}) {
    system_yaml += "  " + name + ":\n    config: " + config_dir + "/" + name + ".yaml\n" +
                   "    port: 0\n    set:\n";
    if (auto it = service_overrides.find(name); it != service_overrides.end()) {
      for (const auto& o : it->second) system_yaml += "      - \"" + o + "\"\n";
    }
    system_yaml += "      - \"service.name=" + name + "\"\n";
  }
  auto system_file = dir_.path() / "orderflow.yaml";
  std::ofstream(system_file) << system_yaml;

  std::string exe = std::string(ORDERFLOW_BIN_DIR) + "/orderflow";
  pid_ = fork();
  if (pid_ == 0) {
    auto log = (dir_.path() / "orderflow-up.log").string();
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    dup2(STDOUT_FILENO, STDERR_FILENO);
    execl(exe.c_str(), exe.c_str(), "up", "--config", system_file.c_str(), "--data-dir",
          data_dir_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto endpoints_file = fs::path(data_dir_) / "endpoints.json";
  bool up = eventually(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;
        }
        return fs::exists(endpoints_file);
      },
      std::chrono::milliseconds{60000}, std::chrono::milliseconds{50});
  if (!up || pid_ < 0) {
    std::ifstream log(dir_.path() / "orderflow-up.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    if (pid_ > 0) stop();
    throw std::runtime_error("orderflow up did not come up:\n" + text);
  }
  std::ifstream in(endpoints_file);
  auto doc = nlohmann::json::parse(in);
  for (const auto& [name, value] : doc["services"].items()) {
    endpoints_[name] = {value["host"].get<std::string>(), value["port"].get<std::uint16_t>()};
  }
  bootstrap_ = doc["kafka"]["bootstrapServers"].get<std::string>();
}

RunningSystem::~RunningSystem() { stop(); }

const RunningSystem::Endpoint& RunningSystem::endpoint(const std::string& service) const {
  return endpoints_.at(service);
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
  if (pid_ <= 0) return -1;
  kill(pid_, SIGINT);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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
