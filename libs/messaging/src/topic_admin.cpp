#include "orderflow/messaging/topic_admin.h"

#include <map>

#include "orderflow/messaging/group_lag.h"

#include "rdkafka_handles.h"

#include <algorithm>
#include <functional>
#include <thread>

namespace orderflow::messaging {

namespace detail {

Handle make_client(const KafkaConfig& config, ClientRole role, const std::string& group) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& name, const std::string& value) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error("kafka config " + name + ": " + err);
    }
  };
  if (config.bootstrap_servers.empty()) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error("topic admin: kafka.bootstrap_servers is empty");
  }
  set("bootstrap.servers", config.bootstrap_servers);
  set("client.id", config.client_id.empty() ? "orderflow-topic-admin" : config.client_id);
  // Its failures come back as TopicAdminError; a service retrying against a broker that is
  // down would otherwise print librdkafka's connection errors to stderr every attempt.
  set("log_level", "2");
  for (const auto& [name, value] : config.properties) set(name, value);
  // librdkafka's assign() needs a group.id even when the group is never joined.
  if (role != ClientRole::kAdmin) set("group.id", group);
  if (role != ClientRole::kAdmin) set("enable.auto.commit", "false");
  if (role == ClientRole::kAssigned) {
    for (const auto& [name, value] : config.consumer_properties) set(name, value);
    set("enable.auto.offset.store", "false");
    // Where a partition ends, so that a read stops there (not at the timeout) even when the
    // last offsets hold no record (transaction markers).
    set("enable.partition.eof", "true");
  }
  rd_kafka_t* rk = rd_kafka_new(role == ClientRole::kAdmin ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER,
                                conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("topic admin: ") + err);
  }
  return Handle(rk);
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
  return static_cast<int>(std::max<long long>(1, left));
}

int partition_count(rd_kafka_t* rk, const std::string& topic,
                    std::chrono::steady_clock::time_point deadline) {
  constexpr auto kRetryInterval = std::chrono::milliseconds{100};
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  int partitions = 0;
  do {
    const rd_kafka_metadata_t* raw = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &raw, remaining_ms(deadline)) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      Metadata metadata(raw);
      for (int i = 0; i < metadata->topic_cnt; ++i) {
        if (topic == metadata->topics[i].topic) partitions = metadata->topics[i].partition_cnt;
      }
    }
    if (partitions == 0) std::this_thread::sleep_for(kRetryInterval);
  } while (partitions == 0 && std::chrono::steady_clock::now() < deadline);
  rd_kafka_topic_destroy(rkt);
  return partitions;
}

}  // namespace detail

namespace {

using detail::ClientRole;
using detail::Deleter;
using detail::Handle;
using detail::make_client;
using detail::Metadata;
using detail::partition_count;
using detail::remaining_ms;
using Queue = std::unique_ptr<rd_kafka_queue_t, Deleter<rd_kafka_queue_t, rd_kafka_queue_destroy>>;
using Event = std::unique_ptr<rd_kafka_event_t, Deleter<rd_kafka_event_t, rd_kafka_event_destroy>>;
using AclBinding = std::unique_ptr<rd_kafka_AclBinding_t,
                                   Deleter<rd_kafka_AclBinding_t, rd_kafka_AclBinding_destroy>>;
using Options = std::unique_ptr<rd_kafka_AdminOptions_t,
                                Deleter<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>>;

// Between two offset fetches a loading group coordinator refused.
constexpr std::chrono::milliseconds kCoordinatorRetry{100};

// Whether the broker at `address`, asked alone (a fresh client knows no other broker yet),
// reports every topic of `topics` with a leader for each partition.
bool broker_knows(const KafkaConfig& config, const std::string& address,
                  const std::vector<std::string>& topics,
                  std::chrono::steady_clock::time_point deadline) {
  KafkaConfig single = config;
  single.bootstrap_servers = address;
  Handle rk = make_client(single, ClientRole::kAdmin);
  const rd_kafka_metadata_t* raw = nullptr;
  if (rd_kafka_metadata(rk.get(), 1, nullptr, &raw, std::min(remaining_ms(deadline), 2000)) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return false;
  }
  Metadata metadata(raw);
  std::size_t ready = 0;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const auto& topic = metadata->topics[t];
    if (std::find(topics.begin(), topics.end(), topic.topic) == topics.end() ||
        topic.err != RD_KAFKA_RESP_ERR_NO_ERROR || topic.partition_cnt == 0) {
      continue;
    }
    bool led = true;
    for (int p = 0; p < topic.partition_cnt; ++p) led = led && topic.partitions[p].leader >= 0;
    if (led) ++ready;
  }
  return ready == topics.size();
}

