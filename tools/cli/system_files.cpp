// The files `orderflow up` keeps in its data dir for other processes: endpoints.json (the CLI's
// other commands, the console, tests), prometheus-targets.json (Prometheus file_sd) and
// pids.json (who runs, how often restarted).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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

std::map<std::string, Endpoint> read_endpoints_file(const std::string& data_dir) {
  std::map<std::string, Endpoint> out;
  std::ifstream in(fs::path(data_dir) / "endpoints.json");
  if (!in) return out;
  auto doc = nlohmann::json::parse(in, nullptr, false);
  if (!doc.is_object() || !doc.contains("services")) return out;
  for (const auto& [name, value] : doc["services"].items()) {
    if (!value.is_object()) continue;
    out[name] = {value.value("host", "127.0.0.1"),
                 static_cast<std::uint16_t>(value.value("port", 0))};
  }
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
