#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <spdlog/logger.h>

#include "orderflow/common/result.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/messaging/record.h"
#include "orderflow/observability/metrics.h"
#include "orderflow/storage/database.h"

namespace orderflow::messaging {

/// Transactional outbox (ARCHITECTURE.md "Producing"): business rows and the event row commit
/// in one DB transaction; OutboxRelay publishes them afterwards.
/// Table outbox(id, topic, record_key, value, headers (JSON), created_at, sent_at).
class Outbox {
 public:
  /// Schema steps; run with storage::migrate(db, "outbox", Outbox::migrations()).
  static std::span<const storage::Migration> migrations();
  /// Inserts `record` into the outbox inside the caller's transaction.
  static Result<void> append(storage::Tx& tx, const OutgoingRecord& record);
  /// Rows not yet acknowledged by the broker.
  static Result<std::int64_t> pending(storage::Database& db);
};

/// The relay's access to outbox rows; the default works on storage::Database, tests
/// substitute one to simulate a crash between the broker's acknowledgement and the mark.
class OutboxStore {
 public:
  struct Row {
    std::int64_t id = 0;
    OutgoingRecord record;
  };
  virtual ~OutboxStore() = default;
  /// Oldest unsent rows, in id order, at most `limit`.
  virtual Result<std::vector<Row>> fetch_unsent(int limit) = 0;
  /// Marks rows acknowledged (they are deleted or stamped sent_at; either way never resent).
  virtual Result<void> mark_sent(std::span<const std::int64_t> ids) = 0;
};

std::unique_ptr<OutboxStore> make_outbox_store(storage::Database& db);

struct RelayOptions {
  int batch_size = 500;
  std::chrono::milliseconds poll_interval{1000};  ///< safety net; commits wake it at once
  std::chrono::milliseconds delivery_timeout{30000};
};

/// Publishes outbox rows in id order with the idempotent producer and marks each row sent
/// once its delivery report arrives. At-least-once: a crash between the acknowledgement and the
/// mark republishes the row with the same eventId, which consumers' inboxes drop as duplicates.
/// Rows left unsent by a crash are published by the next relay on start. Thread-safe.
class OutboxRelay {
 public:
  OutboxRelay(OutboxStore& store, Producer& producer, RelayOptions options,
              observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger);
  ~OutboxRelay();
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  void start();
  /// Wakes the relay (call after a transaction that appended to the outbox committed).
  void notify();
  /// Publishes every unsent row now and waits for the reports, up to `timeout`. Returns the
  /// number of rows still unsent (0 on success). Used on shutdown and by tests.
  Result<std::int64_t> drain(std::chrono::milliseconds timeout);
  /// Stops the relay thread (rows in flight finish or stay unsent for the next start).
  void stop();
  /// One publish round: fetch a batch, send, wait for reports, mark. Returns rows marked.
  /// Exposed for tests; the relay thread calls it in a loop.
  Result<std::int64_t> publish_batch();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::messaging