// Waits until `holds(address)` for the address of every broker of the cluster of `rk`. The
// controller answers a create (topics, ACLs) once it has it; each broker learns it from the
// metadata a little later. Throws TopicAdminError (retryable) naming `what` when a broker does
// not before `deadline`.
void await_every_broker(rd_kafka_t* rk, const std::string& what,
                        std::chrono::steady_clock::time_point deadline,
                        const std::function<bool(const std::string&)>& holds) {
  constexpr auto kRetryInterval = std::chrono::milliseconds{20};
  const rd_kafka_metadata_t* raw = nullptr;
  if (rd_kafka_metadata(rk, 0, nullptr, &raw, remaining_ms(deadline)) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw TopicAdminError("created " + what + ", but the broker list could not be read in time",
                          true);
  }
  Metadata metadata(raw);
  for (int b = 0; b < metadata->broker_cnt; ++b) {
    const auto address =
        std::string(metadata->brokers[b].host) + ":" + std::to_string(metadata->brokers[b].port);
    while (!holds(address)) {
      if (std::chrono::steady_clock::now() >= deadline) {
        throw TopicAdminError(
            "broker " + address + " does not report the created " + what + " in time", true);
      }
      std::this_thread::sleep_for(kRetryInterval);
    }
  }
}

// The number of ACL bindings the broker at `address` (asked alone) holds; -1 when it did not
// answer before `deadline`.
long acl_count_on(const KafkaConfig& config, const std::string& address,
                  std::chrono::steady_clock::time_point deadline) {
  KafkaConfig single = config;
  single.bootstrap_servers = address;
  Handle rk = make_client(single, ClientRole::kAdmin);
  char err[512];
  std::unique_ptr<rd_kafka_AclBindingFilter_t,
                  Deleter<rd_kafka_AclBindingFilter_t, rd_kafka_AclBinding_destroy>>
      any(rd_kafka_AclBindingFilter_new(
          RD_KAFKA_RESOURCE_ANY, nullptr, RD_KAFKA_RESOURCE_PATTERN_ANY, nullptr, nullptr,
          RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_ANY, err, sizeof err));
  if (!any) throw TopicAdminError(std::string("acl filter: ") + err);
  Options options(rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_DESCRIBEACLS));
  auto wait = std::min(remaining_ms(deadline), 2000);
  rd_kafka_AdminOptions_set_request_timeout(options.get(), wait, err, sizeof err);
  Queue queue(rd_kafka_queue_new(rk.get()));
  rd_kafka_DescribeAcls(rk.get(), any.get(), options.get(), queue.get());
  Event event(rd_kafka_queue_poll(queue.get(), wait + 500));
  if (!event || rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
  std::size_t count = 0;
  rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(event.get()), &count);
  return static_cast<long>(count);
}

}  // namespace

int cluster_broker_count(const KafkaConfig& config, std::chrono::milliseconds timeout) {
  Handle rk = make_client(config, ClientRole::kAdmin);
  const rd_kafka_metadata_t* raw = nullptr;
  auto code = rd_kafka_metadata(rk.get(), 0, nullptr, &raw, static_cast<int>(timeout.count()));
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw TopicAdminError("no broker of " + config.bootstrap_servers + " answered within " +
                              std::to_string(timeout.count()) + " ms: " + rd_kafka_err2str(code),
                          /*retryable=*/true);
  }
  Metadata metadata(raw);
  return metadata->broker_cnt;
}

