#include "bus_acls.h"

namespace orderflow::cli {

std::vector<std::string> bus_service_users() {
  return {"order-service", "inventory-service", "payment-service", "notification-service",
          "ops-service"};
}

std::vector<messaging::AclRule> service_acl_rules(const BusTopics& topics) {
  using Rule = messaging::AclRule;
  using Op = Rule::Operation;
  struct Grants {
    std::string user;
    std::vector<std::string> groups;
    std::vector<std::string> writes;     // own events (ops: replays)
    std::vector<std::string> consumes;   // READ, and WRITE on its DLT
    std::vector<std::string> reads;      // READ only (ops: the dead letters, the console)
    std::vector<std::string> describes;  // groups DESCRIBEd (ops: their committed offsets, lag)
  };
  const auto& o = topics.orders;
  const auto& i = topics.inventory;
  const auto& p = topics.payments;
  auto dlt = [&](const std::string& topic) { return topic + topics.dlt_suffix; };
  // The data-platform sink of notification-service is a group of its own on orders
  // (notification::kSinkGroup).
  std::vector<Grants> grants{
      {"order-service", {"order-service"}, {o}, {i, p}, {}, {}},
      {"inventory-service", {"inventory-service"}, {i}, {o, p}, {}, {}},
      {"payment-service", {"payment-service"}, {p}, {i, o}, {}, {}},
      {"notification-service", {"notification-service", "data-platform-sink"}, {}, {o, p}, {}, {}},
      // Reads the event topics too: the console's topic browser and events by key.
      {"ops-service", {"ops-service"}, {o, i, p}, {}, {o, i, p, dlt(o), dlt(i), dlt(p)}, {}},
  };
  // ops-service DESCRIBEs every other service's groups to read their committed offsets
  // (OffsetFetch: the lag it reports, config/ops-service.yaml lag.groups), without READ: it may
  // neither join nor commit in them.
  auto& ops = grants.back();
  for (const auto& g : grants) {
    if (&g != &ops) ops.describes.insert(ops.describes.end(), g.groups.begin(), g.groups.end());
  }
  std::vector<Rule> rules;
  for (const auto& g : grants) {
    auto principal = "User:" + g.user;
    auto add = [&](Rule::Resource resource, const std::string& name, Op op) {
      Rule rule{principal, resource, name, op};
      for (const auto& existing : rules) {
        if (existing == rule) return;
      }
      rules.push_back(std::move(rule));
    };
    for (const auto& topic : {o, i, p}) add(Rule::Resource::kTopic, topic, Op::kDescribe);
    for (const auto& topic : g.writes) add(Rule::Resource::kTopic, topic, Op::kWrite);
    for (const auto& topic : g.consumes) {
      add(Rule::Resource::kTopic, topic, Op::kRead);
      add(Rule::Resource::kTopic, dlt(topic), Op::kWrite);
    }
    for (const auto& topic : g.reads) add(Rule::Resource::kTopic, topic, Op::kRead);
    for (const auto& group : g.groups) add(Rule::Resource::kGroup, group, Op::kRead);
    for (const auto& group : g.describes) add(Rule::Resource::kGroup, group, Op::kDescribe);
  }
  return rules;
}

}  // namespace orderflow::cli
