#include "orderflow/messaging/consumer_runner.h"

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "consumer/consumer_lag.h"
#include "consumer/dead_letter_publisher.h"
#include "consumer/hand_off_pool.h"
#include "consumer/kafka_consumer_client.h"
#include "consumer/key_parking.h"
#include "consumer/lane_worker.h"
#include "consumer/partition_offsets.h"
#include "consumer/poll_loop.h"

namespace orderflow::messaging {

using namespace std::chrono_literals;

namespace {

void validate(const KafkaConfig& kafka, const ConsumerOptions& options,
              const std::shared_ptr<spdlog::logger>& logger, const RecordHandler& handler) {
  if (!logger) throw std::runtime_error("consumer: logger is null");
  if (!handler) throw std::runtime_error("consumer: handler is empty");
  if (kafka.bootstrap_servers.empty()) throw std::runtime_error("consumer: bootstrap is empty");
  if (options.group_id.empty()) throw std::runtime_error("consumer: group_id is empty");
  if (options.topics.empty()) throw std::runtime_error("consumer: no topics");
  if (options.concurrency < 1) throw std::runtime_error("consumer: concurrency < 1");
  if (options.queue_capacity < 1) throw std::runtime_error("consumer: queue_capacity < 1");
  if (options.hand_off_threads < 1) throw std::runtime_error("consumer: hand_off_threads < 1");
  if (options.max_batch < 1) throw std::runtime_error("consumer: max_batch < 1");
  if (options.retry.max_attempts < 1) throw std::runtime_error("consumer: max_attempts < 1");
  if (options.commit_interval <= 0ms) throw std::runtime_error("consumer: commit_interval <= 0");
}

}  // namespace

/// The composition of the runner's parts (libs/messaging/src/consumer/), in dependency order:
/// members are constructed top-down and destroyed bottom-up.
class ConsumerRunner::Impl {
 public:
  Impl(KafkaConfig kafka, ConsumerOptions options, RecordHandler handler,
       observability::Metrics& metrics, std::shared_ptr<spdlog::logger> logger, const Clock& clock,
       ParkedKeyStore& parked_keys, BatchTransaction* batch)
      : options_((validate(kafka, options, logger, handler), std::move(options))),
        handler_(std::move(handler)),
        metrics_(metrics),
        logger_(std::move(logger)),
        parking_(parked_keys, metrics_, logger_, options_.group_id),
        client_(kafka, options_, logger_,
                [this](const std::string& topic, int partition, const std::string& reason) {
                  offset_reset(topic, partition, reason);
                }),
        lag_(client_, offsets_, metrics_, options_.group_id),
        hand_offs_(options_.hand_off_threads),
        context_{options_,   handler_,
                 clock,      metrics_,
                 *logger_,   offsets_,
                 parking_,   dead_letters_,
                 hand_offs_, options_.max_batch > 1 ? batch : nullptr},
        workers_(context_, options_.concurrency),
        // After the workers: destroyed first, so its last delivery reports (purged on close)
        // still find their workers.
        dead_letters_(kafka, logger_, options_.service, options_.group_id, options_.dlt_suffix,
                      clock),
        poll_(client_, offsets_, workers_, lag_, options_, logger_) {}

  ~Impl() { stop(); }

  void start() {
    std::lock_guard lock(lifecycle_mutex_);
    if (started_) return;
    started_ = true;
    client_.subscribe(poll_);
    workers_.start();
    running_ = true;
    poll_thread_ = std::thread([this] { poll_.run(stopping_); });
    std::string topics;
    for (const auto& t : options_.topics) topics += (topics.empty() ? "" : ",") + t;
    logger_->info("\"consumer started\" group={} topics={} concurrency={}", options_.group_id,
                  topics, options_.concurrency);
  }

  void stop() {
    std::lock_guard lock(lifecycle_mutex_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    stopping_ = true;
    if (poll_thread_.joinable()) poll_thread_.join();
    running_ = false;
    logger_->info("\"consumer stopped\" group={}", options_.group_id);
  }

  ConsumerStatus status() const {
    ConsumerStatus s;
    s.running = running_.load();
    s.joined = poll_.joined();
    s.assigned_partitions = poll_.assigned();
    s.lag = lag_.total();
    s.offset_resets = offset_resets_.load();
    s.in_flight = offsets_.in_flight();
    s.session_timeout_ms = client_.session_timeout_ms();
    if (auto since = poll_.unassigned_since_ms(); since > 0) {
      s.unassigned_ms = std::max<std::int64_t>(0, consumer::steady_ms() - since);
    }
    return s;
  }

 private:
  void offset_reset(const std::string& topic, int partition, const std::string& reason) {
    ++offset_resets_;
    metrics_.count_offset_reset(options_.group_id, topic);
    logger_->error(
        "\"consumer offset reset: records were lost\" group={} topic={} partition={} "
        "reason=\"{}\"",
        options_.group_id, topic, partition, reason);
  }

  ConsumerOptions options_;
  RecordHandler handler_;
  observability::Metrics& metrics_;
  std::shared_ptr<spdlog::logger> logger_;
  std::atomic<std::int64_t> offset_resets_{0};
  consumer::PartitionOffsets offsets_;
  consumer::KeyParking parking_;
  consumer::KafkaConsumerClient client_;
  consumer::ConsumerLag lag_;
  consumer::HandOffPool hand_offs_;
  consumer::WorkerContext context_;
  consumer::WorkerPool workers_;
  consumer::DeadLetterPublisher dead_letters_;
  consumer::PollLoop poll_;

  std::mutex lifecycle_mutex_;
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::thread poll_thread_;
};

ConsumerRunner::ConsumerRunner(KafkaConfig kafka, ConsumerOptions options, RecordHandler handler,
                               observability::Metrics& metrics,
                               std::shared_ptr<spdlog::logger> logger, const Clock& clock,
                               ParkedKeyStore& parked_keys, BatchTransaction* batch)
    : impl_(std::make_unique<Impl>(std::move(kafka), std::move(options), std::move(handler),
                                   metrics, std::move(logger), clock, parked_keys, batch)) {}

ConsumerRunner::~ConsumerRunner() = default;

void ConsumerRunner::start() { impl_->start(); }

void ConsumerRunner::stop() { impl_->stop(); }

ConsumerStatus ConsumerRunner::status() const { return impl_->status(); }

}  // namespace orderflow::messaging
