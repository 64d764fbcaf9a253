#include "orderflow/runtime/topic_provisioner.h"

namespace orderflow::runtime {

std::vector<messaging::TopicSpec> service_topics(const config::ServiceConfig& config, int brokers) {
  const int replication = config.replication_factor > 0
                              ? config.replication_factor
                              : messaging::default_replication_factor(brokers);
  const int min_insync = config.min_insync_replicas > 0
                             ? config.min_insync_replicas
                             : messaging::default_min_insync_replicas(replication);
  std::vector<messaging::TopicSpec> specs;
  for (const auto& topic :
       {config.topics.orders, config.topics.inventory, config.topics.payments}) {
    for (const auto& name : {topic, topic + config.topics.dlt_suffix}) {
      specs.push_back({name,
                       config.topics.partitions,
                       replication,
                       {{"min.insync.replicas", std::to_string(min_insync)}}});
    }
  }
  return specs;
}

TopicProvisioner::TopicProvisioner(const config::ServiceConfig& config,
                                   std::shared_ptr<spdlog::logger> logger,
                                   std::chrono::milliseconds attempt_timeout,
                                   std::chrono::milliseconds retry_interval)
    : config_(config),
      logger_(std::move(logger)),
      attempt_timeout_(attempt_timeout),
      retry_(retry_interval, [this] {
        if (done_.load()) return;
        try {
          attempt();
        } catch (const messaging::TopicAdminError& e) {
          // Too late to stop start-up; the records of a missing topic stay in the outbox.
          logger_->error("\"topic creation refused\" error=\"{}\"", e.what());
          done_ = true;
        }
      }) {}

TopicProvisioner::~TopicProvisioner() { stop(); }

void TopicProvisioner::start() {
  if (!config_.create_topics) {
    done_ = true;
    return;
  }
  if (!attempt()) retry_.start();
}

void TopicProvisioner::stop() { retry_.stop(); }

bool TopicProvisioner::attempt() {
  try {
    const int brokers = messaging::cluster_broker_count(config_.kafka, attempt_timeout_);
    messaging::ensure_topics(config_.kafka, service_topics(config_, brokers), attempt_timeout_,
                             logger_);
    done_ = true;
    return true;
  } catch (const messaging::TopicAdminError& e) {
    if (!e.retryable()) throw;
    logger_->warn("\"topics not ensured; the broker does not answer, retrying\" error=\"{}\"",
                  e.what());
    return false;
  }
}

}  // namespace orderflow::runtime
