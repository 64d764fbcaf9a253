#pragma once

#include "orderflow/http/server.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/runtime/service_host.h"
#include "orderflow/storage/database.h"

namespace orderflow::runtime {

/// /health/ready of a service: the database answers and, when `consumer` is given, it runs,
/// has joined its consumer group (ConsumerStatus::joined) and has seen no offset reset (records
/// lost to broker retention). Details name each check.
/// Thread-safe as the parts are.
http::Readiness service_readiness(storage::Database& db, const messaging::ConsumerRunner* consumer);

/// GET /admin/status of a service: unsent outbox rows (when `has_outbox`; -1 when the count
/// failed) and the consumer's lag and in-flight records (when `consumer` is given).
DrainStatus service_drain_status(storage::Database& db, bool has_outbox,
                                 const messaging::ConsumerRunner* consumer);

}  // namespace orderflow::runtime
