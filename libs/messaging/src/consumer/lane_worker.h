#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "consumer/dead_letter_publisher.h"
#include "consumer/hand_off_pool.h"
#include "consumer/key_lanes.h"
#include "consumer/key_parking.h"
#include "consumer/partition_offsets.h"
#include "orderflow/common/clock.h"
#include "orderflow/messaging/consumer_runner.h"
#include "orderflow/observability/metrics.h"

namespace orderflow::messaging::consumer {

/// What every worker of a runner shares; each member outlives the workers.
struct WorkerContext {
  const ConsumerOptions& options;
  const RecordHandler& handler;
  const Clock& clock;
  observability::Metrics& metrics;
  spdlog::logger& logger;
  PartitionOffsets& offsets;
  KeyParking& parking;
  DeadLetterPublisher& dead_letters;
  HandOffPool& hand_offs;
  BatchTransaction* batch;  ///< null: one record per transaction
};

/// One worker thread: takes records from its queue into per-key lanes and runs each lane in
/// order — the handler, retries at the RetryPolicy's due times (decide_failure), dead letters
/// (waiting for the broker's acknowledgement before the offset becomes committable), parked
/// keys and UNPARK control records. A lane whose head waits does not hold up other lanes.
/// With a BatchTransaction the heads of the ready lanes (at most options.max_batch) are handled
/// in one transaction and settled once it committed.
class LaneWorker {
 public:
  explicit LaneWorker(WorkerContext& context);
  ~LaneWorker();
  LaneWorker(const LaneWorker&) = delete;
  LaneWorker& operator=(const LaneWorker&) = delete;

  void start();
  /// Queues `record`, waiting up to `wait` for room (queue_capacity); false when still full.
  /// Poll thread.
  bool try_push(ConsumedRecord& record, std::chrono::milliseconds wait);
  /// Tells the worker to finish what it holds (see ConsumerRunner::stop) and exit.
  void request_stop();
  /// Waits for the thread to exit (after request_stop()).
  void join();

 private:
  /// Posted to the worker by another thread about a lane's first record.
  struct Report {
    LaneKey lane;
    Awaiting about = Awaiting::kDeadLetter;
    std::optional<Error> error;  ///< kDeadLetter: empty when the broker acknowledged it
    HandlerResult result;        ///< kHandOff: the handed-off work's result
    std::chrono::steady_clock::time_point started;  ///< kHandOff: when the handler was called
  };

  void loop();
  void exit_lanes();
  void dispatch(ConsumedRecord record);
  void advance(KeyLanes::Map::iterator it);
  void run_due();
  void drop_revoked();
  /// What the lane's first record needs before (or instead of) a handler call.
  enum class Prepared { kFinished, kWaiting, kCallHandler };
  Prepared prepare(KeyLanes::Map::iterator it);
  bool step(KeyLanes::Map::iterator it);
  [[nodiscard]] bool runnable(const KeyLane& lane, Clock::TimePoint now) const;
  void run_batches();
  void run_batch(const std::vector<KeyLanes::Map::iterator>& ready);
  bool take(KeyLanes::Map::iterator it, HandlerResult result,
            std::chrono::steady_clock::time_point started);
  bool conclude(KeyLanes::Map::iterator it, HandlerResult result,
                std::chrono::steady_clock::time_point started);
  void hand_off(KeyLanes::Map::iterator it, std::function<HandlerResult()> rest,
                std::chrono::steady_clock::time_point started);
  void fail(KeyLanes::Map::iterator it, Error error, int attempt);
  void send_dead_letter(KeyLanes::Map::iterator it);
  void post(Report report);
  void drain_reports();
  bool dead_letter_report(KeyLanes::Map::iterator it, const std::optional<Error>& error);
  void control(const ConsumedRecord& record, const std::string& control,
               const std::string& event_type);
  HandlerResult call_handler(const ConsumedRecord& record,
                             const std::function<HandlerResult()>& call);
  void abandon_lane(const KeyLane& lane, const char* why);

  WorkerContext& context_;
  std::mutex mutex_;
  std::condition_variable has_work_;
  std::condition_variable has_room_;
  std::deque<ConsumedRecord> queue_;
  std::deque<Report> reports_;  ///< posted by the DLT producer's and the hand-off threads
  bool exit_ = false;
  // Only the worker thread touches these.
  KeyLanes lanes_;
  bool exiting_ = false;
  std::thread thread_;
};

/// The workers of a runner; a key always maps to the same worker.
class WorkerPool {
 public:
  WorkerPool(WorkerContext& context, int workers);
  void start();
  /// Queues `record` on its key's worker (see LaneWorker::try_push).
  bool try_push(ConsumedRecord& record, std::chrono::milliseconds wait);
  /// Stops every worker, then waits for the hand-offs still running.
  void stop();

 private:
  WorkerContext& context_;
  std::vector<std::unique_ptr<LaneWorker>> workers_;
};

}  // namespace orderflow::messaging::consumer
