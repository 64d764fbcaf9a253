#include "consumer/consumer_lag.h"

#include <algorithm>

namespace orderflow::messaging::consumer {

namespace {
constexpr int kLagQueryTimeoutMs = 200;
}

ConsumerLag::ConsumerLag(KafkaConsumerClient& client, PartitionOffsets& offsets,
                         observability::Metrics& metrics, std::string group)
    : client_(client), offsets_(offsets), metrics_(metrics), group_(std::move(group)) {}

void ConsumerLag::update(bool paused) {
  auto parts = offsets_.assigned();
  if (parts.empty()) {
    total_ = 0;
    return;
  }
  auto positions = client_.positions(parts);
  // A partition not read from yet has no position; its lag counts from the group's committed
  // offset, asked once per assignment.
  std::vector<PartitionKey> unknown_start;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (positions[i] < 0 && !offsets_.start_offset(parts[i])) unknown_start.push_back(parts[i]);
  }
  if (!unknown_start.empty()) {
    if (auto committed = client_.committed(unknown_start, kLagQueryTimeoutMs)) {
      for (std::size_t i = 0; i < unknown_start.size(); ++i) {
        // Negative: nothing committed yet.
        if ((*committed)[i]) offsets_.set_start_offset(unknown_start[i], *(*committed)[i]);
      }
    }
  }
  std::int64_t total = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    // The cached watermark comes with every fetch response; a paused partition is not fetched,
    // so its cache goes stale and the broker is asked instead.
    auto w = client_.watermarks(parts[i], paused, kLagQueryTimeoutMs);
    std::int64_t from = positions[i];
    if (from < 0) {
      if (auto start = offsets_.start_offset(parts[i])) from = *start;
      if (from < 0) from = w.low;  // auto.offset.reset=earliest
    }
    std::int64_t lag = w.high >= 0 && from >= 0 ? std::max<std::int64_t>(0, w.high - from) : 0;
    total += lag;
    metrics_.set_consumer_lag(group_, parts[i].topic, parts[i].partition, lag);
  }
  total_ = total;
}

void ConsumerLag::revoked(const std::set<PartitionKey>& partitions) {
  for (const auto& key : partitions) metrics_.set_consumer_lag(group_, key.topic, key.partition, 0);
  total_ = 0;
}

}  // namespace orderflow::messaging::consumer
