#include "consumer/poll_loop.h"

#include <algorithm>

namespace orderflow::messaging::consumer {

using namespace std::chrono_literals;

namespace {

constexpr int kPollTimeoutMs = 100;
// While the backlog waits for room in a worker queue the poll loop still calls consume() this
// often, which keeps the member within max.poll.interval.ms and serves rebalances.
constexpr int kPausedPollTimeoutMs = 10;
constexpr auto kBacklogPushWait = 50ms;
constexpr auto kLagInterval = 1000ms;
constexpr auto kRevokeLogEvery = 5000ms;

}  // namespace

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

PollLoop::PollLoop(KafkaConsumerClient& client, PartitionOffsets& offsets, WorkerPool& workers,
                   ConsumerLag& lag, const ConsumerOptions& options,
                   std::shared_ptr<spdlog::logger> logger)
    : client_(client),
      offsets_(offsets),
      workers_(workers),
      lag_(lag),
      options_(options),
      logger_(std::move(logger)) {}

void PollLoop::run(const std::atomic<bool>& stopping) {
  auto last_commit = std::chrono::steady_clock::now();
  auto last_lag = last_commit;
  while (!stopping.load()) {
    drain_backlog();
    if (auto record = client_.poll(backlog_.empty() ? kPollTimeoutMs : kPausedPollTimeoutMs)) {
      handle(std::move(*record));
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_commit >= options_.commit_interval) {
      commit(nullptr, "interval");
      last_commit = now;
    }
    if (now - last_lag >= kLagInterval) {
      lag_.update(paused_);
      last_lag = now;
    }
  }
  // Records consumed but never handed to a worker are simply not committed: they come again.
  for (const auto& record : backlog_) offsets_.settle(record, false);
  backlog_.clear();
  workers_.stop();
  commit(nullptr, "stop");
  client_.close();
}

void PollLoop::handle(ConsumedRecord record) {
  offsets_.dispatched(record);
  if (backlog_.empty() && workers_.try_push(record, 0ms)) return;
  backlog_.push_back(std::move(record));
  if (!paused_) set_paused(true);
}

// Pausing instead of blocking on a full queue keeps consume() running, so a slow handler (e.g.
// retries of 2 s × 3 on many records) never exceeds max.poll.interval.ms and rebalances are
// still served. Pausing drops librdkafka's prefetched records; it refetches them from the
// position on resume, so nothing is skipped.
void PollLoop::drain_backlog() {
  while (!backlog_.empty()) {
    if (!workers_.try_push(backlog_.front(), kBacklogPushWait)) return;
    backlog_.pop_front();
  }
  if (paused_) set_paused(false);
}

void PollLoop::set_paused(bool paused) {
  client_.pause_all(paused);
  paused_ = paused;
}

void PollLoop::commit(const std::set<PartitionKey>* only, const char* reason) {
  auto offsets = offsets_.to_commit(only);
  if (offsets.empty()) return;
  for (const auto& accepted : client_.commit(offsets, reason)) offsets_.committed(accepted);
}

void PollLoop::on_assigned(const std::vector<PartitionKey>& partitions) {
  offsets_.assign(partitions);
  assigned_ = static_cast<int>(partitions.size());
  if (!partitions.empty()) {
    unassigned_since_ms_ = 0;
  } else if (joined_ && unassigned_since_ms_.load() == 0) {
    unassigned_since_ms_ = steady_ms();
  }
  joined_ = true;
}

void PollLoop::on_revoked(const std::vector<PartitionKey>& partitions) {
  std::set<PartitionKey> revoked(partitions.begin(), partitions.end());
  // Not yet handed to a worker: give them up uncommitted, the next owner reads them again.
  std::erase_if(backlog_, [&](const ConsumedRecord& r) {
    if (!revoked.contains(PartitionKey{r.topic, r.partition})) return false;
    offsets_.settle(r, false);
    return true;
  });
  if (paused_) {
    client_.resume(partitions);
    paused_ = !backlog_.empty();
  }
  // The offsets of the revoked partitions must be final before another member starts on them,
  // so wait for the workers (they keep running) to finish what they hold; records waiting for a
  // retry are given up instead.
  offsets_.drain_revoked(revoked, kRevokeLogEvery, [&](std::int64_t in_flight) {
    logger_->warn("\"revoke waits for in-flight records\" group={} in_flight={}", options_.group_id,
                  in_flight);
  });
  commit(&revoked, "revoke");
  offsets_.forget_revoked(revoked);
  lag_.revoked(revoked);
  assigned_ = 0;
  unassigned_since_ms_ = steady_ms();
}

}  // namespace orderflow::messaging::consumer
