#include "dlq_service.h"

#include <algorithm>
#include <set>

namespace orderflow::ops {
namespace {

Error not_found(std::int64_t id) {
  return {ErrorKind::kNotFound, "DEAD_LETTER_NOT_FOUND",
          "dead letter " + std::to_string(id) + " not found"};
}

bool before(const DeadLetter& a, const DeadLetter& b) {
  auto pa = a.original_partition.value_or(-1);
  auto pb = b.original_partition.value_or(-1);
  if (pa != pb) return pa < pb;
  auto oa = a.original_offset.value_or(-1);
  auto ob = b.original_offset.value_or(-1);
  if (oa != ob) return oa < ob;
  return a.id < b.id;
}

}  // namespace

DlqService::DlqService(DeadLetterStore& store, messaging::Producer& producer, Clock& clock,
                       std::function<void()> on_change, std::chrono::milliseconds send_timeout)
    : store_(store),
      producer_(producer),
      clock_(clock),
      on_change_(std::move(on_change)),
      send_timeout_(send_timeout) {}

void DlqService::changed() {
  if (on_change_) on_change_();
}

Result<void> DlqService::ingest(const messaging::ConsumedRecord& record) {
  auto added = store_.add(dead_letter_from_record(record, clock_.now()));
  if (!added) return added.error();
  if (*added) changed();
  return {};
}

Result<DeadLetterPage> DlqService::list(const DeadLetterFilter& filter, int limit, int offset) {
  return store_.list(filter, limit, offset);
}

Result<DeadLetter> DlqService::get(std::int64_t id) {
  auto found = store_.find(id);
  if (!found) return found.error();
  if (!*found) return not_found(id);
  return std::move(**found);
}

Result<std::vector<AuditEntry>> DlqService::audit_trail(std::int64_t id) {
  return store_.audit_trail(id);
}

Result<void> DlqService::send(messaging::OutgoingRecord record) {
  auto report = producer_.send_sync(std::move(record), send_timeout_);
  if (!report) return report.error();
  return {};
}

Result<std::vector<DeadLetter>> DlqService::siblings(const DeadLetter& letter) {
  DeadLetterFilter filter;
  filter.topic = letter.original_topic;
  filter.group = letter.consumer_group;
  filter.key = letter.key;
  auto all = store_.select(filter);
  if (!all) return all.error();
  std::sort(all->begin(), all->end(), before);
  return all;
}

Result<void> DlqService::send_unpark(const DeadLetter& letter) {
  if (letter.consumer_group.empty() || letter.original_topic.empty()) return {};
  auto all = siblings(letter);
  if (!all) return all.error();
  std::int64_t resolved = 0;
  for (const auto& d : *all) {
    if (d.status == DeadLetterStatus::kNew) return {};  // the key must stay parked
    ++resolved;
  }
  return send(
      make_unpark_record(letter.original_topic, letter.key, letter.consumer_group, resolved));
}

Result<std::vector<std::int64_t>> DlqService::replay(std::int64_t id, const std::string& actor) {
  std::lock_guard lock(action_mutex_);
  return replay_locked(id, actor);
}

Result<std::vector<std::int64_t>> DlqService::replay_locked(std::int64_t id,
                                                            const std::string& actor) {
  auto letter = get(id);
  if (!letter) return letter.error();
  if (letter->status == DeadLetterStatus::kDiscarded) {
    return Error{ErrorKind::kConflict, "DEAD_LETTER_DISCARDED",
                 "dead letter " + std::to_string(id) + " was discarded"};
  }
  if (letter->original_topic.empty() || letter->consumer_group.empty()) {
    return Error{ErrorKind::kUnprocessable, "NOT_REPLAYABLE",
                 "dead letter " + std::to_string(id) +
                     " has no dlq.original.topic or dlq.consumer.group header"};
  }
  auto all = siblings(*letter);
  if (!all) return all.error();
  std::vector<const DeadLetter*> batch;
  for (const auto& d : *all) {
    if (d.id == id || d.status == DeadLetterStatus::kNew) batch.push_back(&d);
  }
  std::vector<std::int64_t> sent;
  Error failure;
  bool failed = false;
  for (const auto* d : batch) {
    auto r = send(make_replay_record(*d));
    if (!r) {
      failure = r.error();
      failed = true;
      break;
    }
    sent.push_back(d->id);
  }
  // What the broker acknowledged is marked even when a later record failed: it was replayed.
  if (!sent.empty()) {
    std::string details = "replayed to " + letter->original_topic + " with " +
                          std::to_string(sent.size()) + " record(s) of key '" + letter->key + "'";
    auto marked =
        store_.mark(sent, DeadLetterStatus::kReplayed, {0, "REPLAY", actor, clock_.now(), details});
    if (!marked) return marked.error();
    changed();
  }
  if (failed) return failure;
  auto unpark = send_unpark(*letter);
  if (!unpark) return unpark.error();
  return sent;
}

Result<void> DlqService::discard(std::int64_t id, const std::string& actor) {
  std::lock_guard lock(action_mutex_);
  return discard_locked(id, actor);
}

Result<void> DlqService::discard_locked(std::int64_t id, const std::string& actor) {
  auto letter = get(id);
  if (!letter) return letter.error();
  if (letter->status == DeadLetterStatus::kDiscarded) {
    return Error{ErrorKind::kConflict, "DEAD_LETTER_DISCARDED",
                 "dead letter " + std::to_string(id) + " is already discarded"};
  }
  bool was_new = letter->status == DeadLetterStatus::kNew;
  auto marked = store_.mark({id}, DeadLetterStatus::kDiscarded,
                            {0, "DISCARD", actor, clock_.now(),
                             std::string("discarded (was ") + to_string(letter->status) + ")"});
  if (!marked) return marked.error();
  changed();
  // A REPLAYED letter already counted as resolved when it was replayed: no new UNPARK needed.
  if (was_new) return send_unpark(*letter);
  return {};
}

Result<BulkResult> DlqService::match_locked(const DeadLetterFilter& filter, bool dry_run) {
  if (filter.empty()) {
    return Error{ErrorKind::kInvalidInput, "NO_FILTER",
                 "give at least one of topic, group, status, key"};
  }
  auto matches = store_.select(filter);
  if (!matches) return matches.error();
  std::sort(matches->begin(), matches->end(), before);
  BulkResult out;
  out.dry_run = dry_run;
  for (const auto& d : *matches) {
    if (d.status != DeadLetterStatus::kDiscarded) out.matched.push_back(d.id);
  }
  return out;
}

Result<BulkResult> DlqService::replay_matching(const DeadLetterFilter& filter, bool dry_run,
                                               const std::string& actor) {
  std::lock_guard lock(action_mutex_);
  auto matched = match_locked(filter, dry_run);
  if (!matched || dry_run) return matched;
  BulkResult out = std::move(matched.value());
  std::set<std::int64_t> done;
  for (auto id : out.matched) {
    if (done.count(id) != 0) continue;  // replayed together with an earlier id of its key
    auto r = replay_locked(id, actor);
    if (!r) {
      out.failed.emplace_back(id, r.error());
      continue;
    }
    for (auto replayed : *r) {
      if (done.insert(replayed).second) out.done.push_back(replayed);
    }
  }
  return out;
}

Result<BulkResult> DlqService::discard_matching(const DeadLetterFilter& filter, bool dry_run,
                                                const std::string& actor) {
  std::lock_guard lock(action_mutex_);
  auto matched = match_locked(filter, dry_run);
  if (!matched || dry_run) return matched;
  BulkResult out = std::move(matched.value());
  for (auto id : out.matched) {
    auto r = discard_locked(id, actor);
    if (r) {
      out.done.push_back(id);
    } else {
      out.failed.emplace_back(id, r.error());
    }
  }
  return out;
}

}  // namespace orderflow::ops
