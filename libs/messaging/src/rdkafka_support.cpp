#include "rdkafka_support.h"

#include <stdexcept>

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

void set_property(RdKafka::Conf& conf, std::string_view who, const std::string& name,
                  const std::string& value) {
  std::string err;
  if (conf.set(name, value, err) != RdKafka::Conf::CONF_OK) {
    throw std::runtime_error(std::string(who) + ": " + name + "=" + value + ": " + err);
  }
}

}  // namespace orderflow::messaging::detail
