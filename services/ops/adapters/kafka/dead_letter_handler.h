#pragma once

#include <string>
#include <vector>

#include "../../app/dlq_service.h"
#include "orderflow/messaging/consumer_runner.h"

namespace orderflow::ops {

/// Pattern subscription to every dead-letter topic: {"^.*\.dlt$"} for suffix ".dlt" (the
/// suffix's regex metacharacters escaped; librdkafka treats a leading '^' as a regex).
std::vector<std::string> dlt_subscription(const std::string& dlt_suffix);

/// The ops consumer's RecordHandler: stores each DLT record (idempotent). A storage error is
/// returned as is (kUnavailable is retried by the runner).
messaging::RecordHandler make_dead_letter_handler(DlqService& service);

}  // namespace orderflow::ops
