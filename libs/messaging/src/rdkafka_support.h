#pragma once

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/common.h>

namespace orderflow::messaging::detail {

/// The spdlog level of a librdkafka log or error event's severity (the producer's and the
/// consumer's event callbacks).
spdlog::level::level_enum log_level(RdKafka::Event::Severity severity);

}  // namespace orderflow::messaging::detail
