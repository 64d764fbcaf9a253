#include "consumer/dead_letter_publisher.h"

#include <set>
#include <string_view>

#include "orderflow/messaging/dlt_headers.h"

namespace orderflow::messaging::consumer {

namespace h = dlt_headers;

DeadLetterPublisher::DeadLetterPublisher(const KafkaConfig& kafka,
                                         std::shared_ptr<spdlog::logger> logger,
                                         std::string service, std::string group,
                                         std::string dlt_suffix, const Clock& clock)
    : service_(std::move(service)),
      group_(std::move(group)),
      dlt_suffix_(std::move(dlt_suffix)),
      clock_(clock),
      producer_(make_kafka_producer(kafka, std::move(logger))) {}

OutgoingRecord DeadLetterPublisher::build(const ConsumedRecord& record, const DeadLetter& letter,
                                          const std::string& chain) const {
  // Replaced, not repeated, when a replayed record fails again; dlq.replay.* stay.
  static const std::set<std::string_view> kOwn = {
      h::kService,         h::kConsumerGroup,  h::kOriginalTopic, h::kOriginalPartition,
      h::kOriginalOffset,  h::kErrorTimestamp, h::kErrorClass,    h::kErrorMessage,
      h::kErrorStacktrace, h::kAttempts,       h::kReason};
  OutgoingRecord out{dlt_of(record.topic), record.key, record.value, {}};
  for (const auto& header : record.headers) {
    if (!kOwn.contains(header.key)) out.headers.push_back(header);
  }
  out.headers.push_back({h::kService, service_});
  out.headers.push_back({h::kConsumerGroup, group_});
  out.headers.push_back({h::kOriginalTopic, record.topic});
  out.headers.push_back({h::kOriginalPartition, std::to_string(record.partition)});
  out.headers.push_back({h::kOriginalOffset, std::to_string(record.offset)});
  out.headers.push_back({h::kErrorTimestamp, format_iso8601(clock_.now())});
  out.headers.push_back({h::kErrorClass, h::error_class(letter.error)});
  out.headers.push_back({h::kErrorMessage, letter.error.message});
  out.headers.push_back({h::kErrorStacktrace, chain});
  out.headers.push_back({h::kAttempts, std::to_string(letter.attempts)});
  out.headers.push_back({h::kReason, letter.reason});
  return out;
}

void DeadLetterPublisher::send(const ConsumedRecord& record, const DeadLetter& letter,
                               const std::string& chain, ReportFn on_report) {
  producer_->send(build(record, letter, chain),
                  [on_report = std::move(on_report)](const Result<DeliveryReport>& report) {
                    on_report(report.ok() ? std::nullopt : std::optional<Error>(report.error()));
                  });
}

}  // namespace orderflow::messaging::consumer
