#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "orderflow/config/config.h"
#include "orderflow/messaging/group_lag.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/runtime/periodic_task.h"

namespace orderflow::ops {

/// The consumer groups whose lag the ops-service reports from outside (config `lag.groups`:
/// group → comma-separated topics, each a topic role of section `topics` (orders, inventory,
/// payments) or a topic name; blanks around items are dropped). `group_ids` (config
/// `lag.group_ids`, which `orderflow up` fills from each service's consumer.group_id) renames a
/// group of `configured` to the id its service really uses; names it lacks stay; an empty id
/// drops the group (it does not run: `orderflow up` passes notification-service's sink group
/// empty while sink.enabled is false). Throws std::runtime_error naming the group when its list
/// has no topic (a startup failure).
std::map<std::string, std::vector<std::string>> lag_groups(
    const std::map<std::string, std::string>& configured, const config::TopicsConfig& topics,
    const std::map<std::string, std::string>& group_ids = {});

/// One watched group as the last GroupLagGauges::refresh() read it.
struct GroupLagReading {
  std::string group;
  /// Why the last read failed (its partitions are then empty); NOT_READ_YET before the first.
  std::optional<Error> error;
  std::vector<messaging::PartitionLag> partitions;  ///< where the group has committed
};

/// orderflow_consumer_group_lag{service,group,topic,partition}: each watched group's lag per
/// partition as messaging::GroupLagProbe sees it, so that the lag alert still fires while a
/// group's consumers are all down. refresh() asks the broker for every group (the probe's
/// timeout per topic, 1 s); a group the broker does not answer for keeps its last values and is
/// logged once per failure streak. refresh() has one caller at a time: start()'s thread, or a
/// test that never calls start().
class GroupLagGauges {
 public:
  GroupLagGauges(messaging::GroupLagProbe& probe,
                 std::map<std::string, std::vector<std::string>> groups,
                 observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds{1000})
      : probe_(probe),
        groups_(std::move(groups)),
        metrics_(metrics),
        logger_(std::move(logger)),
        timeout_(timeout) {}
  ~GroupLagGauges() { stop(); }
  GroupLagGauges(const GroupLagGauges&) = delete;
  GroupLagGauges& operator=(const GroupLagGauges&) = delete;

  /// Refreshes on its own thread right away (so GET /api/lag has the lag at once, not one
  /// interval after start), then every `interval` (ms) until stop(). Does not wait for the broker;
  /// does nothing when no group is watched. Call once, from the thread that calls stop().
  void start(std::chrono::milliseconds interval);
  void refresh();
  /// Every watched group (sorted by name) as the last refresh() read it, for GET /api/lag.
  /// Thread-safe (any thread, while a refresh runs).
  [[nodiscard]] std::vector<GroupLagReading> readings() const;
  /// Makes a refresh in progress end after the broker call it is in (shutdown: a broker that
  /// does not answer must not hold the drain for every group's timeout), then ends start()'s
  /// thread. Idempotent.
  void stop();

 private:
  messaging::GroupLagProbe& probe_;
  std::map<std::string, std::vector<std::string>> groups_;
  observability::Metrics& metrics_;
  std::shared_ptr<spdlog::logger> logger_;
  std::chrono::milliseconds timeout_;
  std::map<std::string, bool> failing_;  // by group: the last refresh failed (logged)
  mutable std::mutex readings_mutex_;
  std::map<std::string, GroupLagReading> readings_;  // by group
  std::atomic<bool> stopping_{false};
  std::unique_ptr<runtime::PeriodicTask> task_;  // start()'s; last: stopped before the rest goes
};

}  // namespace orderflow::ops
