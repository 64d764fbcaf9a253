#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "orderflow/common/clock.h"
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

/// Admission control on the outbox backlog: refuses new writes while `max_backlog` events wait
/// to be published, so a slow or unreachable broker bounds the outbox (and the DB) instead of
/// letting it grow, and nothing accepted is ever dropped (a refused write wrote nothing).
///
/// Cheap by construction (no COUNT(*) per request): the estimate is the last exact count of
/// unsent rows plus the rows reported through appended() since that count.
///  - appended() is called after each commit that appended rows, so a burst is seen at once.
///  - The count (Outbox::pending, an index scan) is taken again by the first estimate() made
///    `recount_interval` or more after the previous one (lazily: no thread, no count while no
///    write arrives), so rows the relay published meanwhile, and rows written by paths that
///    do not report, are reflected within that interval. Between counts the estimate errs
///    high while the relay publishes (refusing slightly early is safe).
/// With the relay stalled the estimate is exact, except that writes admitted concurrently are
/// counted only once they commit: the limit can be overshot by that many (≤ the writer
/// threads). Thread-safe; one caller at a time runs the count, the others use the previous one.
class OutboxBacklog {
 public:
  static constexpr std::chrono::milliseconds kDefaultRecountInterval{100};

  /// `max_backlog` ≤ 0 = unlimited: admit() always succeeds and never counts.
  /// Refusals are counted in orderflow_http_rejected_total{reason="outbox_backlog"}.
  OutboxBacklog(storage::Database& db, std::int64_t max_backlog, observability::Metrics& metrics,
                std::chrono::milliseconds recount_interval = kDefaultRecountInterval);
  ~OutboxBacklog();
  OutboxBacklog(const OutboxBacklog&) = delete;
  OutboxBacklog& operator=(const OutboxBacklog&) = delete;

  /// Estimated unsent rows (see the class comment); counts first when the last count is older
  /// than the interval. When a recount fails the previous count is used (and retried after the
  /// interval); the error (e.g. kUnavailable DB busy) is returned only while there has never
  /// been a successful count.
  Result<std::int64_t> estimate();
  /// Ok when a write that appends to the outbox may go ahead (estimate below max_backlog).
  /// kUnavailable "OVERLOADED" when it may not (HTTP 503 with Retry-After); estimate()'s error
  /// when the backlog cannot be counted.
  Result<void> admit();
  /// Reports `rows` outbox rows appended by a transaction that committed.
  void appended(std::int64_t rows = 1);
  [[nodiscard]] std::int64_t max_backlog() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// What OutboxStore::record_cluster found.
struct ClusterSwitch {
  std::string previous;          ///< the cluster recorded before; empty on the first record
  std::int64_t republish = 0;    ///< retained sent rows marked unsent again (new cluster only)
  std::int64_t last_row_id = 0;  ///< highest id among them (0 when none)
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
  /// Oldest unsent rows with an id above `after_id`, in id order, at most `limit`.
  virtual Result<std::vector<Row>> fetch_unsent(int limit, std::int64_t after_id = 0) = 0;
  /// Marks rows acknowledged: deleted, or stamped sent_at when sent rows are retained (they
  /// are then kept for a re-publish onto a new cluster until purge_sent()). Never resent
  /// otherwise.
  virtual Result<void> mark_sent(std::span<const std::int64_t> ids) = 0;
  /// What one publish_unsent() round did.
  struct Published {
    std::int64_t fetched = 0;  ///< rows claimed and handed to publish
    std::int64_t last_id = 0;  ///< the highest id among them (0: none)
    std::int64_t marked = 0;   ///< rows acknowledged and marked sent
  };
  /// Sends `rows` (in id order) and returns the ids the broker acknowledged, in any order.
  using PublishFn = std::function<std::vector<std::int64_t>(const std::vector<Row>&)>;
  /// One relay round: claims up to `limit` of the oldest unsent rows, hands them to `publish`
  /// and marks the acknowledged ones sent (as mark_sent()). Errors: the store's (kUnavailable
  /// when the database is); rows not marked stay unsent and come again (at-least-once).
  /// Several rounds may run at once (the relay's pipeline, RelayOptions::pipeline_depth): a
  /// round never claims a row another round in progress holds.
  /// Default: fetch_unsent(), publish, mark_sent(), for one relay per database (SQLite): a round
  /// claims the rows after the last one a round in progress holds; after a round that left
  /// rows unmarked (failed delivery or mark), no round claims until the rounds in progress
  /// end, and the next one starts again from the oldest unsent row, so a failed row is not
  /// left behind while newer rows go out. The database store on PostgreSQL, whose outbox
  /// several instances of a service share, claims per record key instead
  /// (docs/architecture.md "Outbox relays of several instances").
  virtual Result<Published> publish_unsent(int limit, const PublishFn& publish);
  /// Records `cluster_id` as the cluster the rows are published to (table outbox_cluster).
  /// When a different cluster was recorded before, every retained sent row is marked unsent
  /// again in the same transaction, so the relay publishes the history again in id order
  /// (docs/operations.md "Broker loss"). Default: nothing retained, nothing recorded.
  virtual Result<ClusterSwitch> record_cluster(const std::string& cluster_id) {
    return ClusterSwitch{};
  }
  /// Deletes retained sent rows stamped before `cutoff`, oldest id first, at most `limit`;
  /// stops at the first row that is unsent or newer. Returns the rows deleted.
  virtual Result<std::int64_t> purge_sent(Clock::TimePoint cutoff, int limit) { return 0; }

