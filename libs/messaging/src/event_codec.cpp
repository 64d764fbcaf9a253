#include "orderflow/messaging/event_codec.h"

#include <cstdint>
#include <limits>
#include <stdexcept>

#include "event_body.h"
#include "orderflow/observability/trace_context.h"

namespace orderflow::messaging {

namespace {

Error malformed(std::string reason) { return invalid_input("MALFORMED_EVENT", std::move(reason)); }

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

std::optional<Error> require_string(object body, const char* field, std::string& out) {
  element value;
  if (body.at_key(field).get(value)) return malformed(std::string("missing ") + field);
  std::string_view text;
  if (value.get_string().get(text)) return malformed(std::string(field) + " is not a string");
  out = text;
  // An empty id or type cannot key the inbox or pick a handler, so it is as bad as a missing one.
  if (out.empty()) return malformed(std::string(field) + " is empty");
  return std::nullopt;
}

std::optional<Error> require_version(object body, int& out) {
  element value;
  if (body.at_key("eventVersion").get(value)) return malformed("missing eventVersion");
  // Integers only: 1.0 is a double and true a boolean, which must not pass as versions.
  std::int64_t v = 0;
  if (value.type() == element_type::UINT64) return malformed("eventVersion out of range");
  if (value.get_int64().get(v)) return malformed("eventVersion is not an integer");
  if (v > std::numeric_limits<int>::max()) return malformed("eventVersion out of range");
  if (v < 1) return malformed("eventVersion must be >= 1");
  out = static_cast<int>(v);
  return std::nullopt;
}

}  // namespace

Result<DecodedEvent> decode_event(std::string_view value) {
  auto parsed = std::make_shared<detail::ParsedJson>();
  if (auto error = parsed->parser.parse(value.data(), value.size()).get(parsed->root)) {
    return malformed(std::string("not valid UTF-8 JSON: ") + simdjson::error_message(error));
  }
  object body;
  if (parsed->root.get_object().get(body)) return malformed("not a JSON object");
  DecodedEvent event;
  if (auto e = require_string(body, "eventId", event.meta.event_id)) return *e;
  if (auto e = require_string(body, "eventType", event.meta.event_type)) return *e;
  if (auto e = require_version(body, event.meta.event_version)) return *e;
  if (auto e = require_string(body, "timestamp", event.meta.timestamp)) return *e;
  event.body = detail::EventBodyAccess::make(std::move(parsed));
  return event;
}

Result<DecodedEvent> decode_event(const ConsumedRecord& record) {
  auto decoded = decode_event(record.value);
  if (decoded) decoded->key = record.key;
  return decoded;
}

std::vector<std::pair<std::string, std::string>> EventBody::scalar_fields() const {
  std::vector<std::pair<std::string, std::string>> out;
  object fields;
  if (detail::EventBodyAccess::object(*this).get(fields)) return out;
  for (auto [key, value] : fields) {
    switch (value.type()) {
      case element_type::STRING:
        out.emplace_back(std::string(key), std::string(value.get_string().value_unsafe()));
        break;
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE:
      case element_type::BOOL:
        out.emplace_back(std::string(key), simdjson::minify(value));
        break;
      default:
        break;
    }
  }
  return out;
}

std::optional<std::string> EventBody::field_json(std::string_view name) const {
  object fields;
  element value;
  if (detail::EventBodyAccess::object(*this).get(fields) || fields.at_key(name).get(value)) {
    return std::nullopt;
  }
  return simdjson::minify(value);
}

std::size_t EventBody::size() const {
  object fields;
  if (detail::EventBodyAccess::object(*this).get(fields)) return 0;
  return fields.size();
}

std::string encode_event(const EventMeta& meta, nlohmann::json payload) {
  if (payload.is_null()) payload = nlohmann::json::object();
  if (!payload.is_object()) {
    throw std::invalid_argument("encode_event: payload must be a JSON object");
  }
  nlohmann::json& body = payload;
  body["eventId"] = meta.event_id;
  body["eventType"] = meta.event_type;
  body["eventVersion"] = meta.event_version;
  body["timestamp"] = meta.timestamp;
  // Replacing invalid UTF-8 keeps the value decodable by every consumer instead of throwing
  // in the middle of a producer's transaction.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Headers standard_headers(const EventMeta& meta, std::string_view source,
                         std::string_view traceparent) {
  Headers headers;
  headers.reserve(4);
  headers.push_back({"eventId", meta.event_id});
  headers.push_back({"eventType", meta.event_type});
  headers.push_back({"source", std::string(source)});
  headers.push_back({"traceparent", observability::traceparent_or_new(traceparent)});
  return headers;
}

std::string child_traceparent(const ConsumedRecord& record) {
  return observability::child_traceparent(find_header(record.headers, "traceparent").value_or(""));
}

}  // namespace orderflow::messaging
