#include "kafka_probe.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace orderflow::bench {

using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<RdKafka::Conf> make_conf(const std::map<std::string, std::string>& properties) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : properties) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      throw std::runtime_error("kafka property " + k + ": " + err);
    }
  }
  return conf;
}

std::string unique_suffix() { return std::to_string(Clock::now().time_since_epoch().count()); }

std::unique_ptr<RdKafka::KafkaConsumer> make_consumer(
    const std::string& bootstrap, const std::map<std::string, std::string>& properties = {}) {
  std::map<std::string, std::string> all{{"bootstrap.servers", bootstrap},
                                         {"group.id", "orderflow-bench-" + unique_suffix()},
                                         {"enable.auto.commit", "false"},
                                         {"fetch.wait.max.ms", "5"},
                                         {"enable.partition.eof", "false"}};
  for (const auto& [k, v] : properties) all[k] = v;
  auto conf = make_conf(all);
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) throw std::runtime_error("kafka consumer: " + err);
  return consumer;
}

// (partition, high watermark) of every partition of `topic`, waiting up to 15 s for metadata.
std::vector<std::pair<std::int32_t, std::int64_t>> high_watermarks(RdKafka::KafkaConsumer& consumer,
                                                                   const std::string& topic) {
  std::string err;
  std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(&consumer, topic, nullptr, err));
  std::vector<std::pair<std::int32_t, std::int64_t>> out;
  auto deadline = Clock::now() + std::chrono::seconds(15);
  while (out.empty()) {
    RdKafka::Metadata* raw = nullptr;
    if (consumer.metadata(false, handle.get(), &raw, 5000) == RdKafka::ERR_NO_ERROR) {
      std::unique_ptr<RdKafka::Metadata> metadata(raw);
      for (const auto* t : *metadata->topics()) {
        if (t->topic() != topic || t->err() != RdKafka::ERR_NO_ERROR) continue;
        for (const auto* p : *t->partitions()) {
          std::int64_t low = 0, high = 0;
          if (consumer.query_watermark_offsets(topic, p->id(), &low, &high, 5000) !=
              RdKafka::ERR_NO_ERROR) {
            throw std::runtime_error("kafka: no watermarks for " + topic);
          }
          out.emplace_back(p->id(), high);
        }
      }
    }
    if (out.empty() && Clock::now() > deadline) {
      throw std::runtime_error("kafka: no metadata for " + topic);
    }
    if (out.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return out;
}

std::unique_ptr<RdKafka::KafkaConsumer> consumer_at_end(
    const std::string& bootstrap, const std::string& topic,
    const std::map<std::string, std::string>& properties) {
  auto consumer = make_consumer(bootstrap, properties);
  std::vector<RdKafka::TopicPartition*> assignment;
  for (auto [partition, high] : high_watermarks(*consumer, topic)) {
    assignment.push_back(RdKafka::TopicPartition::create(topic, partition, high));
  }
  consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  return consumer;
}

std::string header_value(RdKafka::Message& message, const char* name) {
  const auto* headers = message.headers();
  if (headers == nullptr) return {};
  auto h = headers->get_last(name);
  if (h.err() != RdKafka::ERR_NO_ERROR || h.value() == nullptr) return {};
  return {static_cast<const char*>(h.value()), h.value_size()};
}

}  // namespace

class TerminalWatcher::Impl {
 public:
  Impl(std::string bootstrap, std::string topic, std::map<std::string, std::string> properties)
      : bootstrap_(std::move(bootstrap)),
        topic_(std::move(topic)),
        properties_(std::move(properties)) {}

  void start() {
    consumer_ = consumer_at_end(bootstrap_, topic_, properties_);
    running_ = true;
    thread_ = std::thread([this] { loop(); });
  }

  void stop() {
    if (!running_.exchange(false)) return;
    thread_.join();
    consumer_->close();
    consumer_.reset();
  }

  void expect(std::string order_id, Clock::time_point intended) {
    std::lock_guard lock(mu_);
    expected_.emplace(std::move(order_id), intended);
  }

