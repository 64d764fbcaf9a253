#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "orderflow/messaging/record.h"

namespace orderflow::messaging {

/// A topic as the application wants it (config section `topics`).
struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = 1;
  /// Topic configs set at creation, e.g. {"min.insync.replicas", "2"}.
  std::map<std::string, std::string> configs;
};

/// What ensure_topics() found for one topic.
struct TopicOutcome {
  std::string name;
  bool created = false;  ///< false: it existed already
  /// The topic's partition count on the cluster (for an existing topic it may differ from the
  /// spec; ensure_topics() then logs a warning naming both numbers). 0: an existing topic
  /// whose count could not be read in time (also a warning).
  int partitions = 0;
};

/// A topic that could not be created (authorization, too few brokers for the replication
/// factor, unreachable cluster). The message names the topic and the broker's error.
/// retryable(): the cluster did not answer in time (a later attempt may succeed); otherwise it
/// refused.
class TopicAdminError : public std::runtime_error {
 public:
  explicit TopicAdminError(const std::string& message, bool retryable = false)
      : std::runtime_error(message), retryable_(retryable) {}
  [[nodiscard]] bool retryable() const { return retryable_; }

 private:
  bool retryable_;
};

/// The number of brokers the cluster of `config` reports in a metadata request. Blocks up to
/// `timeout`. Throws TopicAdminError (retryable) when no broker answers in time. Thread-safe.
int cluster_broker_count(const KafkaConfig& config, std::chrono::milliseconds timeout);

/// The replication factor for a cluster of `brokers` brokers: min(3, brokers).
int default_replication_factor(int brokers);
/// min.insync.replicas for `replication_factor`: max(1, replication_factor - 1).
int default_min_insync_replicas(int replication_factor);

/// Creates every topic of `topics` that does not exist yet through the Kafka Admin API
/// (CreateTopics), on the cluster of `config` (bootstrap_servers and properties such as
/// security.*), and returns once every broker of the cluster reports every topic of `topics`
/// with a leader per partition (a consumer subscribing earlier could miss one created a moment
/// ago, by this call or by another instance, until its next metadata refresh). An existing topic is
/// fine; one whose partition count differs from its spec is a warning on `logger` naming both
/// numbers (nothing is changed). Blocks up to `timeout` in total. Throws TopicAdminError naming the
/// topic and the broker's error when one cannot be created, or when the cluster does not answer in
/// time; std::runtime_error on an invalid configuration. Thread-safe (each call uses its own
/// client).
std::vector<TopicOutcome> ensure_topics(const KafkaConfig& config,
                                        const std::vector<TopicSpec>& topics,
                                        std::chrono::milliseconds timeout,
                                        const std::shared_ptr<spdlog::logger>& logger);

/// One ALLOW rule of a cluster's authorizer (Kafka ACL, any host): `principal` (e.g.
/// "User:order-service") may do `operation` on the topic or consumer group named `name`
/// (a literal name, no pattern).
struct AclRule {
  enum class Resource { kTopic, kGroup };
  enum class Operation { kRead, kWrite, kDescribe };
  std::string principal;
  Resource resource = Resource::kTopic;
  std::string name;
  Operation operation = Operation::kRead;
  friend bool operator==(const AclRule&, const AclRule&) = default;
};

/// Creates every rule of `rules` through the Admin API (CreateAcls) on the cluster of `config`,
/// which must authenticate as a principal allowed to alter ACLs (a super user). An existing
/// rule is fine. Returns once every broker of the cluster holds at least as many ACLs as
/// `rules` (a client connecting earlier could be refused). Blocks up to `timeout`. Throws
/// TopicAdminError with the broker's error naming the first rule refused, or when the cluster does
/// not answer in time (retryable). Thread-safe (each call uses its own client).
void create_acls(const KafkaConfig& config, const std::vector<AclRule>& rules,
                 std::chrono::milliseconds timeout);

}  // namespace orderflow::messaging
