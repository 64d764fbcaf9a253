#pragma once

#include <string>
#include <vector>

#include "orderflow/messaging/topic_admin.h"

namespace orderflow::cli {

/// The bus's topic names (SystemSpec::topics in the order orders, inventory, payments).
struct BusTopics {
  std::string orders = "orders.v1";
  std::string inventory = "inventory.v1";
  std::string payments = "payments.v1";
  std::string dlt_suffix = ".dlt";
};

/// The SASL user that creates topics and ACLs (a super user of a secured KafkaCluster).
inline constexpr const char* kKafkaAdminUser = "admin";

/// The services that get a principal of their own (the SASL user is the service's name).
std::vector<std::string> bus_service_users();

/// Who may do what on the bus (docs/security.md has the table): each service WRITEs only the
/// topic of its own events (ops-service: the three, to replay dead letters) and the DLTs of the
/// topics it consumes, READs the topics it consumes (consumer.topics' defaults) in its own
/// consumer group(s) only, and DESCRIBEs the three event topics (producer warm-up).
/// ops-service also DESCRIBEs the other services' groups (order-, inventory-, payment-,
/// notification-service and data-platform-sink): it reads their committed offsets for the lag
/// it reports (OffsetFetch), without READ on them (it may not join nor commit in them). Its
/// console's topic browser needs no group grant: it assign()s partitions at explicit offsets.
/// Principals are "User:<service>". Nothing about CREATE: topics are created by the admin.
std::vector<messaging::AclRule> service_acl_rules(const BusTopics& topics);

}  // namespace orderflow::cli
