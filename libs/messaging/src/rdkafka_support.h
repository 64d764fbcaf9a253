#pragma once

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/common.h>

#include <string>
#include <string_view>

namespace orderflow::messaging::detail {

/// librdkafka helpers shared by the producer and the consumer client.
///
/// The spdlog level of a librdkafka log or error event's severity (the producer's and the
/// consumer's event callbacks).
spdlog::level::level_enum log_level(RdKafka::Event::Severity severity);

/// Sets one librdkafka property; throws std::runtime_error "<who>: <name>=<value>: <reason>"
/// when librdkafka refuses it (a startup failure).
void set_property(RdKafka::Conf& conf, std::string_view who, const std::string& name,
                  const std::string& value);

}  // namespace orderflow::messaging::detail
