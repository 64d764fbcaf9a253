#include "orderflow/runtime/service_status.h"

#include "orderflow/messaging/outbox.h"

namespace orderflow::runtime {

http::Readiness service_readiness(storage::Database& db,
                                  const messaging::ConsumerRunner* consumer) {
  http::Readiness r;
  auto ping = db.ping();
  r.details["database"] = ping.ok() ? "UP" : ping.error().message;
  r.ready = ping.ok();
  if (consumer != nullptr) {
    auto status = consumer->status();
    r.details["consumer"] = {{"running", status.running},
                             {"joined", status.joined},
                             {"assignedPartitions", status.assigned_partitions},
                             {"lag", status.lag},
                             {"offsetResets", status.offset_resets}};
    // Not ready before the group join: until then the saga does not move, and the first
    // orders after `orderflow up` said ready took ~3 s end to end (docs/benchmarks.md).
    r.ready = r.ready && status.running && status.joined && status.offset_resets == 0;
  }
  return r;
}

DrainStatus service_drain_status(storage::Database& db, bool has_outbox,
                                 const messaging::ConsumerRunner* consumer) {
  DrainStatus s;
  if (has_outbox) {
    auto pending = messaging::Outbox::pending(db);
    s.outbox_pending = pending.ok() ? pending.value() : -1;
  }
  if (consumer != nullptr) {
    auto status = consumer->status();
    s.consumer_lag = status.lag;
    s.in_flight = status.in_flight;
  }
  return s;
}

}  // namespace orderflow::runtime