int default_replication_factor(int brokers) { return std::clamp(brokers, 1, 3); }

int default_min_insync_replicas(int replication_factor) {
  return std::max(1, replication_factor - 1);
}

std::vector<TopicOutcome> ensure_topics(const KafkaConfig& config,
                                        const std::vector<TopicSpec>& topics,
                                        std::chrono::milliseconds timeout,
                                        const std::shared_ptr<spdlog::logger>& logger) {
  std::vector<TopicOutcome> outcomes;
  if (topics.empty()) return outcomes;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Handle rk = make_client(config, ClientRole::kAdmin);
  char err[512];

  std::vector<rd_kafka_NewTopic_t*> new_topics;
  auto free_new_topics = [&] {
    rd_kafka_NewTopic_destroy_array(new_topics.data(), new_topics.size());
    new_topics.clear();
  };
  for (const auto& spec : topics) {
    auto* nt = rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions, spec.replication_factor,
                                     err, sizeof err);
    if (nt == nullptr) {
      free_new_topics();
      throw TopicAdminError("topic " + spec.name + ": " + err);
    }
    new_topics.push_back(nt);
    for (const auto& [name, value] : spec.configs) {
      if (rd_kafka_NewTopic_set_config(nt, name.c_str(), value.c_str()) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        free_new_topics();
        throw TopicAdminError("topic " + spec.name + ": invalid config " + name);
      }
    }
  }

  Options options(rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), remaining_ms(deadline), err, sizeof err);
  // Wait until the controller created the topic, not just accepted the request.
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), remaining_ms(deadline), err,
                                              sizeof err);
  Queue queue(rd_kafka_queue_new(rk.get()));
  rd_kafka_CreateTopics(rk.get(), new_topics.data(), new_topics.size(), options.get(), queue.get());
  free_new_topics();

  Event event(rd_kafka_queue_poll(queue.get(), remaining_ms(deadline) + 1000));
  if (!event) {
    throw TopicAdminError("creating topics: no answer from " + config.bootstrap_servers +
                              " within " + std::to_string(timeout.count()) + " ms",
                          /*retryable=*/true);
  }
  if (auto code = rd_kafka_event_error(event.get()); code != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw TopicAdminError(
        "creating topic " + topics.front().name + " (and " + std::to_string(topics.size() - 1) +
            " more): " + rd_kafka_event_error_string(event.get()),
        code == RD_KAFKA_RESP_ERR__TIMED_OUT || code == RD_KAFKA_RESP_ERR__TRANSPORT);
  }
  const auto* result = rd_kafka_event_CreateTopics_result(event.get());
  std::size_t count = 0;
  const auto* results = rd_kafka_CreateTopics_result_topics(result, &count);
  std::map<std::string, std::pair<rd_kafka_resp_err_t, std::string>> by_name;
  for (std::size_t i = 0; i < count; ++i) {
    const char* message = rd_kafka_topic_result_error_string(results[i]);
    by_name[rd_kafka_topic_result_name(results[i])] = {rd_kafka_topic_result_error(results[i]),
                                                       message != nullptr ? message : ""};
  }

  for (const auto& spec : topics) {
    auto found = by_name.find(spec.name);
    if (found == by_name.end()) {
      throw TopicAdminError("topic " + spec.name + ": the broker did not report on it");
    }
    auto [code, message] = found->second;
    TopicOutcome outcome{spec.name, code == RD_KAFKA_RESP_ERR_NO_ERROR, spec.partitions};
    if (code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      outcome.partitions = partition_count(rk.get(), spec.name, deadline);
      if (outcome.partitions == 0) {
        logger->warn("topic {} exists; its partition count could not be read within {} ms",
                     spec.name, timeout.count());
      } else if (outcome.partitions != spec.partitions) {
        logger->warn("topic {} exists with {} partitions; the configuration says {}", spec.name,
                     outcome.partitions, spec.partitions);
      }
    } else if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw TopicAdminError("topic " + spec.name + " could not be created: " +
                            rd_kafka_err2str(code) + (message.empty() ? "" : " (" + message + ")"));
    } else {
      logger->info("created topic {} ({} partitions, replication factor {})", spec.name,
                   spec.partitions, spec.replication_factor);
    }
    outcomes.push_back(outcome);
  }
  // Also the ones that existed: another instance may have created them a moment ago.
  std::vector<std::string> names;
  for (const auto& outcome : outcomes) names.push_back(outcome.name);
  // A consumer that subscribes before its broker knows a topic takes it for missing until its
  // next metadata refresh (minutes).
  await_every_broker(rk.get(), "topics", deadline, [&](const std::string& address) {
    return broker_knows(config, address, names, deadline);
  });
  return outcomes;
}

