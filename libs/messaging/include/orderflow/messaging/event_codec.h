#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

namespace detail {
struct ParsedJson;
struct EventBodyAccess;
}  // namespace detail

/// The JSON object of a decoded event, parsed once (simdjson, issue 15: the consumers' JSON
/// cost) and shared by its copies; the typed decoders (event_decoders.h) read their fields from
/// it. Read-only; thread-safe to read. A default-constructed body is an empty object.
class EventBody {
 public:
  /// Top-level fields whose value is a string (its text), a number or a boolean (its JSON
  /// text), in document order; arrays, objects and nulls are left out.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> scalar_fields() const;
  /// The minified JSON text of the top-level field `name`; nullopt when it is absent.
  [[nodiscard]] std::optional<std::string> field_json(std::string_view name) const;
  /// The number of top-level fields.
  [[nodiscard]] std::size_t size() const;

 private:
  friend struct detail::EventBodyAccess;
  std::shared_ptr<const detail::ParsedJson> parsed_;
};

/// A decoded event: its envelope and the whole JSON object (flat: envelope and payload fields
/// side by side, like seed 001). The typed decoders (event_decoders.h) read the payload.
struct DecodedEvent {
  EventMeta meta;
  EventBody body;
  /// The key of the record it came from; empty when decoded from a bare value. The typed
  /// decoders check that a non-empty key is the orderId.
  std::string key;
};

/// Strict decoding of an event value. Never throws: a value that is not UTF-8 JSON, not an
/// object, or lacks a string eventId/eventType/timestamp or an integer eventVersion ≥ 1 is an
/// Error{kInvalidInput, "MALFORMED_EVENT", reason}.
Result<DecodedEvent> decode_event(std::string_view value);

/// decode_event(record.value), keeping record.key (the partition key, orderId for order events).
Result<DecodedEvent> decode_event(const ConsumedRecord& record);

/// Encodes envelope + payload fields into one flat JSON object (payload keys must not collide
/// with envelope keys; envelope wins). `payload` is an object or null (taken by value: move it
/// in, it becomes the event's object). Throws std::invalid_argument for another type (a bug).
std::string encode_event(const EventMeta& meta, nlohmann::json payload);

/// The headers every produced record carries: eventId, eventType, source, traceparent
/// (W3C, observability/trace_context.h: `traceparent` when it is valid, else a new trace, so
/// that every record carries a valid one).
Headers standard_headers(const EventMeta& meta, std::string_view source,
                         std::string_view traceparent = {});

/// observability::child_traceparent of the record's `traceparent` header (a new trace without
/// a valid one): what every event produced in reaction to `record` carries, so that one trace
/// follows an order across services. Thread-safe.
std::string child_traceparent(const ConsumedRecord& record);

}  // namespace orderflow::messaging
