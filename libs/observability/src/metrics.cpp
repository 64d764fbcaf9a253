#include "orderflow/observability/metrics.h"

#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace orderflow::observability {

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kProcessed:
      return "processed";
    case Outcome::kDuplicate:
      return "duplicate";
    case Outcome::kSkip:
      return "skip";
    case Outcome::kRetry:
      return "retry";
    case Outcome::kDlq:
      return "dlq";
    case Outcome::kError:
      return "error";
  }
  return "error";
}

namespace {

// Up to 30 s: the processing-time alerts (deploy/prometheus/alerts.yml) compare the p99 with
// 5 s and 10 s, which histogram_quantile can only report with buckets above both.
const std::vector<double> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,   0.5,   1,      2.5,   5,    10,    30};

// A unit separator cannot appear in sane label values, so joined keys do not collide.
constexpr char kKeySeparator = '\x1f';

std::string make_key(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (auto part : parts) {
    key.append(part);
    key.push_back(kKeySeparator);
  }
  return key;
}

std::string make_key(const std::string& name, const std::map<std::string, std::string>& labels) {
  std::string key = name;
  key.push_back(kKeySeparator);
  for (const auto& [k, v] : labels) {
    key.append(k);
    key.push_back('=');
    key.append(v);
    key.push_back(kKeySeparator);
  }
  return key;
}

// Resolving a series through Family::Add builds a std::map of labels and hashes it on every
// call; a string-keyed cache keeps the hot paths (per message, per request) cheap.
template <class T>
class SeriesCache {
 public:
  template <class Make>
  T& get(const std::string& key, Make&& make) {
    std::lock_guard lock(mutex_);
    auto it = series_.find(key);
    if (it != series_.end()) return *it->second;
    T& series = make();
    series_.emplace(key, &series);
    return series;
  }

  T* find(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = series_.find(key);
    return it == series_.end() ? nullptr : it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, T*> series_;
};

}  // namespace

struct Metrics::Impl {
  explicit Impl(const std::string& service)
      : registry(std::make_shared<prometheus::Registry>()),
        constant_labels{{"service", service}},
        messages(prometheus::BuildCounter()
                     .Name("orderflow_messages_total")
                     .Help("Consumed records by outcome")
                     .Labels(constant_labels)
                     .Register(*registry)),
        processing(prometheus::BuildHistogram()
                       .Name("orderflow_message_processing_seconds")
                       .Help("Time to process one consumed record")
                       .Labels(constant_labels)
                       .Register(*registry)),
        http_requests(prometheus::BuildCounter()
                          .Name("orderflow_http_requests_total")
                          .Help("HTTP requests by route and status")
                          .Labels(constant_labels)
                          .Register(*registry)),
        http_seconds(prometheus::BuildHistogram()
                         .Name("orderflow_http_request_seconds")
                         .Help("HTTP request latency")
                         .Labels(constant_labels)
                         .Register(*registry)),
        http_rejected(prometheus::BuildCounter()
                          .Name("orderflow_http_rejected_total")
                          .Help("Requests and connections refused with 503 OVERLOADED, by reason")
                          .Labels(constant_labels)
                          .Register(*registry)),
        consumer_lag(prometheus::BuildGauge()
                         .Name("orderflow_consumer_lag")
                         .Help("Records between the committed offset and the high watermark")
                         .Labels(constant_labels)
                         .Register(*registry)),
        offset_resets(prometheus::BuildCounter()
                          .Name("orderflow_consumer_offset_resets_total")
                          .Help("Consumer offset resets")
                          .Labels(constant_labels)
                          .Register(*registry)),
        outbox_pending(prometheus::BuildGauge()
                           .Name("orderflow_outbox_pending")
                           .Help("Outbox rows not yet published")
                           .Labels(constant_labels)
                           .Register(*registry)
                           .Add({})),
        outbox_published(prometheus::BuildCounter()
                             .Name("orderflow_outbox_published_total")
                             .Help("Outbox rows published")
                             .Labels(constant_labels)
                             .Register(*registry)) {}

  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Labels constant_labels;

  prometheus::Family<prometheus::Counter>& messages;
  prometheus::Family<prometheus::Histogram>& processing;
  prometheus::Family<prometheus::Counter>& http_requests;
  prometheus::Family<prometheus::Histogram>& http_seconds;
  prometheus::Family<prometheus::Counter>& http_rejected;
  prometheus::Family<prometheus::Gauge>& consumer_lag;
  prometheus::Family<prometheus::Counter>& offset_resets;
  prometheus::Gauge& outbox_pending;
  prometheus::Family<prometheus::Counter>& outbox_published;

  SeriesCache<prometheus::Counter> message_series;
  SeriesCache<prometheus::Histogram> processing_series;
  SeriesCache<prometheus::Counter> http_request_series;
  SeriesCache<prometheus::Histogram> http_seconds_series;
  SeriesCache<prometheus::Counter> http_rejected_series;
  SeriesCache<prometheus::Gauge> lag_series;
  SeriesCache<prometheus::Counter> reset_series;
  SeriesCache<prometheus::Counter> published_series;

  std::mutex custom_mutex;
  std::unordered_map<std::string, prometheus::Family<prometheus::Gauge>*> custom_gauges;
  std::unordered_map<std::string, prometheus::Family<prometheus::Counter>*> custom_counters;
  SeriesCache<prometheus::Gauge> custom_gauge_series;
  SeriesCache<prometheus::Counter> custom_counter_series;

