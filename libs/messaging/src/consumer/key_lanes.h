#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "orderflow/common/clock.h"
#include "orderflow/common/result.h"
#include "orderflow/messaging/record.h"

namespace orderflow::messaging::consumer {

/// The unit of ordering: records of one (topic, partition, key) are handled one at a time in
/// offset order. A keyless record has no order to keep beyond its partition's.
struct LaneKey {
  std::string topic;
  std::int32_t partition = 0;
  std::string key;
  auto operator<=>(const LaneKey&) const = default;
  static LaneKey of(const ConsumedRecord& record) {
    return {record.topic, record.partition, record.key};
  }
};

/// Why and how a record is being dead-lettered.
struct DeadLetter {
  std::string reason;  ///< dlq.reason: RETRIES_EXHAUSTED, MALFORMED, HANDLER_ERROR, KEY_PARKED
  Error error;
  int attempts = 0;  ///< handler calls made
};

/// What a lane's first record waits for, besides a due time.
enum class Awaiting {
  kNothing,
  kDeadLetter,  ///< the broker's acknowledgement of its DLT write
  kHandOff,     ///< its handed-off handler work
};

/// The records of one lane that wait behind their first one, which is due for a retry (of the
/// handler or of the DLT write), or whose DLT write or handed-off work is in flight.
struct KeyLane {
  std::deque<ConsumedRecord> records;
  // About records.front():
  int attempts = 0;  ///< handler calls made
  std::optional<Clock::TimePoint> due;
  Awaiting awaiting = Awaiting::kNothing;
  std::optional<DeadLetter> letter;  ///< set once it goes to the DLT
  std::string chain;                 ///< the error chain, for dlq.error.stacktrace
  std::string event_type;
  std::string event_id;
  std::string trace_id;  ///< of its traceparent header, for the log lines ("" without one)

  /// Drops the first record and its state.
  void next() {
    records.pop_front();
    attempts = 0;
    due.reset();
    awaiting = Awaiting::kNothing;
    letter.reset();
    chain.clear();
    event_type.clear();
    event_id.clear();
    trace_id.clear();
  }
};

/// One worker's lanes and the number of records they hold (counted against the worker's queue
/// capacity, so a key that backs off for long cannot hoard a partition in memory). Owned by one
/// worker thread; not thread-safe.
class KeyLanes {
 public:
  using Map = std::map<LaneKey, KeyLane>;

  /// Appends `record` to its lane; returns the lane and whether the record is its first.
  std::pair<Map::iterator, bool> push(ConsumedRecord record) {
    auto [it, inserted] = lanes_.try_emplace(LaneKey::of(record));
    it->second.records.push_back(std::move(record));
    ++records_;
    return {it, it->second.records.size() == 1};
  }
  /// Drops the lane's first record; erases the lane when it is empty (and returns end()).
  Map::iterator pop(Map::iterator it) {
    it->second.next();
    --records_;
    if (!it->second.records.empty()) return it;
    lanes_.erase(it);
    return lanes_.end();
  }
  /// Drops a whole lane.
  Map::iterator erase(Map::iterator it) {
    records_ -= it->second.records.size();
    return lanes_.erase(it);
  }
  Map::iterator find(const LaneKey& key) { return lanes_.find(key); }
  Map::iterator begin() { return lanes_.begin(); }
  Map::iterator end() { return lanes_.end(); }
  [[nodiscard]] bool empty() const { return lanes_.empty(); }
  [[nodiscard]] std::size_t records() const { return records_; }
  void clear() {
    lanes_.clear();
    records_ = 0;
  }

 private:
  Map lanes_;
  std::size_t records_ = 0;
};

}  // namespace orderflow::messaging::consumer
