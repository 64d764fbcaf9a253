#include "orderflow/messaging/batch_transaction.h"

namespace orderflow::messaging {
namespace {

class DatabaseBatch final : public BatchTransaction {
 public:
  DatabaseBatch(storage::Database& db, std::function<void()> after_commit)
      : db_(db), after_commit_(std::move(after_commit)) {}

  Result<void> run(const std::function<void()>& body) override {
    auto committed = db_.write([&](storage::Tx&) -> Result<void> {
      body();
      return {};
    });
    if (committed && after_commit_) after_commit_();
    return committed;
  }

  Result<void> record(const std::function<bool()>& handle) override {
    bool keep = false;
    auto r = db_.write([&](storage::Tx&) -> Result<void> {
      keep = handle();
      if (keep) return {};
      // Only to roll the savepoint back; the caller has the record's own result.
      return internal_error("RECORD_ROLLED_BACK", "the record's handling failed");
    });
    if (!keep && !r && r.error().code == "RECORD_ROLLED_BACK") return {};
    return r;
  }

 private:
  storage::Database& db_;
  std::function<void()> after_commit_;
};

}  // namespace

std::unique_ptr<BatchTransaction> make_database_batch(storage::Database& db,
                                                      std::function<void()> after_commit) {
  return std::make_unique<DatabaseBatch>(db, std::move(after_commit));
}

}  // namespace orderflow::messaging