  prometheus::Family<prometheus::Gauge>& gauge_family(const std::string& name,
                                                      const std::string& help) {
    std::lock_guard lock(custom_mutex);
    auto it = custom_gauges.find(name);
    if (it != custom_gauges.end()) return *it->second;
    auto& family =
        prometheus::BuildGauge().Name(name).Help(help).Labels(constant_labels).Register(*registry);
    custom_gauges.emplace(name, &family);
    return family;
  }

  prometheus::Family<prometheus::Counter>& counter_family(const std::string& name,
                                                          const std::string& help) {
    std::lock_guard lock(custom_mutex);
    auto it = custom_counters.find(name);
    if (it != custom_counters.end()) return *it->second;
    auto& family = prometheus::BuildCounter()
                       .Name(name)
                       .Help(help)
                       .Labels(constant_labels)
                       .Register(*registry);
    custom_counters.emplace(name, &family);
    return family;
  }
};

Metrics::Metrics(std::string service)
    : service_(std::move(service)), impl_(std::make_unique<Impl>(service_)) {}

Metrics::~Metrics() = default;

void Metrics::count_message(std::string_view topic, std::string_view event_type, Outcome outcome) {
  const char* outcome_name = to_string(outcome);
  auto& counter = impl_->message_series.get(
      make_key({topic, event_type, outcome_name}), [&]() -> auto& {
        return impl_->messages.Add({{"topic", std::string(topic)},
                                    {"event_type", std::string(event_type)},
                                    {"outcome", outcome_name}});
      });
  counter.Increment();
}

void Metrics::observe_processing(std::string_view topic, std::string_view event_type,
                                 double seconds) {
  auto& histogram = impl_->processing_series.get(
      make_key({topic, event_type}), [&]() -> auto& {
        return impl_->processing.Add(
            {{"topic", std::string(topic)}, {"event_type", std::string(event_type)}},
            kLatencyBuckets);
      });
  histogram.Observe(seconds);
}

void Metrics::count_http(std::string_view method, std::string_view route, int status,
                         double seconds) {
  std::string status_text = std::to_string(status);
  auto& counter = impl_->http_request_series.get(
      make_key({method, route, status_text}), [&]() -> auto& {
        return impl_->http_requests.Add({{"method", std::string(method)},
                                         {"route", std::string(route)},
                                         {"status", status_text}});
      });
  counter.Increment();
  auto& histogram = impl_->http_seconds_series.get(
      make_key({method, route}), [&]() -> auto& {
        return impl_->http_seconds.Add(
            {{"method", std::string(method)}, {"route", std::string(route)}}, kLatencyBuckets);
      });
  histogram.Observe(seconds);
}

void Metrics::count_http_rejected(std::string_view reason) {
  auto& counter = impl_->http_rejected_series.get(
      make_key({reason}), [&]() -> auto& {
        return impl_->http_rejected.Add({{"reason", std::string(reason)}});
      });
  counter.Increment();
}

void Metrics::set_consumer_lag(std::string_view group, std::string_view topic, int partition,
                               std::int64_t lag) {
  std::string partition_text = std::to_string(partition);
  auto& gauge = impl_->lag_series.get(
      make_key({group, topic, partition_text}), [&]() -> auto& {
        return impl_->consumer_lag.Add({{"group", std::string(group)},
                                        {"topic", std::string(topic)},
                                        {"partition", partition_text}});
      });
  gauge.Set(static_cast<double>(lag));
}

void Metrics::count_offset_reset(std::string_view group, std::string_view topic) {
  auto& counter = impl_->reset_series.get(
      make_key({group, topic}), [&]() -> auto& {
        return impl_->offset_resets.Add(
            {{"group", std::string(group)}, {"topic", std::string(topic)}});
      });
  counter.Increment();
}

void Metrics::set_outbox_pending(std::int64_t rows) {
  impl_->outbox_pending.Set(static_cast<double>(rows));
}

void Metrics::count_outbox_published(std::string_view topic, std::int64_t n) {
  auto& counter = impl_->published_series.get(
      make_key({topic}), [&]() -> auto& {
        return impl_->outbox_published.Add({{"topic", std::string(topic)}});
      });
  counter.Increment(static_cast<double>(n));
}

void Metrics::set_gauge(const std::string& name, const std::string& help,
                        const std::map<std::string, std::string>& labels, double value) {
  auto& gauge = impl_->custom_gauge_series.get(
      make_key(name, labels), [&]() -> auto& {
        return impl_->gauge_family(name, help)
            .Add(prometheus::Labels(labels.begin(), labels.end()));
      });
  gauge.Set(value);
}

void Metrics::add_counter(const std::string& name, const std::string& help,
                          const std::map<std::string, std::string>& labels, double by) {
  auto& counter = impl_->custom_counter_series.get(
      make_key(name, labels), [&]() -> auto& {
        return impl_->counter_family(name, help)
            .Add(prometheus::Labels(labels.begin(), labels.end()));
      });
  counter.Increment(by);
}

double Metrics::message_count(std::string_view topic, std::string_view event_type,
                              Outcome outcome) const {
  auto* counter = impl_->message_series.find(make_key({topic, event_type, to_string(outcome)}));
  return counter == nullptr ? 0.0 : counter->Value();
}

std::string Metrics::serialize() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry->Collect());
}

}  // namespace orderflow::observability
