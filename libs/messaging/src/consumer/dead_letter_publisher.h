#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "consumer/key_lanes.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/messaging/record.h"

namespace orderflow::messaging::consumer {

/// Writes dead letters to `<topic><dlt_suffix>` with the original key, value and headers plus
/// the dlq.* diagnostic headers (docs/dlq.md, dlt_headers.h), through its own idempotent
/// producer (acks=all): spring-kafka's DeadLetterPublishingRecoverer. Thread-safe.
class DeadLetterPublisher {
 public:
  /// Delivery outcome: empty when the broker acknowledged the dead letter.
  using ReportFn = std::function<void(std::optional<Error>)>;

  /// Throws std::runtime_error when the producer cannot be created (startup failure).
  DeadLetterPublisher(const KafkaConfig& kafka, std::shared_ptr<spdlog::logger> logger,
                      std::string service, std::string group, std::string dlt_suffix,
                      const Clock& clock);

  /// The dead-letter record of `record`: dlq.* headers it already carried (from an earlier
  /// dead letter) are replaced; `chain` is the dlq.error.stacktrace.
  [[nodiscard]] OutgoingRecord build(const ConsumedRecord& record, const DeadLetter& letter,
                                     const std::string& chain) const;
  /// Sends it; `on_report` runs once, on the producer's delivery thread.
  void send(const ConsumedRecord& record, const DeadLetter& letter, const std::string& chain,
            ReportFn on_report);
  /// The DLT of `topic`.
  [[nodiscard]] std::string dlt_of(const std::string& topic) const { return topic + dlt_suffix_; }

 private:
  std::string service_;
  std::string group_;
  std::string dlt_suffix_;
  const Clock& clock_;
  std::unique_ptr<Producer> producer_;
};

}  // namespace orderflow::messaging::consumer
