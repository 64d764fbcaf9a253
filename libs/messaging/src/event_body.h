#pragma once

#include <simdjson.h>

#include <memory>

#include "orderflow/messaging/event_codec.h"

namespace orderflow::messaging::detail {

// One parse of an event value: the parser owns the document `root` points into, so the two
// live and move together (on the heap, shared by the EventBody copies).
struct ParsedJson {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
};

// The decoders' access to the parsed object behind an EventBody.
struct EventBodyAccess {
  static EventBody make(std::shared_ptr<const ParsedJson> parsed) {
    EventBody body;
    body.parsed_ = std::move(parsed);
    return body;
  }
  // Empty when the body is default-constructed.
  static simdjson::simdjson_result<simdjson::dom::object> object(const EventBody& body) {
    if (!body.parsed_) return simdjson::INCORRECT_TYPE;
    return body.parsed_->root.get_object();
  }
};

}  // namespace orderflow::messaging::detail
