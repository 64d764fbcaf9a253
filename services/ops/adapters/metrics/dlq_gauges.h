#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include "../../app/dlq_service.h"
#include "orderflow/observability/metrics.h"

namespace orderflow::ops {

/// orderflow_dlq_messages{service,topic,group,status}: dead letters per original topic,
/// consumer group and status. refresh() recomputes every gauge from the store; a combination
/// that disappeared is set to 0. Thread-safe.
class DlqGauges {
 public:
  explicit DlqGauges(observability::Metrics& metrics) : metrics_(metrics) {}
  /// Recomputes from `service`'s counts; logs nothing, ignores a storage error (next refresh).
  void refresh(DlqService& service);

 private:
  observability::Metrics& metrics_;
  std::mutex mutex_;
  std::set<std::tuple<std::string, std::string, std::string>> seen_;
};

}  // namespace orderflow::ops
