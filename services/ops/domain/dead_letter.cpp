#include "dead_letter.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace orderflow::ops {
namespace {

template <class T>
std::optional<T> to_number(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  T value{};
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size()) return std::nullopt;
  return value;
}

bool is_dlq_header(const std::string& key) { return key.rfind(headers::kPrefix, 0) == 0; }

}  // namespace

const char* to_string(DeadLetterStatus status) {
  switch (status) {
    case DeadLetterStatus::kNew:
      return "NEW";
    case DeadLetterStatus::kReplayed:
      return "REPLAYED";
    case DeadLetterStatus::kDiscarded:
      return "DISCARDED";
  }
  return "NEW";
}

std::optional<DeadLetterStatus> parse_status(std::string_view text) {
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (upper == "NEW") return DeadLetterStatus::kNew;
  if (upper == "REPLAYED") return DeadLetterStatus::kReplayed;
  if (upper == "DISCARDED") return DeadLetterStatus::kDiscarded;
  return std::nullopt;
}

DeadLetter dead_letter_from_record(const messaging::ConsumedRecord& record, Clock::TimePoint now) {
  using messaging::find_header;
  const auto& h = record.headers;
  DeadLetter d;
  d.dlt_topic = record.topic;
  d.dlt_partition = record.partition;
  d.dlt_offset = record.offset;
  d.key = record.key;
  d.value = record.value;
  d.headers = record.headers;
  d.service = find_header(h, headers::kService).value_or("");
  d.consumer_group = find_header(h, headers::kConsumerGroup).value_or("");
  d.original_topic = find_header(h, headers::kOriginalTopic).value_or("");
  d.original_partition = to_number<std::int32_t>(find_header(h, headers::kOriginalPartition));
  d.original_offset = to_number<std::int64_t>(find_header(h, headers::kOriginalOffset));
  d.error_timestamp = find_header(h, headers::kErrorTimestamp).value_or("");
  d.error_class = find_header(h, headers::kErrorClass).value_or("");
  d.error_message = find_header(h, headers::kErrorMessage).value_or("");
  d.error_stacktrace = find_header(h, headers::kErrorStacktrace).value_or("");
  d.attempts = to_number<int>(find_header(h, headers::kAttempts));
  d.reason = find_header(h, headers::kReason).value_or("");
  d.event_id = find_header(h, "eventId").value_or("");
  d.event_type = find_header(h, "eventType").value_or("");
  d.status = DeadLetterStatus::kNew;
  d.first_seen = now;
  d.last_seen = now;
  return d;
}

messaging::OutgoingRecord make_replay_record(const DeadLetter& letter) {
  messaging::OutgoingRecord out;
  out.topic = letter.original_topic;
  out.key = letter.key;
  out.value = letter.value;
  int previous = letter.replay_count;
  // A dead letter of an already replayed record carries the earlier count; keep counting on.
  if (auto carried =
          to_number<int>(messaging::find_header(letter.headers, headers::kReplayCount))) {
    previous = std::max(previous, *carried);
  }
  for (const auto& header : letter.headers) {
    if (!is_dlq_header(header.key)) out.headers.push_back(header);
  }
  // The carried count comes from the record: a forged or corrupt maximum must not overflow.
  int count = previous < std::numeric_limits<int>::max() ? previous + 1 : previous;
  out.headers.push_back({headers::kReplayCount, std::to_string(count)});
  out.headers.push_back({headers::kReplayGroup, letter.consumer_group});
  return out;
}

messaging::OutgoingRecord make_unpark_record(const std::string& topic, const std::string& key,
                                             const std::string& group, std::int64_t resolved) {
  messaging::OutgoingRecord out;
  out.topic = topic;
  out.key = key;
  out.headers = {{headers::kControl, headers::kUnpark},
                 {headers::kConsumerGroup, group},
                 {headers::kParkedCount, std::to_string(resolved)}};
  return out;
}

nlohmann::json headers_to_json(const messaging::Headers& headers) {
  auto out = nlohmann::json::array();
  for (const auto& header : headers) out.push_back({{"key", header.key}, {"value", header.value}});
  return out;
}

messaging::Headers headers_from_json(const nlohmann::json& json) {
  messaging::Headers out;
  if (!json.is_array()) return out;
  for (const auto& item : json) {
    if (!item.is_object() || !item.contains("key") || !item["key"].is_string()) continue;
    out.push_back({item["key"].get<std::string>(), item.value("value", std::string{})});
  }
  return out;
}

}  // namespace orderflow::ops
