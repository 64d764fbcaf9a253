#include "dead_letter_handler.h"

#include <cstring>

namespace orderflow::ops {

std::vector<std::string> dlt_subscription(const std::string& dlt_suffix) {
  std::string escaped;
  for (char c : dlt_suffix) {
    if (std::strchr(".^$|()[]{}*+?\\", c) != nullptr) escaped += '\\';
    escaped += c;
  }
  return {"^.*" + escaped + "$"};
}

messaging::RecordHandler make_dead_letter_handler(DlqService& service) {
  return [&service](const messaging::ConsumedRecord& record) {
    auto r = service.ingest(record);
    messaging::HandlerResult result =
        r ? messaging::HandlerResult::processed() : messaging::HandlerResult::from_error(r.error());
    result.event_id = messaging::find_header(record.headers, "eventId").value_or("");
    result.event_type = messaging::find_header(record.headers, "eventType").value_or("");
    return result;
  };
}

}  // namespace orderflow::ops
