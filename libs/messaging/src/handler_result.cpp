#include "orderflow/messaging/handler_result.h"

namespace orderflow::messaging {

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