  Result collect(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    auto all_seen = [&] {
      for (const auto& [id, t] : expected_) {
        if (terminal_.count(id) == 0) return false;
      }
      return true;
    };
    while (!all_seen() && Clock::now() < deadline) {
      cv_.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(200)));
    }
    Result result;
    std::vector<std::int64_t> samples;
    samples.reserve(expected_.size());
    for (const auto& [id, intended] : expected_) {
      auto it = terminal_.find(id);
      if (it == terminal_.end()) {
        ++result.missing;
        continue;
      }
      samples.push_back(micros(it->second.at - intended));
      result.last_terminal = std::max(result.last_terminal, it->second.at);
      if (it->second.completed) {
        ++result.completed;
      } else {
        ++result.cancelled;
      }
      terminal_.erase(it);
    }
    expected_.clear();
    result.latency = summarize(samples);
    return result;
  }

 private:
  struct Terminal {
    Clock::time_point at;
    bool completed = false;
  };

  void loop() {
    while (running_) {
      std::unique_ptr<RdKafka::Message> message(consumer_->consume(100));
      if (!message || message->err() != RdKafka::ERR_NO_ERROR) continue;
      auto type = header_value(*message, "eventType");
      bool completed = type == "ORDER_COMPLETED";
      if (!completed && type != "ORDER_CANCELLED") continue;
      auto now = Clock::now();
      std::string key = message->key() != nullptr ? *message->key() : std::string{};
      {
        std::lock_guard lock(mu_);
        terminal_.emplace(std::move(key), Terminal{now, completed});
      }
      cv_.notify_all();
    }
  }

  std::string bootstrap_;
  std::string topic_;
  std::map<std::string, std::string> properties_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Clock::time_point> expected_;
  std::unordered_map<std::string, Terminal> terminal_;
};

TerminalWatcher::TerminalWatcher(std::string bootstrap, std::string topic,
                                 std::map<std::string, std::string> properties)
    : impl_(std::make_unique<Impl>(std::move(bootstrap), std::move(topic), std::move(properties))) {
}
TerminalWatcher::~TerminalWatcher() { impl_->stop(); }
void TerminalWatcher::start() { impl_->start(); }
void TerminalWatcher::stop() { impl_->stop(); }
void TerminalWatcher::expect(std::string order_id, Clock::time_point intended) {
  impl_->expect(std::move(order_id), intended);
}
TerminalWatcher::Result TerminalWatcher::collect(Clock::time_point deadline) {
  return impl_->collect(deadline);
}

std::int64_t topic_end_offsets(const std::string& bootstrap, const std::string& topic) {
  auto consumer = make_consumer(bootstrap);
  std::int64_t total = 0;
  for (auto [partition, high] : high_watermarks(*consumer, topic)) total += high;
  consumer->close();
  return total;
}

double raw_drain_rate(const std::string& bootstrap, const std::vector<std::string>& topics,
                      std::chrono::milliseconds limit,
                      const std::map<std::string, std::string>& properties) {
  auto consumer = make_consumer(bootstrap, properties);
  std::vector<RdKafka::TopicPartition*> assignment;
  std::int64_t backlog = 0;
  for (const auto& topic : topics) {
    for (auto [partition, high] : high_watermarks(*consumer, topic)) {
      assignment.push_back(
          RdKafka::TopicPartition::create(topic, partition, RdKafka::Topic::OFFSET_BEGINNING));
      backlog += high;
    }
  }
  consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  std::int64_t consumed = 0;
  Clock::time_point first{};
  Clock::time_point last{};
  auto deadline = Clock::now() + limit + std::chrono::seconds(10);
  while (consumed < backlog && Clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    // Records the embedded broker already evicted never come: stop once the flow ends.
    if (consumed > 0 && Clock::now() - last > std::chrono::seconds(2)) break;
    if (!m || m->err() != RdKafka::ERR_NO_ERROR) continue;
    last = Clock::now();
    if (consumed++ == 0) first = last;
    if (last - first > limit) break;
  }
  consumer->close();
  double seconds = std::chrono::duration<double>(last - first).count();
  return seconds > 0 ? static_cast<double>(consumed - 1) / seconds : 0;
}

nlohmann::json to_json(const TerminalWatcher::Result& r) {
  return {{"completed", r.completed},
          {"cancelled", r.cancelled},
          {"missing", r.missing},
          {"latency", to_json(r.latency)}};
}

namespace {

void create_topic(const std::string& bootstrap, const std::string& topic, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(err);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) throw std::runtime_error(std::string("kafka admin: ") + err);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_NewTopic_t* new_topic =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, err, sizeof err);
  rd_kafka_CreateTopics(rk, &new_topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 15000);
  std::string failure;
  if (event == nullptr) {
    failure = "no answer to CreateTopics";
  } else {
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
    std::size_t n = 0;
    const rd_kafka_topic_result_t** topics =
        result != nullptr ? rd_kafka_CreateTopics_result_topics(result, &n) : nullptr;
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      failure = rd_kafka_event_error_string(event);
    } else if (n == 1 && rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      failure = rd_kafka_topic_result_error_string(topics[0]);
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_NewTopic_destroy(new_topic);
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(rk);
  if (!failure.empty()) throw std::runtime_error("create topic " + topic + ": " + failure);
}

