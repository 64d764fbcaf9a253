#include "group_lag_gauges.h"

#include <sstream>
#include <stdexcept>

namespace orderflow::ops {

std::map<std::string, std::vector<std::string>> lag_groups(
    const std::map<std::string, std::string>& configured, const config::TopicsConfig& topics,
    const std::map<std::string, std::string>& group_ids) {
  const std::map<std::string, std::string> roles = {
      {"orders", topics.orders}, {"inventory", topics.inventory}, {"payments", topics.payments}};
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [name, list] : configured) {
    auto renamed = group_ids.find(name);
    const std::string& group = renamed != group_ids.end() ? renamed->second : name;
    if (group.empty()) continue;  // that group does not run (a sink that is not enabled)
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

void GroupLagGauges::start(std::chrono::milliseconds interval) {
  if (groups_.empty() || task_ != nullptr) return;
  // At start: the console asks for the lag as soon as the system is up, not an interval later.
  task_ = std::make_unique<runtime::PeriodicTask>(
      interval, [this] { refresh(); }, runtime::PeriodicTask::FirstRun::kAtStart);
  task_->start();
}

void GroupLagGauges::stop() {
  stopping_ = true;
  if (task_ != nullptr) task_->stop();
}

void GroupLagGauges::refresh() {
  for (const auto& [group, topics] : groups_) {
    if (stopping_) return;
    auto lag = probe_.lag(group, topics, timeout_);
    {
      std::lock_guard lock(readings_mutex_);
      auto& reading = readings_[group];
      reading.group = group;
      reading.error = lag ? std::nullopt : std::optional<Error>(lag.error());
      reading.partitions = lag ? *lag : std::vector<messaging::PartitionLag>{};
    }
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

std::vector<GroupLagReading> GroupLagGauges::readings() const {
  std::vector<GroupLagReading> out;
  std::lock_guard lock(readings_mutex_);
  for (const auto& [group, topics] : groups_) {
    auto it = readings_.find(group);
    if (it != readings_.end()) {
      out.push_back(it->second);
    } else {
      out.push_back(
          {group, unavailable("NOT_READ_YET", "the lag of " + group + " was not read yet"), {}});
    }
  }
  return out;
}

}  // namespace orderflow::ops