void create_acls(const KafkaConfig& config, const std::vector<AclRule>& rules,
                 std::chrono::milliseconds timeout) {
  if (rules.empty()) return;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  Handle rk = make_client(config, ClientRole::kAdmin);
  char err[512];
  std::vector<AclBinding> bindings;
  for (const auto& rule : rules) {
    auto operation = rule.operation == AclRule::Operation::kRead ? RD_KAFKA_ACL_OPERATION_READ
                     : rule.operation == AclRule::Operation::kWrite
                         ? RD_KAFKA_ACL_OPERATION_WRITE
                         : RD_KAFKA_ACL_OPERATION_DESCRIBE;
    auto* binding = rd_kafka_AclBinding_new(
        rule.resource == AclRule::Resource::kTopic ? RD_KAFKA_RESOURCE_TOPIC
                                                   : RD_KAFKA_RESOURCE_GROUP,
        rule.name.c_str(), RD_KAFKA_RESOURCE_PATTERN_LITERAL, rule.principal.c_str(), "*",
        operation, RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, err, sizeof err);
    if (binding == nullptr) throw TopicAdminError("acl for " + rule.principal + ": " + err);
    bindings.emplace_back(binding);
  }
  std::vector<rd_kafka_AclBinding_t*> raw_bindings;
  for (const auto& b : bindings) raw_bindings.push_back(b.get());
  Options options(rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATEACLS));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), remaining_ms(deadline), err, sizeof err);
  Queue queue(rd_kafka_queue_new(rk.get()));
  rd_kafka_CreateAcls(rk.get(), raw_bindings.data(), raw_bindings.size(), options.get(),
                      queue.get());
  Event event(rd_kafka_queue_poll(queue.get(), remaining_ms(deadline) + 1000));
  if (!event) {
    throw TopicAdminError("creating acls: no answer from " + config.bootstrap_servers + " within " +
                              std::to_string(timeout.count()) + " ms",
                          /*retryable=*/true);
  }
  if (auto code = rd_kafka_event_error(event.get()); code != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw TopicAdminError(
        std::string("creating acls: ") + rd_kafka_event_error_string(event.get()),
        code == RD_KAFKA_RESP_ERR__TIMED_OUT || code == RD_KAFKA_RESP_ERR__TRANSPORT);
  }
  std::size_t count = 0;
  const auto* results =
      rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(event.get()), &count);
  for (std::size_t i = 0; i < count && i < rules.size(); ++i) {
    const rd_kafka_error_t* error = rd_kafka_acl_result_error(results[i]);
    if (error != nullptr && rd_kafka_error_code(error) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw TopicAdminError("acl for " + rules[i].principal + " on " + rules[i].name +
                            " refused: " + rd_kafka_error_string(error));
    }
  }
  // A client that connects before its broker has the ACLs is refused, and for an idempotent
  // producer a refused InitProducerId is fatal.
  await_every_broker(rk.get(), "acls", deadline, [&](const std::string& address) {
    return acl_count_on(config, address, deadline) >= static_cast<long>(rules.size());
  });
}

