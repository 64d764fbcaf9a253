#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace orderflow::observability {

struct LogConfig {
  std::string level = "info";   ///< trace|debug|info|warn|error|off
  std::string format = "text";  ///< text (logfmt-style key=value) | json (one object per line)
  /// The process's instance id when several instances of the service run (service.instance_id,
  /// e.g. order-service-2): every line then carries instance=…; empty or equal to the service
  /// name = no such field.
  std::string instance;
};

/// A logger writing to stderr for `service`, buffered: lines reach stderr in blocks, at the
/// latest 100 ms after they were logged, at once for warn and worse, and when the logger is
/// destroyed (a crash can lose the last 100 ms of info lines). Not registered in spdlog's global
/// registry (no singletons: pass it where needed). Lines carry ts, level, service, the instance
/// (when config.instance names one besides the service) and the message; callers put structured
/// fields in the message as key=value (eventId=… topic=… partition=… offset=…). Throws
/// std::invalid_argument for an unknown level or format (a startup failure).
std::shared_ptr<spdlog::logger> make_logger(const std::string& service, const LogConfig& config);

}  // namespace orderflow::observability
