#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "orderflow/common/result.h"
#include "orderflow/storage/database.h"

namespace orderflow::messaging {

/// Which events a consumer whose effect is outside our database (a notification channel, the
/// data-platform sink) has already done: check first, act, then mark (config
/// `idempotency.store`). The mark comes after the effect, so a crash between the two repeats
/// the effect once on redelivery (the receiver sees the same Idempotency-Key twice); it is never
/// lost. The database inbox (Inbox::process) is the atomic alternative for effects inside the
/// database. Implementations are thread-safe. Errors: kUnavailable when the store cannot be
/// reached (the consumer retries, then dead-letters; a record is never skipped for it).
class IdempotencyStore {
 public:
  virtual ~IdempotencyStore() = default;
  /// True when (consumer_group, event_id) was marked (and, for Redis, has not expired).
  virtual Result<bool> seen(std::string_view consumer_group, std::string_view event_id) = 0;
  /// Marks (consumer_group, event_id) done; marking it again is not an error.
  virtual Result<void> mark(std::string_view consumer_group, std::string_view event_id) = 0;
  /// "db" or "redis" (logs).
  [[nodiscard]] virtual std::string kind() const = 0;
};

/// The store on the database inbox table processed_events (Inbox): each call is a short
/// transaction of its own. `db` must outlive it and have the inbox migrations applied.
std::unique_ptr<IdempotencyStore> make_database_idempotency_store(storage::Database& db);

/// Config section `redis`.
struct RedisOptions {
  std::string url = "redis://127.0.0.1:6379/0";  ///< redis://host:port/db
  /// Keys are `<key_prefix><consumer_group>:<eventId>`, so two groups in one process (e.g.
  /// notification-service and data-platform-sink, which both see ORDER_COMPLETED) keep their own.
  std::string key_prefix = "orderflow:processed:";
  std::chrono::milliseconds ttl{24 * 60 * 60 * 1000};  ///< seed 004: 24 h; seed 000: 7 days
  std::chrono::milliseconds timeout{1000};             ///< connect and per-command timeout
};

/// The host, port and database number of a redis://host[:port][/db] URL (port 6379 and db 0
/// when absent). kInvalidInput INVALID_REDIS_URL naming the URL otherwise. Pure.
struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
};
Result<RedisAddress> parse_redis_url(const std::string& url);

/// The store on Redis (hiredis): seen = EXISTS key, mark = SET key <epoch ms> NX PX ttl. One
/// connection, shared under a lock and opened again after an error; Redis down is kUnavailable
/// REDIS_UNAVAILABLE. Connects lazily: construction fails only on an invalid URL (throws
/// std::invalid_argument, a startup failure).
std::unique_ptr<IdempotencyStore> make_redis_idempotency_store(RedisOptions options);

}  // namespace orderflow::messaging
