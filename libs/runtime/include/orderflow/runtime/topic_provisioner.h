#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include <spdlog/logger.h>

#include "orderflow/config/config.h"
#include "orderflow/messaging/topic_admin.h"
#include "orderflow/runtime/periodic_task.h"

namespace orderflow::runtime {

/// The topics a service ensures at start-up (issue 10): orders, inventory and payments of
/// `config.topics` and their DLTs, each with topics.partitions, the replication factor
/// (topics.replication_factor, else min(3, brokers)) and min.insync.replicas
/// (topics.min_insync_replicas, else max(1, RF - 1)).
std::vector<messaging::TopicSpec> service_topics(const config::ServiceConfig& config, int brokers);

/// Creates the service's topics (service_topics()) through the Admin API when topics.create is
/// on; does nothing when it is off. start() makes the first attempt on the caller's thread: a
/// topic the cluster refuses (authorization, too few brokers for the replication factor)
/// throws messaging::TopicAdminError naming the topic and the broker's error, which stops
/// start-up. A cluster that does not answer within `attempt_timeout` does not stop start-up
/// (the service starts unready and accepts orders into its outbox): the attempt is repeated
/// every `retry_interval` on a background thread until it succeeds, a refusal then being
/// logged as an error. stop() ends the retries. Not copyable; start()/stop() from one thread.
class TopicProvisioner {
 public:
  TopicProvisioner(const config::ServiceConfig& config, std::shared_ptr<spdlog::logger> logger,
                   std::chrono::milliseconds attempt_timeout = std::chrono::milliseconds{5000},
                   std::chrono::milliseconds retry_interval = std::chrono::milliseconds{5000});
  ~TopicProvisioner();
  TopicProvisioner(const TopicProvisioner&) = delete;
  TopicProvisioner& operator=(const TopicProvisioner&) = delete;

  void start();
  void stop();
  /// Whether the topics are known to exist (or creation is off). Thread-safe.
  [[nodiscard]] bool done() const { return done_.load(); }

 private:
  /// One attempt; true when done, false when the cluster did not answer (retry).
  bool attempt();

  const config::ServiceConfig& config_;
  std::shared_ptr<spdlog::logger> logger_;
  std::chrono::milliseconds attempt_timeout_;
  std::atomic<bool> done_{false};
  PeriodicTask retry_;
};

}  // namespace orderflow::runtime