std::unique_ptr<RdKafka::Producer> make_producer(
    const std::string& bootstrap, const std::map<std::string, std::string>& properties) {
  std::map<std::string, std::string> all{{"bootstrap.servers", bootstrap},
                                         {"enable.idempotence", "true"},
                                         {"acks", "all"},
                                         {"linger.ms", "1"},
                                         {"compression.type", "lz4"}};
  for (const auto& [k, v] : properties) all[k] = v;
  auto conf = make_conf(all);
  std::string err;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
  if (!producer) throw std::runtime_error("kafka producer: " + err);
  return producer;
}

// The payload starts with the send time so the consumer can compute latency; the rest is
// JSON-like filler of the services' event size.
std::string payload(int bytes, Clock::time_point sent) {
  std::string p = std::to_string(sent.time_since_epoch().count());
  p.push_back(' ');
  while (static_cast<int>(p.size()) < bytes) p += "{\"orderId\":\"123\",\"status\":\"PENDING\"}";
  p.resize(static_cast<std::size_t>(std::max<int>(bytes, static_cast<int>(p.size()))));
  return p;
}

Clock::time_point sent_at(const RdKafka::Message& m) {
  std::string_view text(static_cast<const char*>(m.payload()), m.len());
  auto space = text.find(' ');
  return Clock::time_point(Clock::duration(std::stoll(std::string(text.substr(0, space)))));
}

void produce(RdKafka::Producer& producer, const std::string& topic, std::int64_t i,
             const std::string& value) {
  auto key = std::to_string(i);
  for (;;) {
    auto err = producer.produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                const_cast<char*>(value.data()), value.size(), key.data(),
                                key.size(), 0, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) return;
    if (err != RdKafka::ERR__QUEUE_FULL)
      throw std::runtime_error("produce: " + RdKafka::err2str(err));
    producer.poll(10);
  }
}

}  // namespace

KafkaBaselineResult run_kafka_baseline(const KafkaBaselineOptions& options) {
  if (options.create_topic) create_topic(options.bootstrap, options.topic, options.partitions);
  auto consumer = consumer_at_end(options.bootstrap, options.topic, options.consumer_properties);
  auto producer = make_producer(options.bootstrap, options.producer_properties);
  KafkaBaselineResult result;

  // Throughput: produce as fast as the producer accepts, consume concurrently.
  std::atomic<std::int64_t> consumed{0};
  std::atomic<bool> consuming{true};
  std::vector<std::int64_t> latencies;
  std::atomic<bool> record_latency{false};
  std::mutex latency_mu;
  Clock::time_point last_consumed{};
  std::thread reader([&] {
    while (consuming) {
      std::unique_ptr<RdKafka::Message> m(consumer->consume(50));
      if (!m || m->err() != RdKafka::ERR_NO_ERROR) continue;
      auto now = Clock::now();
      if (record_latency) {
        std::lock_guard lock(latency_mu);
        latencies.push_back(micros(now - sent_at(*m)));
      }
      last_consumed = now;
      consumed.fetch_add(1);
    }
  });
  auto start = Clock::now();
  for (std::int64_t i = 0; i < options.throughput_messages; ++i) {
    produce(*producer, options.topic, i, payload(options.message_bytes, Clock::now()));
    if (i % 1000 == 0) producer->poll(0);
  }
  producer->flush(30000);
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (consumed.load() < options.throughput_messages && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (consumed.load() < options.throughput_messages) {
    consuming = false;
    reader.join();
    throw std::runtime_error("kafka baseline: only " + std::to_string(consumed.load()) + " of " +
                             std::to_string(options.throughput_messages) + " messages arrived");
  }
  result.messages = options.throughput_messages;
  result.produce_consume_rate = static_cast<double>(options.throughput_messages) /
                                std::chrono::duration<double>(last_consumed - start).count();

  // Latency at a fixed rate, the way the services send: one record at a time.
  record_latency = true;
  const auto paced = static_cast<std::int64_t>(
      options.latency_rate * static_cast<double>(options.latency_duration.count()) / 1000.0);
  const auto base = consumed.load();
  start = Clock::now();
  for (std::int64_t i = 0; i < paced; ++i) {
    auto due =
        start + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / options.latency_rate * i));
    std::this_thread::sleep_until(due);
    produce(*producer, options.topic, i, payload(options.message_bytes, Clock::now()));
    producer->poll(0);
  }
  producer->flush(30000);
  deadline = Clock::now() + std::chrono::seconds(30);
  while (consumed.load() < base + paced && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  consuming = false;
  reader.join();
  consumer->close();
  {
    std::lock_guard lock(latency_mu);
    result.latency = summarize(latencies);
  }
  result.latency_rate = options.latency_rate;
  return result;
}

nlohmann::json to_json(const KafkaBaselineResult& r) {
  return {{"produceConsumeRate", r.produce_consume_rate},
          {"messages", r.messages},
          {"latencyRate", r.latency_rate},
          {"latency", to_json(r.latency)}};
}

}  // namespace orderflow::bench
