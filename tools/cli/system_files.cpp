// The files `orderflow up` keeps in its data dir for other processes: endpoints.json (the CLI's
// other commands, the console, tests), prometheus-targets.json (Prometheus file_sd) and
// pids.json (who runs, how often restarted).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "orderflow/runtime/endpoints_file.h"
#include "system.h"

namespace orderflow::cli {
namespace fs = std::filesystem;

namespace {

// Readers poll these files while they are rewritten: they see the old or the new one, whole.
void write_json_atomically(const fs::path& path, const nlohmann::json& doc) {
  auto tmp = path.string() + ".tmp";
  std::ofstream(tmp) << doc.dump(2) << "\n";
  fs::rename(tmp, path);
}

}  // namespace

Result<std::map<std::string, Endpoint>> read_endpoints_file(const std::string& data_dir) {
  auto endpoints = runtime::read_endpoints_file((fs::path(data_dir) / "endpoints.json").string());
  if (!endpoints && endpoints.error().kind == ErrorKind::kNotFound) {
    return std::map<std::string, Endpoint>{};
  }
  if (!endpoints) return endpoints.error();
  std::map<std::string, Endpoint> out;
  for (const auto& [name, e] : *endpoints) out[name] = {e.host, e.port};
  return out;
}

void System::write_endpoints_file() const {
  nlohmann::json services = nlohmann::json::object();
  for (const auto& [name, ep] : endpoints_) {
    services[name] = {{"host", ep.host}, {"port", ep.port}, {"url", ep.url()}};
  }
  nlohmann::json doc = {{"services", services}, {"kafka", {{"bootstrapServers", bootstrap_}}}};
  write_json_atomically(fs::path(spec_.data_dir) / "endpoints.json", doc);
  write_prometheus_targets(true);
}

void System::write_prometheus_targets(bool running) const {
  nlohmann::json groups = nlohmann::json::array();
  if (running) {
    for (const auto& instance : instances_) {
      auto it = endpoints_.find(instance.name);
      if (it == endpoints_.end()) continue;
      groups.push_back({{"targets", {it->second.host + ":" + std::to_string(it->second.port)}},
                        {"labels", {{"orderflow_instance", instance.name}}}});
    }
  }
  write_json_atomically(fs::path(spec_.data_dir) / "prometheus-targets.json", groups);
  if (!spec_.prometheus_targets.empty()) {
    write_json_atomically(spec_.prometheus_targets, groups);
  }
}

void System::write_pids_file() const {
  nlohmann::json pids = nlohmann::json::object();
  for (const auto& [name, pid] : this->pids()) pids[name] = pid;
  pids["orderflow"] = getpid();
  nlohmann::json doc = {{"pids", pids}, {"restarts", restarts_}};
  write_json_atomically(fs::path(spec_.data_dir) / "pids.json", doc);
}

}  // namespace orderflow::cli
