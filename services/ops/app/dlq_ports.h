#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../domain/dead_letter.h"
#include "orderflow/common/result.h"

namespace orderflow::ops {

/// Selects dead letters; unset fields match everything. `topic` is the ORIGINAL topic.
struct DeadLetterFilter {
  std::optional<std::string> topic;
  std::optional<std::string> group;
  std::optional<DeadLetterStatus> status;
  std::optional<std::string> key;
  [[nodiscard]] bool empty() const { return !topic && !group && !status && !key; }
};

/// One row of the audit trail.
struct AuditEntry {
  std::int64_t dead_letter_id = 0;
  std::string action;  ///< REPLAY | DISCARD
  std::string actor;
  Clock::TimePoint at{};
  std::string details;
};

struct DeadLetterPage {
  std::vector<DeadLetter> items;
  std::int64_t total = 0;
};

/// Dead letters per (original topic, group, status), for the gauge.
struct DeadLetterCount {
  std::string topic;
  std::string group;
  std::string status;
  std::int64_t count = 0;
};

/// Persistence port of the ops inbox. Thread-safe.
class DeadLetterStore {
 public:
  virtual ~DeadLetterStore() = default;
  /// Stores a new dead letter; false when (dlt topic, partition, offset) is already stored (its
  /// last_seen is then refreshed).
  virtual Result<bool> add(const DeadLetter& letter) = 0;
  virtual Result<std::optional<DeadLetter>> find(std::int64_t id) = 0;
  /// Newest first.
  virtual Result<DeadLetterPage> list(const DeadLetterFilter& filter, int limit, int offset) = 0;
  /// Every match, oldest first (by original partition and offset within a key).
  virtual Result<std::vector<DeadLetter>> select(const DeadLetterFilter& filter) = 0;
  /// Sets `status` on `ids` (REPLAYED also increments replay_count) and appends one audit row
  /// per id, in one transaction.
  virtual Result<void> mark(const std::vector<std::int64_t>& ids, DeadLetterStatus status,
                            const AuditEntry& audit) = 0;
  virtual Result<std::vector<AuditEntry>> audit_trail(std::int64_t id) = 0;
  virtual Result<std::vector<DeadLetterCount>> counts() = 0;
};

}  // namespace orderflow::ops
