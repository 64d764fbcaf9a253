#include "consumer/lane_worker.h"

#include <algorithm>
#include <functional>

#include "orderflow/messaging/dlt_headers.h"
#include "orderflow/messaging/event_codec.h"
#include "orderflow/observability/trace_context.h"

namespace orderflow::messaging::consumer {

using namespace std::chrono_literals;
using observability::Outcome;

namespace {

// Workers wake this often while records wait for a retry: the due time is measured on the
// injected Clock, which a test may move by hand, so sleeping until a precomputed steady-clock
// instant would miss the move; a short tick notices it within 10 ms at negligible cost.
constexpr auto kRetryTick = 10ms;
// How long a stopping worker waits for DLT delivery reports before abandoning those records.
constexpr auto kDltDrain = 5s;

Outcome metric_outcome(HandlerOutcome outcome) {
  switch (outcome) {
    case HandlerOutcome::kProcessed:
      return Outcome::kProcessed;
    case HandlerOutcome::kDuplicate:
      return Outcome::kDuplicate;
    case HandlerOutcome::kSkip:
      return Outcome::kSkip;
    case HandlerOutcome::kFailed:
    case HandlerOutcome::kHandedOff:
      break;
  }
  return Outcome::kError;
}

// A record whose handler succeeded or handed off keeps its changes in a batch (its savepoint
// is released); a failed one's are rolled back.
bool keeps_changes(const HandlerResult& result) {
  return result.settled() || result.outcome == HandlerOutcome::kHandedOff;
}

// The event a handler named (taken from the headers until then), for logs and metric labels.
void note_event(KeyLane& lane, const HandlerResult& result) {
  if (!result.event_type.empty()) lane.event_type = result.event_type;
  if (!result.event_id.empty()) lane.event_id = result.event_id;
}

}  // namespace

LaneWorker::LaneWorker(WorkerContext& context) : context_(context) {}

LaneWorker::~LaneWorker() {
  request_stop();
  join();
}

void LaneWorker::start() {
  thread_ = std::thread([this] { loop(); });
}

bool LaneWorker::try_push(ConsumedRecord& record, std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  auto has_room = [&] {
    return queue_.size() < static_cast<std::size_t>(context_.options.queue_capacity);
  };
  if (!has_room() && (wait <= 0ms || !has_room_.wait_for(lock, wait, has_room))) return false;
  queue_.push_back(std::move(record));
  lock.unlock();
  has_work_.notify_one();
  return true;
}

void LaneWorker::request_stop() {
  {
    std::lock_guard lock(mutex_);
    exit_ = true;
  }
  has_work_.notify_all();
}

void LaneWorker::join() {
  if (thread_.joinable()) thread_.join();
}

void LaneWorker::loop() {
  const auto capacity = static_cast<std::size_t>(context_.options.queue_capacity);
  std::vector<ConsumedRecord> taken;
  while (true) {
    drain_reports();
    run_due();
    drop_revoked();
    std::optional<ConsumedRecord> record;
    {
      std::unique_lock lock(mutex_);
      // Records that wait in lanes count against the capacity, so a key that backs off for
      // long cannot make the worker hoard the whole partition in memory.
      auto can_take = [&] { return !queue_.empty() && (lanes_.records() < capacity || exit_); };
      auto ready = [&] { return can_take() || !reports_.empty() || exit_; };
      if (lanes_.empty()) {
        has_work_.wait(lock, ready);
      } else {
        has_work_.wait_for(lock, kRetryTick, ready);
      }
      if (can_take()) {
        record = std::move(queue_.front());
        queue_.pop_front();
        // A batch takes every record there is room for: the heads of their lanes run together.
        // The records taken count against the capacity as if they were in their lanes already.
        while (context_.batch != nullptr && !queue_.empty() &&
               (lanes_.records() + 1 + taken.size() < capacity || exit_)) {
          taken.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      } else if (exit_ && queue_.empty() && reports_.empty()) {
        break;
      }
    }
    if (record) {
      has_room_.notify_all();
      dispatch(std::move(*record));
      for (auto& more : taken) dispatch(std::move(more));
      taken.clear();
    }
    if (context_.batch != nullptr) run_batches();
  }
  exit_lanes();
}

void LaneWorker::exit_lanes() {
  exiting_ = true;
  auto in_flight = [&] {
    return std::any_of(lanes_.begin(), lanes_.end(),
                       [](const auto& lane) { return lane.second.awaiting != Awaiting::kNothing; });
  };
  auto deadline = std::chrono::steady_clock::now() + kDltDrain;
  while (in_flight() && std::chrono::steady_clock::now() < deadline) {
    {
      std::unique_lock lock(mutex_);
      has_work_.wait_for(lock, kRetryTick, [&] { return !reports_.empty(); });
    }
    drain_reports();
  }
  // Uncommitted, they come again; later records of their keys too, so per-key order holds.
  for (auto& [key, lane] : lanes_) {
    abandon_lane(lane, "stopped while it waited for a retry or its dead letter");
  }
  lanes_.clear();
}

void LaneWorker::abandon_lane(const KeyLane& lane, const char* why) {
  for (const auto& record : lane.records) {
    context_.logger.warn(
        "\"record abandoned uncommitted, it will be redelivered\" eventId={} topic={} "
        "partition={} offset={} why=\"{}\"",
        find_header(record.headers, "eventId").value_or(""), record.topic, record.partition,
        record.offset, why);
    context_.offsets.settle(record, false);
  }
}

void LaneWorker::dispatch(ConsumedRecord record) {
  auto [it, first] = lanes_.push(std::move(record));
  if (first) advance(it);
}

void LaneWorker::advance(KeyLanes::Map::iterator it) {
  if (context_.batch != nullptr) return;  // run_batches() picks the lane up
  while (it != lanes_.end()) {
    KeyLane& lane = it->second;
    if (lane.awaiting != Awaiting::kNothing) return;
    if (lane.due && context_.clock.now() < *lane.due) return;
    if (exiting_ && lane.due) return;
    if (!step(it)) return;
    it = lanes_.pop(it);
    if (exiting_) return;
  }
}

void LaneWorker::run_due() {
  if (lanes_.empty()) return;
  auto now = context_.clock.now();
  std::vector<LaneKey> due;
  for (const auto& [key, lane] : lanes_) {
    if (lane.awaiting == Awaiting::kNothing && lane.due && *lane.due <= now) due.push_back(key);
  }
  for (const auto& key : due) {
    if (auto it = lanes_.find(key); it != lanes_.end()) advance(it);
  }
}

/// Lanes of partitions being revoked give up their waiting records (uncommitted), so the revoke
/// does not wait out a backoff; the next owner reads them again.
void LaneWorker::drop_revoked() {
  if (!context_.offsets.revoking_any() || lanes_.empty()) return;
  for (auto it = lanes_.begin(); it != lanes_.end();) {
    const auto& key = it->first;
    if (it->second.awaiting != Awaiting::kNothing ||
        !context_.offsets.revoking(PartitionKey{key.topic, key.partition})) {
      ++it;
      continue;
    }
    abandon_lane(it->second, "its partition was revoked while it waited");
    it = lanes_.erase(it);
  }
}

LaneWorker::Prepared LaneWorker::prepare(KeyLanes::Map::iterator it) {
  KeyLane& lane = it->second;
  const ConsumedRecord& record = lane.records.front();
  const auto& options = context_.options;
  if (lane.event_id.empty()) lane.event_id = find_header(record.headers, "eventId").value_or("");
  if (lane.event_type.empty()) {
    lane.event_type = find_header(record.headers, "eventType").value_or("unknown");
    lane.trace_id =
        observability::trace_id_of(find_header(record.headers, "traceparent").value_or(""));
  }
  if (lane.letter) {  // a DLT write that failed before: try it again
    send_dead_letter(it);
    return Prepared::kWaiting;
  }
  if (auto control_header = find_header(record.headers, dlt_headers::kControl)) {
    control(record, *control_header, lane.event_type);
    return Prepared::kFinished;
  }
  bool replay_for_us = find_header(record.headers, dlt_headers::kReplayGroup) == options.group_id;
  if (!replay_for_us && context_.parking.count(record.topic, record.key) > 0) {
    lane.letter = DeadLetter{
        "KEY_PARKED",
        conflict("KEY_PARKED", "key " + record.key + " is parked in group " + options.group_id), 0};
    lane.chain = "KEY_PARKED: an earlier record of the key was dead-lettered";
    send_dead_letter(it);
    return Prepared::kWaiting;
  }
  return Prepared::kCallHandler;
}

/// Handles the lane's first record once. True when it is finished (offset committable).
bool LaneWorker::step(KeyLanes::Map::iterator it) {
  switch (prepare(it)) {
    case Prepared::kFinished:
      return true;
    case Prepared::kWaiting:
      return false;
    case Prepared::kCallHandler:
      break;
  }
  KeyLane& lane = it->second;
  const ConsumedRecord& record = lane.records.front();
  ++lane.attempts;
  auto started = std::chrono::steady_clock::now();
  return take(it, call_handler(record, [&] { return context_.handler(record); }), started);
}

/// The handler's result for the lane's first record: its rest handed off, or concluded. True
/// when the record is finished (offset committable).
bool LaneWorker::take(KeyLanes::Map::iterator it, HandlerResult result,
                      std::chrono::steady_clock::time_point started) {
  if (result.outcome != HandlerOutcome::kHandedOff) {
    return conclude(it, std::move(result), started);
  }
  note_event(it->second, result);
  hand_off(it, std::move(result.hand_off), started);
  return false;
}

bool LaneWorker::runnable(const KeyLane& lane, Clock::TimePoint now) const {
  if (lane.awaiting != Awaiting::kNothing) return false;
  if (lane.due && (exiting_ || now < *lane.due)) return false;
  return true;
}

/// Batch mode: runs batches of ready lane heads until no lane is ready (each waits for a due
/// time, a report, or has no record left).
void LaneWorker::run_batches() {
  const auto max_batch = static_cast<std::size_t>(context_.options.max_batch);
  std::vector<KeyLanes::Map::iterator> ready;
  while (!exiting_) {
    ready.clear();
    auto now = context_.clock.now();
    for (auto it = lanes_.begin(); it != lanes_.end() && ready.size() < max_batch; ++it) {
      if (runnable(it->second, now)) ready.push_back(it);
    }
    if (ready.empty()) return;
    run_batch(ready);
  }
}

void LaneWorker::run_batch(const std::vector<KeyLanes::Map::iterator>& ready) {
  struct Call {
    KeyLanes::Map::iterator it;
    bool called = false;
    HandlerResult result;
    std::chrono::steady_clock::time_point started;
  };
  std::vector<Call> calls;
  calls.reserve(ready.size());
  // A control record, a parked key or a dead letter to write again needs no handler call.
  for (auto it : ready) {
    switch (prepare(it)) {
      case Prepared::kFinished:
        lanes_.pop(it);
        break;
      case Prepared::kWaiting:
        break;
      case Prepared::kCallHandler:
        ++it->second.attempts;
        calls.push_back({it, false, {}, {}});
        break;
    }
  }
  if (calls.empty()) return;
  // The body may run on another thread (SQLite's group leader) while this one waits; it only
  // reads the lanes' first records and fills in `calls`.
  auto committed = context_.batch->run([&] {
    for (auto& call : calls) {
      const ConsumedRecord& record = call.it->second.records.front();
      call.started = std::chrono::steady_clock::now();
      auto saved = context_.batch->record([&] {
        call.result = call_handler(record, [&] { return context_.handler(record); });
        return keeps_changes(call.result);
      });
      call.called = true;
      if (!saved) call.result = HandlerResult::failed(saved.error());
    }
  });
  for (auto& call : calls) {
    HandlerResult result = std::move(call.result);
    if (!call.called) {
      // The batch never began (e.g. the database is busy): no handler ran.
      call.started = std::chrono::steady_clock::now();
      result = HandlerResult::failed(committed ? internal_error("BATCH_SKIPPED", "not run")
                                               : committed.error());
    } else if (!committed && keeps_changes(result)) {
      // Its changes were rolled back with the batch: it takes the retry path like any failure.
      result.outcome = HandlerOutcome::kFailed;
      result.error = committed.error();
    }
    if (take(call.it, std::move(result), call.started)) lanes_.pop(call.it);
  }
}

/// Takes the handler's final result for the lane's first record: true when it is finished
/// (offset committable); otherwise it waits for a retry or its dead letter.
bool LaneWorker::conclude(KeyLanes::Map::iterator it, HandlerResult result,
                          std::chrono::steady_clock::time_point started) {
  KeyLane& lane = it->second;
  const ConsumedRecord& record = lane.records.front();
  const int attempt = lane.attempts;
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  note_event(lane, result);
  const std::string& event_type = lane.event_type;
  const std::string& event_id = lane.event_id;
  context_.metrics.observe_processing(record.topic, event_type, seconds);

  if (result.settled()) {
    context_.metrics.count_message(record.topic, event_type, metric_outcome(result.outcome));
    if (result.outcome == HandlerOutcome::kSkip && result.error) {
      context_.logger.info(
          "\"record handled\" eventId={} eventType={} topic={} partition={} offset={} "
          "outcome=skip attempt={} code={} reason=\"{}\" ms={:.3f} trace_id={}",
          event_id, event_type, record.topic, record.partition, record.offset, attempt,
          result.error->code, result.error->message, seconds * 1000, lane.trace_id);
    } else {
      context_.logger.info(
          "\"record handled\" eventId={} eventType={} topic={} partition={} offset={} "
          "outcome={} attempt={} ms={:.3f} trace_id={}",
          event_id, event_type, record.topic, record.partition, record.offset,
          to_string(result.outcome), attempt, seconds * 1000, lane.trace_id);
    }
    context_.offsets.settle(record, true);
    return true;
  }
  if (result.outcome == HandlerOutcome::kHandedOff) {
    result.error = internal_error("HANDED_OFF_TWICE", "handed-off work handed off again");
  }
  fail(it,
       result.error.value_or(
           internal_error("HANDLER_FAILED", "handler reported a failure without an error")),
       attempt);
  return false;
}

void LaneWorker::hand_off(KeyLanes::Map::iterator it, std::function<HandlerResult()> rest,
                          std::chrono::steady_clock::time_point started) {
  it->second.awaiting = Awaiting::kHandOff;
  // The record stays in its lane, so its key's later records wait; the worker goes on with
  // other keys meanwhile. The result comes back through the mailbox: the worker owns the lane.
  context_.hand_offs.submit([this, key = it->first, rest = std::move(rest), started,
                             record = it->second.records.front()] {
    Report report{key, Awaiting::kHandOff, {}, call_handler(record, rest), started};
    post(std::move(report));
  });
}

void LaneWorker::fail(KeyLanes::Map::iterator it, Error error, int attempt) {
  KeyLane& lane = it->second;
  const ConsumedRecord& record = lane.records.front();
  if (!lane.chain.empty()) lane.chain += "\n";
  lane.chain += "attempt " + std::to_string(attempt) + ": " + dlt_headers::error_class(error) +
                ": " + error.message;
  auto decision = decide_failure(error, attempt, context_.options.retry);
  if (decision.retry) {
    lane.due = context_.clock.now() + decision.delay;
    context_.metrics.count_message(record.topic, lane.event_type, Outcome::kRetry);
    context_.logger.warn(
        "\"record failed, will retry\" eventId={} eventType={} topic={} partition={} "
        "offset={} outcome=retry attempt={} retryInMs={} kind={} code={} reason=\"{}\" "
        "trace_id={}",
        lane.event_id, lane.event_type, record.topic, record.partition, record.offset, attempt,
        decision.delay.count(), to_string(error.kind), error.code, error.message, lane.trace_id);
    return;
  }
  lane.letter = DeadLetter{std::move(decision.dead_letter_reason), std::move(error), attempt};
  send_dead_letter(it);
}

void LaneWorker::send_dead_letter(KeyLanes::Map::iterator it) {
  KeyLane& lane = it->second;
  lane.awaiting = Awaiting::kDeadLetter;
  lane.due.reset();
  // The report only goes into the worker's mailbox: the worker owns the lane and decides, so a
  // record is settled exactly once even when the report races a stop.
  context_.dead_letters.send(lane.records.front(), *lane.letter, lane.chain,
                             [this, key = it->first](std::optional<Error> error) {
                               post({key, Awaiting::kDeadLetter, std::move(error), {}, {}});
                             });
}

void LaneWorker::post(Report report) {
  {
    std::lock_guard lock(mutex_);
    reports_.push_back(std::move(report));
  }
  has_work_.notify_all();
}

void LaneWorker::drain_reports() {
  std::deque<Report> reports;
  {
    std::lock_guard lock(mutex_);
    reports.swap(reports_);
  }
  for (auto& report : reports) {
    auto it = lanes_.find(report.lane);
    if (it == lanes_.end() || it->second.awaiting != report.about) continue;
    it->second.awaiting = Awaiting::kNothing;
    bool finished = false;
    if (report.about == Awaiting::kHandOff) {
      finished = conclude(it, std::move(report.result), report.started);
    } else {
      finished = dead_letter_report(it, report.error);
    }
    if (!finished) continue;
    it = lanes_.pop(it);
    if (it != lanes_.end() && !exiting_) advance(it);
  }
}

/// True when the dead letter is acknowledged (the record is finished).
bool LaneWorker::dead_letter_report(KeyLanes::Map::iterator it, const std::optional<Error>& error) {
  KeyLane& lane = it->second;
  const ConsumedRecord& record = lane.records.front();
  const DeadLetter& letter = *lane.letter;
  if (error) {
    auto delay = context_.options.retry.delay_before(2);
    lane.due = context_.clock.now() + delay;
    context_.metrics.count_message(record.topic, lane.event_type, Outcome::kError);
    context_.logger.error(
        "\"dead letter write failed, record stays uncommitted\" eventId={} eventType={} "
        "topic={} partition={} offset={} outcome=error reason={} retryInMs={} err=\"{}\" "
        "trace_id={}",
        lane.event_id, lane.event_type, record.topic, record.partition, record.offset,
        letter.reason, delay.count(), error->message, lane.trace_id);
    return false;
  }
  // Parked before it is counted, so whoever sees the count also sees the key parked.
  context_.parking.park(record.topic, record.key);
  context_.metrics.count_message(record.topic, lane.event_type, Outcome::kDlq);
  context_.logger.error(
      "\"record dead-lettered\" eventId={} eventType={} topic={} partition={} offset={} "
      "outcome=dlq reason={} attempts={} class={} message=\"{}\" dlt={} trace_id={}",
      lane.event_id, lane.event_type, record.topic, record.partition, record.offset, letter.reason,
      letter.attempts, dlt_headers::error_class(letter.error), letter.error.message,
      context_.dead_letters.dlt_of(record.topic), lane.trace_id);
  context_.offsets.settle(record, true);
  return true;
}

void LaneWorker::control(const ConsumedRecord& record, const std::string& control,
                         const std::string& event_type) {
  context_.parking.apply_control(record, control);
  context_.metrics.count_message(record.topic, event_type, Outcome::kSkip);
  context_.offsets.settle(record, true);
}

HandlerResult LaneWorker::call_handler(const ConsumedRecord& record,
                                       const std::function<HandlerResult()>& call) {
  // A throwing handler is a bug in that handler, not a reason to stop consuming.
  try {
    return call();
  } catch (const std::exception& e) {
    context_.logger.error("\"handler threw\" topic={} partition={} offset={} what=\"{}\"",
                          record.topic, record.partition, record.offset, e.what());
    return HandlerResult::failed(internal_error("HANDLER_EXCEPTION", e.what()));
  } catch (...) {
    context_.logger.error("\"handler threw\" topic={} partition={} offset={} what=unknown",
                          record.topic, record.partition, record.offset);
    return HandlerResult::failed(internal_error("HANDLER_EXCEPTION", "unknown exception"));
  }
}

WorkerPool::WorkerPool(WorkerContext& context, int workers) : context_(context) {
  for (int i = 0; i < workers; ++i) workers_.push_back(std::make_unique<LaneWorker>(context));
}

void WorkerPool::start() {
  for (auto& worker : workers_) worker->start();
}

bool WorkerPool::try_push(ConsumedRecord& record, std::chrono::milliseconds wait) {
  // A keyless record has no order to keep beyond its partition's.
  std::size_t h = record.key.empty() ? static_cast<std::size_t>(record.partition)
                                     : std::hash<std::string>{}(record.key);
  return workers_[h % workers_.size()]->try_push(record, wait);
}

void WorkerPool::stop() {
  // All at once: each may wait up to kDltDrain for its dead letters' acknowledgements.
  for (auto& worker : workers_) worker->request_stop();
  for (auto& worker : workers_) worker->join();
  // Their results go to mailboxes no worker reads any more: those records were abandoned.
  context_.hand_offs.join();
}

}  // namespace orderflow::messaging::consumer
