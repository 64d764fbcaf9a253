#include "group_lag_gauges.h"

#include <sstream>
#include <stdexcept>

namespace orderflow::ops {

std::map<std::string, std::vector<std::string>> lag_groups(
    const std::map<std::string, std::string>& configured, const config::TopicsConfig& topics) {
  const std::map<std::string, std::string> roles = {
      {"orders", topics.orders}, {"inventory", topics.inventory}, {"payments", topics.payments}};
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [group, list] : configured) {
    std::istringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
      auto first = item.find_first_not_of(' ');
      if (first == std::string::npos) continue;
      item = item.substr(first, item.find_last_not_of(' ') - first + 1);
      auto role = roles.find(item);
      out[group].push_back(role != roles.end() ? role->second : item);
    }
    if (out[group].empty()) throw std::runtime_error("lag.groups." + group + ": no topic");
  }
  return out;
}

void GroupLagGauges::refresh() {
  for (const auto& [group, topics] : groups_) {
    if (stopping_) return;
    auto lag = probe_.lag(group, topics, timeout_);
    if (!lag) {
      if (!failing_[group]) {
        logger_->warn("\"group lag not readable; keeping the last values\" group={} error={}",
                      group, lag.error().message);
      }
      failing_[group] = true;
      continue;
    }
    failing_[group] = false;
    for (const auto& p : *lag) {
      metrics_.set_gauge(
          "orderflow_consumer_group_lag",
          "Records between a group's committed offset and the high watermark, "
          "seen from outside the group",
          {{"group", group}, {"topic", p.topic}, {"partition", std::to_string(p.partition)}},
          static_cast<double>(p.lag));
    }
  }
}

}  // namespace orderflow::ops
