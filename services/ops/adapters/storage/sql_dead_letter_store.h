#pragma once

#include <span>

#include "../../app/dlq_ports.h"
#include "orderflow/storage/database.h"

namespace orderflow::ops {

/// Schema of the ops inbox: dead_letters (unique by DLT topic/partition/offset) and
/// dead_letter_audit.
std::span<const storage::Migration> dead_letter_migrations();

/// DeadLetterStore on storage::Database (SQLite or PostgreSQL).
class SqlDeadLetterStore final : public DeadLetterStore {
 public:
  explicit SqlDeadLetterStore(storage::Database& db) : db_(db) {}

  Result<bool> add(const DeadLetter& letter) override;
  Result<std::optional<DeadLetter>> find(std::int64_t id) override;
  Result<DeadLetterPage> list(const DeadLetterFilter& filter, int limit, int offset) override;
  Result<std::vector<DeadLetter>> select(const DeadLetterFilter& filter) override;
  Result<void> mark(const std::vector<std::int64_t>& ids, DeadLetterStatus status,
                    const AuditEntry& audit) override;
  Result<std::vector<AuditEntry>> audit_trail(std::int64_t id) override;
  Result<std::vector<DeadLetterCount>> counts() override;

 private:
  storage::Database& db_;
};

}  // namespace orderflow::ops
