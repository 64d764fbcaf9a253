#include "orderflow/runtime/service_status.h"

#include "orderflow/messaging/outbox.h"

namespace orderflow::runtime {

http::Readiness evaluate_readiness(const ReadinessFacts& facts) {
  http::Readiness r;
  auto fail = [&r](std::string reason) {
    if (r.ready) r.reason = std::move(reason);
    r.ready = false;
  };
  r.details["database"] = facts.database_error.empty() ? "UP" : facts.database_error;
  if (!facts.database_error.empty()) fail("database: " + facts.database_error);
  r.details["intake"] = facts.draining ? "DRAINING" : "OPEN";
  if (facts.draining) fail("draining: intake is closed");
  if (facts.broker_unreachable_for) {
    auto silent = facts.broker_unreachable_for->count();
    r.details["broker"] = {{"status", silent == 0 ? "UP" : "UNREACHABLE"},
                           {"unreachableMs", silent}};
    if (!facts.broker_error.empty()) r.details["broker"]["error"] = facts.broker_error;
    if (*facts.broker_unreachable_for > facts.broker_grace) {
      fail("broker unreachable for " + std::to_string(silent) + " ms: " + facts.broker_error);
    }
  }
  if (facts.consumer) {
    const auto& c = *facts.consumer;
    r.details["consumer"] = {{"running", c.running},
                             {"joined", c.joined},
                             {"assignedPartitions", c.assigned_partitions},
                             {"unassignedMs", c.unassigned_ms},
                             {"lag", c.lag},
                             {"offsetResets", c.offset_resets}};
    // Not ready before the group join: until then the saga does not move, and the first
    // orders after `orderflow up` said ready took ~3 s end to end (docs/benchmarks.md).
    if (!c.running) fail("consumer is not running");
    if (!c.joined) fail("consumer has not joined its group yet");
    if (c.offset_resets > 0) {
      fail("consumer offset reset: " + std::to_string(c.offset_resets) + " (records lost)");
    }
    if (c.unassigned_ms > c.session_timeout_ms && c.assigned_partitions == 0 && c.joined) {
      fail("consumer holds no partition for " + std::to_string(c.unassigned_ms) +
           " ms (session timeout " + std::to_string(c.session_timeout_ms) + " ms)");
    }
  }
  return r;
}

http::Readiness service_readiness(const ReadinessSources& sources) {
  ReadinessFacts facts;
  if (sources.db != nullptr) {
    auto ping = sources.db->ping();
    if (!ping) facts.database_error = ping.error().message;
  }
  facts.draining = sources.intake != nullptr && !sources.intake->open();
  if (sources.consumer != nullptr) facts.consumer = sources.consumer->status();
  if (sources.broker != nullptr) {
    facts.broker_unreachable_for = sources.broker->unreachable_for();
    facts.broker_error = sources.broker->last_error();
  }
  facts.broker_grace = sources.broker_grace;
  return evaluate_readiness(facts);
}

DrainStatus service_drain_status(storage::Database& db, bool has_outbox,
                                 const messaging::ConsumerRunner* consumer,
                                 const messaging::ConsumerRunner* second) {
  DrainStatus s;
  if (has_outbox) {
    auto pending = messaging::Outbox::pending(db);
    s.outbox_pending = pending.ok() ? pending.value() : -1;
  }
  for (const auto* runner : {consumer, second}) {
    if (runner == nullptr) continue;
    auto status = runner->status();
    s.consumer_lag += status.lag;
    s.in_flight += status.in_flight;
  }
  return s;
}

}  // namespace orderflow::runtime
