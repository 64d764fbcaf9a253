#pragma once

#include <string>

#include "orderflow/common/result.h"

/// Header names of the dead-letter protocol (docs/dlq.md), shared by the consumer runner that
/// writes dead letters and ops-service that reads, replays and unparks them.
namespace orderflow::messaging::dlt_headers {

inline constexpr const char* kPrefix = "dlq.";
inline constexpr const char* kService = "dlq.service";
inline constexpr const char* kConsumerGroup = "dlq.consumer.group";
inline constexpr const char* kOriginalTopic = "dlq.original.topic";
inline constexpr const char* kOriginalPartition = "dlq.original.partition";
inline constexpr const char* kOriginalOffset = "dlq.original.offset";
inline constexpr const char* kErrorTimestamp = "dlq.error.timestamp";
inline constexpr const char* kErrorClass = "dlq.error.class";
inline constexpr const char* kErrorMessage = "dlq.error.message";
inline constexpr const char* kErrorStacktrace = "dlq.error.stacktrace";
inline constexpr const char* kAttempts = "dlq.attempts";
inline constexpr const char* kReason = "dlq.reason";
inline constexpr const char* kReplayCount = "dlq.replay.count";
inline constexpr const char* kReplayGroup = "dlq.replay.group";
inline constexpr const char* kControl = "dlq.control";
inline constexpr const char* kParkedCount = "dlq.parked.count";
/// The value of kControl that resolves a parked key.
inline constexpr const char* kUnpark = "UNPARK";

/// The dlq.error.class value: "<kind>:<code>", e.g. "kUnavailable:DB_BUSY" (the ErrorKind's
/// enumerator name, then the error's code).
std::string error_class(const Error& error);

}  // namespace orderflow::messaging::dlt_headers
