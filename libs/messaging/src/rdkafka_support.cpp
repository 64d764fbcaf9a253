#include "rdkafka_log.h"

namespace orderflow::messaging::detail {

spdlog::level::level_enum log_level(RdKafka::Event::Severity severity) {
  switch (severity) {
    case RdKafka::Event::EVENT_SEVERITY_EMERG:
    case RdKafka::Event::EVENT_SEVERITY_ALERT:
    case RdKafka::Event::EVENT_SEVERITY_CRITICAL:
    case RdKafka::Event::EVENT_SEVERITY_ERROR:
      return spdlog::level::err;
    case RdKafka::Event::EVENT_SEVERITY_WARNING:
      return spdlog::level::warn;
    case RdKafka::Event::EVENT_SEVERITY_NOTICE:
    case RdKafka::Event::EVENT_SEVERITY_INFO:
      return spdlog::level::info;
    default:
      return spdlog::level::debug;  // the `debug` property's output
  }
}

}  // namespace orderflow::messaging::detail
