#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "../metrics/group_lag_gauges.h"
#include "orderflow/http/router.h"
#include "orderflow/messaging/topic_browser.h"

namespace orderflow::ops {

/// What the console API reads (config section `console`).
struct ConsoleSettings {
  /// console.endpoints_file: the instances' endpoints, as `orderflow up` writes them
  /// ({"services":{"<instance>":{"host","port","url"}}}, runtime::read_endpoints_file); re-read
  /// on every request. No file: no instances; a file that does not read as one: 503 with its
  /// error (ENDPOINTS_INVALID, ENDPOINTS_UNREADABLE) naming the problem.
  std::string endpoints_file;
  /// console.scan_limit: the most recent records of a partition GET /api/events reads.
  std::int64_t scan_limit = 10000;
  /// The topics GET /api/events looks in (orders, inventory, payments and their DLTs).
  std::vector<std::string> event_topics;
  std::chrono::milliseconds kafka_timeout{5000};  ///< per broker call of a request
  std::chrono::milliseconds proxy_timeout{5000};  ///< a proxied call, connect included
};

/// The routes the web console adds to ops-service (docs/operations.md, "Console API"), all
/// http::Access::kAdmin: GET /api/services and GET /svc/{service}/{path...} (a read-only proxy to
/// an instance of endpoints_file: the caller's Authorization header goes along, the upstream
/// status, Content-Type and body come back unchanged; 404 UNKNOWN_SERVICE, 503
/// SERVICE_UNAVAILABLE), GET /api/topics, GET /api/topics/{topic}/records (416
/// OFFSET_OUT_OF_RANGE with validRange), GET /api/events?key=K and GET /api/lag (the last
/// readings of `lag`). Keys, values and headers are shown as text (invalid UTF-8 replaced). The
/// references must outlive the router.
void add_console_routes(http::Router& router, messaging::TopicBrowser& browser,
                        const GroupLagGauges& lag, ConsoleSettings settings);

}  // namespace orderflow::ops
