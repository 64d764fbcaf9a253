#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "orderflow/messaging/producer.h"
#include "rdkafka_support.h"

namespace orderflow::messaging {

namespace {

using namespace std::chrono_literals;

// How long send() keeps retrying while librdkafka's local queue is full before it gives up.
constexpr auto kQueueFullWait = 2000ms;
// How long the destructor lets outstanding records finish before purging them.
constexpr auto kCloseGrace = 2000ms;
constexpr int kPollMs = 20;

Error delivery_error(RdKafka::ErrorCode code, const std::string& what) {
  std::string message = what.empty() ? RdKafka::err2str(code) : what;
  switch (code) {
    case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
    case RdKafka::ERR_RECORD_LIST_TOO_LARGE:
    case RdKafka::ERR_INVALID_RECORD:
    case RdKafka::ERR_INVALID_MSG:
    case RdKafka::ERR__INVALID_ARG:
      return invalid_input("KAFKA_" + RdKafka::err2str(code), std::move(message));
    case RdKafka::ERR__FATAL:
    case RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED:
    case RdKafka::ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RdKafka::ERR__AUTHENTICATION:
      return internal_error("KAFKA_FATAL", std::move(message));
    default:
      // Timeouts, transport failures, unknown topics (they may still be created) and purges on
      // shutdown are all "try again later" for the outbox relay.
      return unavailable("KAFKA_UNAVAILABLE", std::move(message));
  }
}

struct Pending {
  DeliveryCallback callback;
};

class KafkaProducer final : public Producer, RdKafka::DeliveryReportCb, RdKafka::EventCb {
 public:
  KafkaProducer(const KafkaConfig& config, std::shared_ptr<spdlog::logger> logger)
      : logger_(std::move(logger)) {
    if (config.bootstrap_servers.empty()) {
      throw std::runtime_error("kafka producer: bootstrap_servers is empty");
    }
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    auto set = [&](const std::string& name, const std::string& value) {
      detail::set_property(*conf, "kafka producer", name, value);
    };
    set("bootstrap.servers", config.bootstrap_servers);
    if (!config.client_id.empty()) set("client.id", config.client_id);
    set("enable.idempotence", "true");
    set("acks", "all");
    // linger.ms, compression and batch sizes come from the configuration's Kafka profile.
    for (const auto& [name, value] : config.properties) set(name, value);
    for (const auto& [name, value] : config.producer_properties) set(name, value);
    std::string err;
    if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) !=
            RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) !=
            RdKafka::Conf::CONF_OK) {
      throw std::runtime_error("kafka producer: callbacks: " + err);
    }
    // For the queue-full error: the bound in effect (the Kafka profile's or librdkafka's).
    conf->get("queue.buffering.max.messages", queue_max_messages_);
    conf->get("queue.buffering.max.kbytes", queue_max_kbytes_);
    producer_.reset(RdKafka::Producer::create(conf.get(), err));
    if (!producer_) throw std::runtime_error("kafka producer: " + err);
    delivery_thread_ = std::thread([this] { delivery_loop(); });
  }

  ~KafkaProducer() override {
    wait_idle(kCloseGrace);
    // Purged records get an error report, so every callback still runs exactly once.
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    if (!wait_idle(kCloseGrace)) {
      logger_->error("\"producer closed with unreported records\" in_flight={}", in_flight_.load());
    }
    stopping_ = true;
    delivery_thread_.join();
  }

  Result<void> warm_up(const std::vector<std::string>& topics,
                       std::chrono::milliseconds timeout) override {
    for (const auto& topic : topics) {
      std::string err;
      // The handle is kept: it keeps the topic, with its leaders, known to the client.
      std::unique_ptr<RdKafka::Topic> handle(
          RdKafka::Topic::create(producer_.get(), topic, nullptr, err));
      if (!handle) return unavailable("KAFKA_METADATA", "topic " + topic + ": " + err);
      RdKafka::Metadata* raw = nullptr;
      auto code = producer_->metadata(false, handle.get(), &raw, static_cast<int>(timeout.count()));
      std::unique_ptr<RdKafka::Metadata> metadata(raw);
      if (code != RdKafka::ERR_NO_ERROR) {
        return unavailable("KAFKA_METADATA",
                           "metadata of " + topic + ": " + RdKafka::err2str(code));
      }
      std::lock_guard lock(warm_mu_);
      warm_topics_.push_back(std::move(handle));
    }
    return {};
  }

  Result<std::string> cluster_id(std::chrono::milliseconds timeout) override {
    auto id = producer_->clusterid(static_cast<int>(timeout.count()));
    if (id.empty()) {
      return unavailable("KAFKA_CLUSTER_ID", "no cluster id from the broker within " +
                                                 std::to_string(timeout.count()) + " ms");
    }
    return id;
  }

  Result<void> ping(std::chrono::milliseconds timeout) override {
    RdKafka::Metadata* raw = nullptr;
    // all_topics=false without a topic: the brokers only, so the answer is small.
    auto code = producer_->metadata(false, nullptr, &raw, static_cast<int>(timeout.count()));
    std::unique_ptr<RdKafka::Metadata> metadata(raw);
    if (code != RdKafka::ERR_NO_ERROR) {
      return unavailable("KAFKA_UNREACHABLE", "no metadata from the broker within " +
                                                  std::to_string(timeout.count()) +
                                                  " ms: " + RdKafka::err2str(code));
    }
    return {};
  }

  void send(OutgoingRecord record, DeliveryCallback on_delivery) override {
    auto pending = std::make_unique<Pending>(Pending{std::move(on_delivery)});
    in_flight_.fetch_add(1);
    auto deadline = std::chrono::steady_clock::now() + kQueueFullWait;
    while (true) {
      RdKafka::Headers* headers = RdKafka::Headers::create();
      for (const auto& h : record.headers) headers->add(h.key, h.value.data(), h.value.size());
      // No key (rather than an empty one) lets the partitioner spread keyless records.
      const void* key = record.key.empty() ? nullptr : record.key.data();
      auto code = producer_->produce(record.topic, RdKafka::Topic::PARTITION_UA,
                                     RdKafka::Producer::RK_MSG_COPY, record.value.data(),
                                     record.value.size(), key, record.key.size(), 0, headers,
                                     pending.get());
      if (code == RdKafka::ERR_NO_ERROR) {
        pending.release();  // owned by the delivery report now
        return;
      }
      delete headers;  // produce() leaves them to us when it fails
      if (code == RdKafka::ERR__QUEUE_FULL && std::chrono::steady_clock::now() < deadline) {
        wait_for_room();
        continue;
      }
      fail_locally(
          std::move(pending),
          code == RdKafka::ERR__QUEUE_FULL
              ? queue_full(record.topic)
              : delivery_error(code, "produce to " + record.topic + ": " + RdKafka::err2str(code)));
      return;
    }
  }

  Result<DeliveryReport> send_sync(OutgoingRecord record,
                                   std::chrono::milliseconds timeout) override {
    auto promise = std::make_shared<std::promise<Result<DeliveryReport>>>();
    auto future = promise->get_future();
    send(std::move(record), [promise](const Result<DeliveryReport>& r) { promise->set_value(r); });
    if (future.wait_for(timeout) != std::future_status::ready) {
      return unavailable("DELIVERY_TIMEOUT",
                         "no delivery report within " + std::to_string(timeout.count()) + " ms");
    }
    return future.get();
  }

  Result<void> flush(std::chrono::milliseconds timeout) override {
    if (on_delivery_thread()) {
      // A callback flushing would wait for itself; serve reports inline instead.
      producer_->flush(static_cast<int>(timeout.count()));
      if (in_flight_.load() <= 1) return {};
      return unavailable("FLUSH_TIMEOUT", "records still in flight");
    }
    if (wait_idle(timeout)) return {};
    return unavailable("FLUSH_TIMEOUT", std::to_string(in_flight_.load()) +
                                            " records without a delivery report after " +
                                            std::to_string(timeout.count()) + " ms");
  }

  [[nodiscard]] std::int64_t in_flight() const override { return in_flight_.load(); }

 private:
  void dr_cb(RdKafka::Message& message) override {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(message.msg_opaque()));
    if (!pending) return;
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      complete(*pending, DeliveryReport{message.partition(), message.offset()});
    } else {
      complete(*pending,
               delivery_error(message.err(), message.topic_name() + ": " + message.errstr()));
    }
  }

  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        if (event.fatal()) {
          std::string reason;
          auto code = producer_ ? producer_->fatal_error(reason) : event.err();
          logger_->error("\"kafka producer fatal error\" err={} reason=\"{}\"",
                         RdKafka::err2str(code), reason);
        } else {
          logger_->warn("\"kafka producer error\" err={} reason=\"{}\"",
                        RdKafka::err2str(event.err()), event.str());
        }
        break;
      case RdKafka::Event::EVENT_LOG:
        logger_->log(detail::log_level(event.severity()), "\"librdkafka\" fac={} text=\"{}\"",
                     event.fac(), event.str());
        break;
      default:
        break;
    }
  }

  void complete(Pending& pending, const Result<DeliveryReport>& result) {
    try {
      if (pending.callback) pending.callback(result);
    } catch (const std::exception& e) {
      logger_->error("\"delivery callback threw\" what=\"{}\"", e.what());
    }
    {
      std::lock_guard lock(mutex_);
      in_flight_.fetch_sub(1);
    }
    idle_cv_.notify_all();
  }

  // Local failures are reported from the delivery thread too, so callers never see their
  // callback run inside send() (where they may hold a lock the callback takes).
  void fail_locally(std::unique_ptr<Pending> pending, Error error) {
    std::lock_guard lock(mutex_);
    local_failures_.emplace_back(std::move(pending), std::move(error));
  }

  // Retryable: the queue empties as the broker acknowledges (or librdkafka times records out).
  Error queue_full(const std::string& topic) const {
    return unavailable("KAFKA_QUEUE_FULL",
                       "produce to " + topic + ": the producer's queue stayed full for " +
                           std::to_string(kQueueFullWait.count()) +
                           " ms (queue.buffering.max.messages=" + queue_max_messages_ +
                           ", queue.buffering.max.kbytes=" + queue_max_kbytes_ + "; " +
                           std::to_string(in_flight_.load()) +
                           " records in flight): the broker is slow or unreachable; retry later");
  }

  void wait_for_room() {
    if (on_delivery_thread()) {
      producer_->poll(10);
      return;
    }
    std::unique_lock lock(mutex_);
    auto before = in_flight_.load();
    idle_cv_.wait_for(lock, 10ms, [&] { return in_flight_.load() < before; });
  }

  bool wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return idle_cv_.wait_for(lock, timeout, [&] { return in_flight_.load() == 0; });
  }

  [[nodiscard]] bool on_delivery_thread() const {
    return std::this_thread::get_id() == delivery_thread_.get_id();
  }

  void delivery_loop() {
    while (!stopping_.load()) {
      producer_->poll(kPollMs);
      std::deque<std::pair<std::unique_ptr<Pending>, Error>> failures;
      {
        std::lock_guard lock(mutex_);
        failures.swap(local_failures_);
      }
      for (auto& [pending, error] : failures) complete(*pending, error);
    }
  }

  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::string queue_max_messages_;
  std::string queue_max_kbytes_;
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable idle_cv_;
  std::deque<std::pair<std::unique_ptr<Pending>, Error>> local_failures_;
  std::thread delivery_thread_;
  std::mutex warm_mu_;
  std::vector<std::unique_ptr<RdKafka::Topic>> warm_topics_;
};

}  // namespace

std::unique_ptr<Producer> make_kafka_producer(const KafkaConfig& config,
                                              std::shared_ptr<spdlog::logger> logger) {
  if (!logger) throw std::runtime_error("kafka producer: logger is null");
  return std::make_unique<KafkaProducer>(config, std::move(logger));
}

}  // namespace orderflow::messaging
