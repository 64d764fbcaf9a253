#include "consumer/kafka_consumer_client.h"

#include <librdkafka/rdkafkacpp.h>

#include <charconv>
#include <regex>
#include <stdexcept>

#include "rdkafka_support.h"

namespace orderflow::messaging::consumer {

namespace {

Headers to_headers(const RdKafka::Headers* headers) {
  Headers out;
  if (headers == nullptr) return out;
  for (const auto& h : headers->get_all()) {
    out.push_back({h.key(), h.value() == nullptr ? std::string()
                                                 : std::string(static_cast<const char*>(h.value()),
                                                               h.value_size())});
  }
  return out;
}

/// Owns a list of librdkafka TopicPartitions.
class PartitionList {
 public:
  PartitionList() = default;
  explicit PartitionList(const std::vector<PartitionKey>& keys) {
    for (const auto& k : keys)
      list_.push_back(RdKafka::TopicPartition::create(k.topic, k.partition));
  }
  ~PartitionList() {
    for (auto* tp : list_) delete tp;
  }
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;
  std::vector<RdKafka::TopicPartition*>& get() { return list_; }

 private:
  std::vector<RdKafka::TopicPartition*> list_;
};

std::vector<PartitionKey> keys_of(const std::vector<RdKafka::TopicPartition*>& partitions) {
  std::vector<PartitionKey> out;
  out.reserve(partitions.size());
  for (auto* tp : partitions) out.push_back({tp->topic(), tp->partition()});
  return out;
}

std::string describe(const std::vector<RdKafka::TopicPartition*>& partitions) {
  std::string out;
  for (auto* tp : partitions) {
    if (!out.empty()) out += ',';
    out += tp->topic() + "[" + std::to_string(tp->partition()) + "]";
  }
  return out;
}

}  // namespace

class KafkaConsumerClient::Impl final : public RdKafka::RebalanceCb, public RdKafka::EventCb {
 public:
  Impl(const KafkaConfig& kafka, const ConsumerOptions& options,
       std::shared_ptr<spdlog::logger> logger, OffsetResetFn on_offset_reset)
      : group_(options.group_id),
        topics_(options.topics),
        logger_(std::move(logger)),
        on_offset_reset_(std::move(on_offset_reset)) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    auto set = [&](const std::string& name, const std::string& value) {
      detail::set_property(*conf, "consumer", name, value);
    };
    set("bootstrap.servers", kafka.bootstrap_servers);
    if (!kafka.client_id.empty()) set("client.id", kafka.client_id);
    set("group.id", group_);
    // Offsets move only when the PartitionOffsets say every earlier record is done
    // (at-least-once).
    set("enable.auto.commit", "false");
    set("enable.auto.offset.store", "false");
    set("auto.offset.reset", "earliest");
    // Eager protocol: a revoke takes every partition at once, which the drain-then-commit
    // rebalance handling and the pause/backlog logic rely on (docs/architecture.md).
    set("partition.assignment.strategy", "range,roundrobin");
    // Broker-dependent tuning (fetch wait, session timeout) comes from the configuration's
    // Kafka profile (config/kafka-profiles.yaml), applied through kafka.properties below.
    for (const auto& [name, value] : kafka.properties) set(name, value);
    for (const auto& [name, value] : kafka.consumer_properties) set(name, value);
    std::string strategy;
    for (const auto* set_by : {&kafka.properties, &kafka.consumer_properties}) {
      if (auto it = set_by->find("partition.assignment.strategy"); it != set_by->end()) {
        strategy = it->second;
      }
    }
    if (strategy.find("cooperative") != std::string::npos) {
      throw std::runtime_error("consumer: partition.assignment.strategy=" + strategy +
                               ": only eager strategies (range, roundrobin) are supported; the "
                               "runner's revoke handling expects every partition at once");
    }
    std::string session_timeout;
    if (conf->get("session.timeout.ms", session_timeout) == RdKafka::Conf::CONF_OK) {
      session_timeout_ms_ = std::stoll(session_timeout);
    }
    std::string err;
    if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) !=
            RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) !=
            RdKafka::Conf::CONF_OK) {
      throw std::runtime_error("consumer: callbacks: " + err);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer_) throw std::runtime_error("consumer: " + err);
  }

  ~Impl() override {
    if (!closed_) consumer_->close();
  }

  std::int64_t session_timeout_ms() const { return session_timeout_ms_; }

  void subscribe(RebalanceListener& listener) {
    listener_ = &listener;
    auto err = consumer_->subscribe(topics_);
    if (err != RdKafka::ERR_NO_ERROR) {
      throw std::runtime_error("consumer: subscribe: " + RdKafka::err2str(err));
    }
  }

  std::optional<ConsumedRecord> poll(int timeout_ms) {
    std::unique_ptr<RdKafka::Message> msg(consumer_->consume(timeout_ms));
    if (!msg) return std::nullopt;
    switch (msg->err()) {
      case RdKafka::ERR_NO_ERROR:
        break;
      case RdKafka::ERR__TIMED_OUT:
      case RdKafka::ERR__PARTITION_EOF:
        return std::nullopt;
      case RdKafka::ERR__AUTO_OFFSET_RESET:
        on_offset_reset_(msg->topic_name(), msg->partition(), msg->errstr());
        return std::nullopt;
      default:
        logger_->warn("\"consumer error\" group={} topic={} partition={} err={} reason=\"{}\"",
                      group_, msg->topic_name(), msg->partition(), RdKafka::err2str(msg->err()),
                      msg->errstr());
        return std::nullopt;
    }
    ConsumedRecord record;
    record.topic = msg->topic_name();
    record.partition = msg->partition();
    record.offset = msg->offset();
    if (msg->key() != nullptr) record.key = *msg->key();
    if (msg->payload() != nullptr) {
      record.value.assign(static_cast<const char*>(msg->payload()), msg->len());
    }
    record.headers = to_headers(msg->headers());
    record.timestamp_ms = msg->timestamp().timestamp;
    return record;
  }

  bool pause_all(bool paused) {
    PartitionList parts;
    consumer_->assignment(parts.get());
    auto err = paused ? consumer_->pause(parts.get()) : consumer_->resume(parts.get());
    if (err != RdKafka::ERR_NO_ERROR) {
      logger_->warn("\"consumer {} failed\" group={} err={}", paused ? "pause" : "resume", group_,
                    RdKafka::err2str(err));
      return false;
    }
    return true;
  }

  void resume(const std::vector<PartitionKey>& partitions) {
    PartitionList parts(partitions);
    consumer_->resume(parts.get());
  }

  std::vector<PartitionOffset> commit(const std::vector<PartitionOffset>& offsets,
                                      const char* reason) {
    std::vector<PartitionOffset> accepted;
    if (offsets.empty()) return accepted;
    PartitionList list;
    for (const auto& o : offsets) {
      list.get().push_back(
          RdKafka::TopicPartition::create(o.partition.topic, o.partition.partition, o.offset));
    }
    auto err = consumer_->commitSync(list.get());
    if (err != RdKafka::ERR_NO_ERROR) {
      logger_->warn("\"offset commit failed\" group={} reason={} err={}", group_, reason,
                    RdKafka::err2str(err));
    }
    for (auto* tp : list.get()) {
      if (tp->err() != RdKafka::ERR_NO_ERROR) {
        logger_->warn("\"offset commit failed\" group={} topic={} partition={} offset={} err={}",
                      group_, tp->topic(), tp->partition(), tp->offset(),
                      RdKafka::err2str(tp->err()));
        continue;
      }
      if (err != RdKafka::ERR_NO_ERROR) continue;
      accepted.push_back({{tp->topic(), tp->partition()}, tp->offset()});
      logger_->debug("\"offset committed\" group={} topic={} partition={} offset={} reason={}",
                     group_, tp->topic(), tp->partition(), tp->offset(), reason);
    }
    return accepted;
  }

  std::vector<std::int64_t> positions(const std::vector<PartitionKey>& partitions) {
    PartitionList parts(partitions);
    consumer_->position(parts.get());
    std::vector<std::int64_t> out;
    out.reserve(partitions.size());
    for (auto* tp : parts.get()) out.push_back(tp->offset());
    return out;
  }

  std::optional<std::vector<std::optional<std::int64_t>>> committed(
      const std::vector<PartitionKey>& partitions, int timeout_ms) {
    PartitionList parts(partitions);
    if (consumer_->committed(parts.get(), timeout_ms) != RdKafka::ERR_NO_ERROR) return std::nullopt;
    std::vector<std::optional<std::int64_t>> out;
    out.reserve(partitions.size());
    for (auto* tp : parts.get()) {
      out.push_back(tp->err() == RdKafka::ERR_NO_ERROR ? std::optional(tp->offset())
                                                       : std::nullopt);
    }
    return out;
  }

  Watermarks watermarks(const PartitionKey& partition, bool query, int timeout_ms) {
    Watermarks w;
    consumer_->get_watermark_offsets(partition.topic, partition.partition, &w.low, &w.high);
    if (query || w.high < 0 || w.low < 0) {
      consumer_->query_watermark_offsets(partition.topic, partition.partition, &w.low, &w.high,
                                         timeout_ms);
    }
    return w;
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    auto err = consumer_->close();
    if (err != RdKafka::ERR_NO_ERROR) {
      logger_->warn("\"consumer close failed\" group={} err={}", group_, RdKafka::err2str(err));
    }
  }

 private:
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      if (listener_ != nullptr) listener_->on_assigned(keys_of(partitions));
      auto assign_err = consumer->assign(partitions);
      if (assign_err != RdKafka::ERR_NO_ERROR) {
        logger_->error("\"assign failed\" group={} err={}", group_, RdKafka::err2str(assign_err));
      }
      logger_->info("\"partitions assigned\" group={} partitions=\"{}\"", group_,
                    describe(partitions));
      return;
    }
    if (err != RdKafka::ERR__REVOKE_PARTITIONS) {
      logger_->error("\"rebalance error\" group={} err={}", group_, RdKafka::err2str(err));
    }
    if (listener_ != nullptr) listener_->on_revoked(keys_of(partitions));
    consumer->unassign();
    logger_->info("\"partitions revoked\" group={} partitions=\"{}\"", group_,
                  describe(partitions));
  }

  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        if (event.fatal() || event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) {
          logger_->error("\"kafka consumer error\" group={} err={} reason=\"{}\"", group_,
                         RdKafka::err2str(event.err()), event.str());
        } else {
          logger_->warn("\"kafka consumer error\" group={} err={} reason=\"{}\"", group_,
                        RdKafka::err2str(event.err()), event.str());
        }
        break;
      case RdKafka::Event::EVENT_LOG:
        // With auto.offset.reset=earliest librdkafka resets an out-of-range offset silently
        // except for this warning, "<topic> [<partition>]: offset reset (at ...) to ...".
        if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING && event.fac() == "OFFSET" &&
            event.str().find("offset reset") != std::string::npos) {
          static const std::regex kWhere(R"(([^\s\[\]]+) \[(\d+)\]: offset reset)");
          const std::string text = event.str();
          std::smatch m;
          int partition = -1;
          std::string topic = "unknown";
          if (std::regex_search(text, m, kWhere)) {
            topic = m[1].str();
            std::from_chars(&*m[2].first, &*m[2].first + m[2].length(), partition);
          }
          on_offset_reset_(topic, partition, text);
          break;
        }
        logger_->log(detail::log_level(event.severity()),
                     "\"librdkafka\" group={} fac={} text=\"{}\"", group_, event.fac(),
                     event.str());
        break;
      default:
        break;
    }
  }

  std::string group_;
  std::vector<std::string> topics_;
  std::shared_ptr<spdlog::logger> logger_;
  OffsetResetFn on_offset_reset_;
  std::int64_t session_timeout_ms_ = 0;
  RebalanceListener* listener_ = nullptr;
  bool closed_ = false;
  // Last: destroyed first, while the members its callbacks touch are alive.
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
};

