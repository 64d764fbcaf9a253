#include "orderflow/messaging/handler_result.h"

namespace orderflow::messaging {

HandlerResult complete(HandlerResult result) {
  if (result.outcome != HandlerOutcome::kHandedOff) return result;
  HandlerResult rest =
      result.hand_off
          ? result.hand_off()
          : HandlerResult::failed(internal_error("HANDED_OFF_EMPTY", "handed off without work"));
  if (rest.event_type.empty()) rest.event_type = std::move(result.event_type);
  if (rest.event_id.empty()) rest.event_id = std::move(result.event_id);
  return rest;
}

const char* to_string(HandlerOutcome outcome) {
  switch (outcome) {
    case HandlerOutcome::kProcessed:
      return "processed";
    case HandlerOutcome::kDuplicate:
      return "duplicate";
    case HandlerOutcome::kSkip:
      return "skip";
    case HandlerOutcome::kFailed:
      return "failed";
    case HandlerOutcome::kHandedOff:
      return "handed_off";
  }
  return "unknown";
}

}  // namespace orderflow::messaging