struct GroupLagProbe::Impl {
  struct Client {
    Handle rk;
    // What the broker last refused this client for a missing ACL; reset by an answer.
    rd_kafka_resp_err_t refused = RD_KAFKA_RESP_ERR_NO_ERROR;
  };
  KafkaConfig config;
  std::map<std::string, Client> clients;  // by group
};

namespace {

// librdkafka retries a coordinator lookup the broker refused (the principal may not DESCRIBE
// the group) until rd_kafka_committed() times out, and reports the refusal as an error event
// once per failure streak: kept, so that every lag() of the streak names it, not a timeout.
void note_refusal(rd_kafka_t* rk, rd_kafka_resp_err_t& refused) {
  while (true) {
    detail::Message m(rd_kafka_consumer_poll(rk, 0));
    if (!m) return;
    if (detail::authorization_failed(m->err)) refused = m->err;
  }
}

Error refused(const std::string& group, const std::string& topic, rd_kafka_resp_err_t err) {
  return unavailable(detail::kAuthorizationFailed,
                     "committed offsets of group " + group + " on " + topic + ": " +
                         rd_kafka_err2str(err) + " (OffsetFetch needs DESCRIBE on the group and " +
                         "the topic)");
}

}  // namespace

GroupLagProbe::GroupLagProbe(KafkaConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
}

GroupLagProbe::~GroupLagProbe() = default;

Result<std::vector<PartitionLag>> GroupLagProbe::lag(const std::string& group,
                                                     const std::vector<std::string>& topics,
                                                     std::chrono::milliseconds timeout) {
  auto it = impl_->clients.find(group);
  if (it == impl_->clients.end()) {
    try {
      it = impl_->clients
               .emplace(group, Impl::Client{make_client(impl_->config, ClientRole::kGroup, group)})
               .first;
    } catch (const std::exception& e) {
      return invalid_input("KAFKA_CONFIG", e.what());
    }
  }
  auto& client = it->second;
  rd_kafka_t* rk = client.rk.get();
  const int timeout_ms = static_cast<int>(timeout.count());
  std::vector<PartitionLag> out;
  for (const auto& topic : topics) {
    int partitions = partition_count(rk, topic, std::chrono::steady_clock::now() + timeout);
    if (partitions == 0) {
      return unavailable("NO_METADATA", "no metadata for topic " + topic + " within " +
                                            std::to_string(timeout_ms) + " ms");
    }
    detail::PartitionList list(rd_kafka_topic_partition_list_new(partitions));
    for (int p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
    }
    // A group coordinator that is still loading its offsets (a cluster or broker just
    // started) answers with a retriable error: asked again until the deadline.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    while (true) {
      err = rd_kafka_committed(rk, list.get(), remaining_ms(deadline));
      const bool retriable = err == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
                             err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE ||
                             err == RD_KAFKA_RESP_ERR_NOT_COORDINATOR;
      if (!retriable || std::chrono::steady_clock::now() + kCoordinatorRetry >= deadline) break;
      std::this_thread::sleep_for(kCoordinatorRetry);
    }
    note_refusal(rk, client.refused);
    if (!err || detail::authorization_failed(err)) client.refused = err;
    if (client.refused) return refused(group, topic, client.refused);
    if (err) {
      return unavailable("OFFSET_FETCH", "committed offsets of group " + group + " on " + topic +
                                             ": " + rd_kafka_err2str(err));
    }
    for (int i = 0; i < list->cnt; ++i) {
      const auto& tp = list->elems[i];
      if (detail::authorization_failed(tp.err)) return refused(group, topic, tp.err);
      if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR || tp.offset < 0) continue;  // never committed
      std::int64_t low = 0;
      std::int64_t high = 0;
      if (auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), tp.partition, &low, &high,
                                                      timeout_ms);
          err) {
        return unavailable("WATERMARKS", "watermarks of " + topic + "/" +
                                             std::to_string(tp.partition) + ": " +
                                             rd_kafka_err2str(err));
      }
      out.push_back(
          {topic, tp.partition, std::max<std::int64_t>(0, high - tp.offset), tp.offset, high});
    }
  }
  return out;
}

}  // namespace orderflow::messaging