KafkaConsumerClient::KafkaConsumerClient(const KafkaConfig& kafka, const ConsumerOptions& options,
                                         std::shared_ptr<spdlog::logger> logger,
                                         OffsetResetFn on_offset_reset)
    : impl_(std::make_unique<Impl>(kafka, options, std::move(logger), std::move(on_offset_reset))) {
}
KafkaConsumerClient::~KafkaConsumerClient() = default;
std::int64_t KafkaConsumerClient::session_timeout_ms() const { return impl_->session_timeout_ms(); }
void KafkaConsumerClient::subscribe(RebalanceListener& listener) { impl_->subscribe(listener); }
std::optional<ConsumedRecord> KafkaConsumerClient::poll(int timeout_ms) {
  return impl_->poll(timeout_ms);
}
bool KafkaConsumerClient::pause_all(bool paused) { return impl_->pause_all(paused); }
void KafkaConsumerClient::resume(const std::vector<PartitionKey>& partitions) {
  impl_->resume(partitions);
}
std::vector<PartitionOffset> KafkaConsumerClient::commit(
    const std::vector<PartitionOffset>& offsets, const char* reason) {
  return impl_->commit(offsets, reason);
}
std::vector<std::int64_t> KafkaConsumerClient::positions(
    const std::vector<PartitionKey>& partitions) {
  return impl_->positions(partitions);
}
std::optional<std::vector<std::optional<std::int64_t>>> KafkaConsumerClient::committed(
    const std::vector<PartitionKey>& partitions, int timeout_ms) {
  return impl_->committed(partitions, timeout_ms);
}
Watermarks KafkaConsumerClient::watermarks(const PartitionKey& partition, bool query,
                                           int timeout_ms) {
  return impl_->watermarks(partition, query, timeout_ms);
}
void KafkaConsumerClient::close() { impl_->close(); }

}  // namespace orderflow::messaging::consumer