 private:
  // The default publish_unsent()'s claims: the last row id of each round in progress.
  std::mutex claims_mu_;
  std::multiset<std::int64_t> claimed_up_to_;
  bool restart_from_oldest_ = false;  ///< a round left rows unmarked
};

/// The outbox store on `db` (migrated with Outbox::migrations()). `retention` > 0 keeps sent
/// rows (sent_at stamped, ISO-8601 UTC) for re-publishing after a broker loss; 0 deletes them
/// on acknowledgement. `clock` stamps sent_at; it must outlive the store. Thread-safe.
std::unique_ptr<OutboxStore> make_outbox_store(storage::Database& db,
                                               std::chrono::milliseconds retention = {},
                                               const Clock* clock = nullptr);

struct RelayOptions {
  int batch_size = 500;
  std::chrono::milliseconds poll_interval{1000};  ///< safety net; commits wake it at once
  /// outbox.delivery_timeout_ms: how long a round waits for its batch's delivery reports. The
  /// service configuration makes it the producer's message.timeout.ms too (one value), so a
  /// round stops waiting when librdkafka stops trying. Rows still unreported then are not
  /// fetched or sent again until their reports arrive (later rounds wait for those first).
  std::chrono::milliseconds delivery_timeout{30000};
  /// outbox.retention_ms: how long sent rows are kept for a re-publish onto a new cluster
  /// (0 = deleted once acknowledged). Dev (embedded broker): 24 h.
  std::chrono::milliseconds retention{0};
  /// outbox.republish_rate: rows/s at most while history is re-published after a cluster
  /// change, so the consumers keep up and the embedded broker's per-partition cap evicts
  /// nothing they have not read.
  int republish_rate = 2000;
  /// How often retained rows older than `retention` are purged.
  std::chrono::milliseconds purge_interval{60000};
  /// outbox.pipeline_depth: rounds in progress at once. With 2 the next batch is claimed and
  /// sent while the delivery reports of the previous one arrive; 1 = one round at a time.
  /// On PostgreSQL each round in progress holds a pooled connection.
  int pipeline_depth = 2;
};

/// Publishes outbox rows in id order with the idempotent producer and marks each row sent
/// once its delivery report arrives. At-least-once: a crash between the acknowledgement and the
/// mark republishes the row with the same eventId, which consumers' inboxes drop as duplicates.
/// Rows left unsent by a crash are published by the next relay on start.
///
/// Pipelined: RelayOptions::pipeline_depth rounds run at once on their own threads, so the
/// next batch is claimed and sent while the delivery reports of the previous one arrive (the
/// producer keeps the send order per partition: key order holds).
///
/// Waiting for every outcome: a row is sent again only once the producer reported its earlier
/// send (failed or timed out). A round that stops waiting (RelayOptions::delivery_timeout, a
/// drain() deadline, stop()) leaves the unreported rows to the next round, which waits for
/// their reports before it fetches anything, and no other round claims meanwhile; so a stalled
/// broker never holds more than pipeline_depth batches of the relay in the producer's queue,
/// whatever the number of rounds, and never two copies of a row.
///
/// Broker loss: before its first publish the relay asks the producer for the cluster id and
/// records it (OutboxStore::record_cluster). On a different cluster than recorded (the embedded
/// broker restarted empty, or the service was pointed at a new cluster) the retained history
/// (`RelayOptions::retention`) is published again, in id order, at most
/// `RelayOptions::republish_rate` rows/s, before newer rows; consumers' inboxes drop what they
/// had already processed. Counted in orderflow_outbox_republished_total. Nothing is published
/// while the cluster id cannot be read (broker unreachable). Thread-safe.
class OutboxRelay {
 public:
  /// `clock` decides which retained rows are old enough to purge; null = the system clock.
  OutboxRelay(OutboxStore& store, Producer& producer, RelayOptions options,
              observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger,
              const Clock* clock = nullptr);
  ~OutboxRelay();
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  void start();
  /// Wakes the relay (call after a transaction that appended to the outbox committed).
  void notify();
  /// Publishes every unsent row now and waits for the reports, up to `timeout`. Returns the
  /// number of rows still unsent (0 on success), including rows whose send is still
  /// unreported. Used on shutdown and by tests.
  Result<std::int64_t> drain(std::chrono::milliseconds timeout);
  /// Stops the relay thread (rows in flight finish or stay unsent for the next start).
  void stop();
  /// One publish round: fetch a batch, send, wait for reports, mark. Returns rows marked.
  /// While an earlier round's sends are unreported it first waits for those (up to
  /// delivery_timeout), marks the acknowledged ones, and fetches only once all are reported.
  /// Exposed for tests; the relay thread calls it in a loop.
  Result<std::int64_t> publish_batch();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::messaging
