#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "orderflow/common/result.h"
#include "orderflow/messaging/record.h"

namespace orderflow::messaging {

/// The envelope fields every event value carries (ARCHITECTURE.md "Event value").
struct EventMeta {
  std::string event_id;    ///< UUID, the idempotency key of consumers
  std::string event_type;  ///< e.g. ORDER_CREATED
  int event_version = 1;
  std::string timestamp;  ///< ISO-8601 UTC with ms
};

/// A decoded event: its envelope and the whole JSON object (flat: envelope and payload fields
/// side by side, like seed 001).
struct DecodedEvent {
  EventMeta meta;
  nlohmann::json body;
};

/// Strict decoding of an event value. Never throws: a value that is not UTF-8 JSON, not an
/// object, or lacks a string eventId/eventType/timestamp or an integer eventVersion ≥ 1 is an
/// Error{kInvalidInput, "MALFORMED_EVENT", reason}.
Result<DecodedEvent> decode_event(std::string_view value);

/// Encodes envelope + payload fields into one flat JSON object (payload keys must not collide
/// with envelope keys; envelope wins).
std::string encode_event(const EventMeta& meta, const nlohmann::json& payload);

/// The headers every produced record carries: eventId, eventType, source, traceparent
/// (W3C; a fresh trace when `traceparent` is empty).
Headers standard_headers(const EventMeta& meta, std::string_view source,
                         std::string_view traceparent = {});

/// A new W3C traceparent "00-<32 hex>-<16 hex>-01".
std::string new_traceparent();

}  // namespace orderflow::messaging
