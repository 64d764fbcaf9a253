#include "process_stats.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace orderflow::bench {

namespace {

// The fields of /proc/<pid>/stat after the command name (which may contain spaces): field 3
// (state) first.
std::vector<std::string> stat_fields(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) return {};
  std::istringstream in(text.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  return fields;
}

// Field `n` (1-based, as in proc(5)) of stat_fields() as a number; 0 when absent.
long stat_field(const std::vector<std::string>& fields, std::size_t n) {
  return fields.size() > n - 3 ? std::stol(fields[n - 3]) : 0;
}

// Own CPU and that of waited-for children (utime stime cutime cstime), seconds.
double cpu_with_reaped_children(const std::vector<std::string>& fields) {
  long ticks = stat_field(fields, 14) + stat_field(fields, 15) + stat_field(fields, 16) +
               stat_field(fields, 17);
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The "Key: value kB" lines of a /proc file (status, smaps_rollup) by key with its colon;
// nullopt when the file cannot be read (the process is gone).
std::optional<std::map<std::string, std::int64_t>> kib_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::map<std::string, std::int64_t> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    std::int64_t kib = 0;
    if (fields >> key >> kib) out[key] = kib;
  }
  return out;
}

std::int64_t pss_kib(pid_t pid) {
  auto lines = kib_lines("/proc/" + std::to_string(pid) + "/smaps_rollup");
  return lines && lines->count("Pss:") ? lines->at("Pss:") : 0;
}

}  // namespace

std::optional<ProcessSample> sample_process(pid_t pid) {
  auto status = kib_lines("/proc/" + std::to_string(pid) + "/status");
  auto fields = stat_fields(pid);
  if (!status || fields.empty()) return std::nullopt;
  ProcessSample sample;
  sample.rss_kib = status->count("VmRSS:") ? status->at("VmRSS:") : 0;
  sample.peak_rss_kib = status->count("VmHWM:") ? status->at("VmHWM:") : 0;
  sample.cpu_s = static_cast<double>(stat_field(fields, 14) + stat_field(fields, 15)) /
                 static_cast<double>(sysconf(_SC_CLK_TCK));
  return sample;
}

std::optional<ProcessSample> sample_process_tree(pid_t pid) {
  auto root = stat_fields(pid);
  if (root.empty()) return std::nullopt;
  ProcessSample sample;
  sample.cpu_s = cpu_with_reaped_children(root);
  sample.rss_kib = pss_kib(pid);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t child = static_cast<pid_t>(std::stol(name));
    auto fields = stat_fields(child);
    if (fields.empty() || stat_field(fields, 4) != pid) continue;
    sample.cpu_s += cpu_with_reaped_children(fields);
    sample.rss_kib += pss_kib(child);
  }
  sample.peak_rss_kib = sample.rss_kib;
  return sample;
}

double machine_busy_seconds() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  // cpu  user nice system idle iowait irq softirq steal
  std::int64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
               steal = 0;
  if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
      cpu != "cpu") {
    return 0;
  }
  return static_cast<double>(user + nice + system + irq + softirq + steal) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace orderflow::bench
