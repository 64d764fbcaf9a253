#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "orderflow/common/clock.h"
#include "orderflow/messaging/dlt_headers.h"
#include "orderflow/messaging/record.h"

namespace orderflow::ops {

/// Lifecycle of a dead letter in the ops inbox. DISCARDED is terminal; REPLAYED may be replayed
/// again or discarded.
enum class DeadLetterStatus { kNew, kReplayed, kDiscarded };

/// "NEW", "REPLAYED", "DISCARDED".
const char* to_string(DeadLetterStatus status);
/// Parses the upper-case name (case-insensitive); nullopt when unknown.
std::optional<DeadLetterStatus> parse_status(std::string_view text);

/// Header names of the dead-letter protocol (docs/dlq.md), shared with the consumer runner.
namespace headers = messaging::dlt_headers;

/// One record read from a dead-letter topic, with the diagnostics of its dlq.* headers.
/// Fields whose header is missing (a record written by another tool) stay empty / nullopt.
struct DeadLetter {
  std::int64_t id = 0;
  std::string dlt_topic;
  std::int32_t dlt_partition = 0;
  std::int64_t dlt_offset = 0;
  std::string key;
  std::string value;
  messaging::Headers headers;  ///< every header as consumed, dlq.* included

  std::string service;
  std::string consumer_group;
  std::string original_topic;
  std::optional<std::int32_t> original_partition;
  std::optional<std::int64_t> original_offset;
  std::string error_timestamp;
  std::string error_class;
  std::string error_message;
  std::string error_stacktrace;
  std::optional<int> attempts;
  std::string reason;
  std::string event_id;
  std::string event_type;

  DeadLetterStatus status = DeadLetterStatus::kNew;
  int replay_count = 0;
  Clock::TimePoint first_seen{};
  Clock::TimePoint last_seen{};
};

/// Builds a NEW dead letter from a consumed DLT record, parsing the dlq.* headers and the
/// eventId/eventType headers. Never fails: unparsable numbers are left unset.
DeadLetter dead_letter_from_record(const messaging::ConsumedRecord& record, Clock::TimePoint now);

/// The record that replays `letter` (docs/dlq.md "Replay"): to the original topic with the same
/// key, value and headers minus every dlq.* header, plus dlq.replay.count (one more than the
/// previous count: the larger of `letter.replay_count` and a dlq.replay.count the record
/// already carried) and dlq.replay.group (the group that dead-lettered it).
messaging::OutgoingRecord make_replay_record(const DeadLetter& letter);

/// The UNPARK control record (docs/dlq.md "Parking"): key, empty value, dlq.control=UNPARK,
/// dlq.consumer.group=group, dlq.parked.count=resolved.
messaging::OutgoingRecord make_unpark_record(const std::string& topic, const std::string& key,
                                             const std::string& group, std::int64_t resolved);

/// Headers as a JSON array of {"key","value"} objects (order and duplicates kept).
nlohmann::json headers_to_json(const messaging::Headers& headers);
/// Inverse of headers_to_json; ignores malformed entries.
messaging::Headers headers_from_json(const nlohmann::json& json);

}  // namespace orderflow::ops
