#include "consumer/key_parking.h"

#include <charconv>
#include <stdexcept>

#include "orderflow/messaging/dlt_headers.h"

namespace orderflow::messaging::consumer {

KeyParking::KeyParking(ParkedKeyStore& store, observability::Metrics& metrics,
                       std::shared_ptr<spdlog::logger> logger, std::string group)
    : store_(store), metrics_(metrics), logger_(std::move(logger)), group_(std::move(group)) {
  auto loaded = store_.load(group_);
  if (!loaded) throw std::runtime_error("consumer: loading parked keys: " + loaded.error().message);
  std::lock_guard lock(mutex_);
  for (const auto& p : *loaded) parked_[{p.topic, p.key}] = p.dead_letters;
  publish_count();
}

std::int64_t KeyParking::count(const std::string& topic, const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = parked_.find({topic, key});
  return it == parked_.end() ? 0 : it->second;
}

void KeyParking::park(const std::string& topic, const std::string& key) {
  if (auto done = store_.park(group_, topic, key); !done) {
    logger_->error("\"parking a key failed\" group={} topic={} key={} err=\"{}\"", group_, topic,
                   key, done.error().message);
  }
  std::lock_guard lock(mutex_);
  if (parked_[{topic, key}]++ == 0) {
    logger_->warn("\"key parked\" group={} topic={} key={}", group_, topic, key);
  }
  publish_count();
}

KeyParking::Control KeyParking::apply_control(const ConsumedRecord& record,
                                              const std::string& control) {
  auto group = find_header(record.headers, dlt_headers::kConsumerGroup);
  if (control != dlt_headers::kUnpark || group != group_) {
    logger_->info(
        "\"control record ignored\" topic={} partition={} offset={} control={} group={} "
        "outcome=skip",
        record.topic, record.partition, record.offset, control, group.value_or(""));
    return Control::kIgnored;
  }
  std::int64_t resolved = -1;
  auto text = find_header(record.headers, dlt_headers::kParkedCount).value_or("");
  std::from_chars(text.data(), text.data() + text.size(), resolved);
  std::int64_t parked = count(record.topic, record.key);
  if (parked <= 0 || resolved < parked) {
    logger_->warn(
        "\"unpark refused: more dead letters parked than resolved\" group={} topic={} key={} "
        "parked={} resolved={}",
        group_, record.topic, record.key, parked, resolved);
    return Control::kRefused;
  }
  if (auto done = store_.unpark(group_, record.topic, record.key); !done) {
    logger_->error("\"unparking a key failed\" group={} topic={} key={} err=\"{}\"", group_,
                   record.topic, record.key, done.error().message);
  }
  {
    std::lock_guard lock(mutex_);
    parked_.erase({record.topic, record.key});
    publish_count();
  }
  logger_->warn("\"key unparked\" group={} topic={} key={} resolved={}", group_, record.topic,
                record.key, resolved);
  return Control::kUnparked;
}

void KeyParking::publish_count() {
  metrics_.set_gauge("orderflow_parked_keys", "Keys parked after a dead letter, per group",
                     {{"group", group_}}, static_cast<double>(parked_.size()));
}

}  // namespace orderflow::messaging::consumer
