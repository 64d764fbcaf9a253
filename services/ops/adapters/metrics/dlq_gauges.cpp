#include "dlq_gauges.h"

namespace orderflow::ops {

void DlqGauges::refresh(DlqService& service) {
  auto counts = service.counts();
  if (!counts) return;
  std::lock_guard lock(mutex_);
  std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> now;
  for (const auto& c : *counts) now[{c.topic, c.group, c.status}] = c.count;
  for (const auto& key : seen_) now.try_emplace(key, 0);
  for (const auto& [key, value] : now) {
    const auto& [topic, group, status] = key;
    metrics_.set_gauge("orderflow_dlq_messages", "Dead letters by original topic, group, status",
                       {{"topic", topic}, {"group", group}, {"status", status}},
                       static_cast<double>(value));
    seen_.insert(key);
  }
}

}  // namespace orderflow::ops
