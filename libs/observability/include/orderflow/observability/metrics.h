#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace orderflow::observability {

/// Outcome of one consumed record, the `outcome` label of orderflow_messages_total
/// (ARCHITECTURE.md "Consuming").
enum class Outcome { kProcessed, kDuplicate, kSkip, kRetry, kDlq, kError };

/// "processed", "duplicate", "skip", "retry", "dlq", "error".
const char* to_string(Outcome outcome);

/// Prometheus metrics of one service process. Every method is thread-safe; prometheus-cpp is
/// kept behind this facade so callers do not depend on it. Metric names:
///   orderflow_messages_total{service,topic,event_type,outcome}       counter
///   orderflow_message_processing_seconds{service,topic,event_type}    histogram (seconds)
///   orderflow_http_requests_total{service,method,route,status}       counter
///   orderflow_http_request_seconds{service,method,route}             histogram (seconds)
///   orderflow_http_rejected_total{service,reason}                    counter (503 OVERLOADED)
///   orderflow_consumer_lag{service,group,topic,partition}            gauge (records)
///   orderflow_consumer_offset_resets_total{service,group,topic}      counter
///   orderflow_outbox_pending{service}                                gauge (rows)
///   orderflow_outbox_published_total{service,topic}                  counter
/// plus any gauge or counter registered through gauge()/counter().
class Metrics {
 public:
  explicit Metrics(std::string service);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  [[nodiscard]] const std::string& service() const { return service_; }

  void count_message(std::string_view topic, std::string_view event_type, Outcome outcome);
  void observe_processing(std::string_view topic, std::string_view event_type, double seconds);
  void count_http(std::string_view method, std::string_view route, int status, double seconds);
  /// Counts one request or connection refused for overload (503 OVERLOADED): `reason` is
  /// "connections" (http.max_connections), "in_flight" (http.max_in_flight) or
  /// "outbox_backlog" (outbox.max_backlog).
  void count_http_rejected(std::string_view reason);
  void set_consumer_lag(std::string_view group, std::string_view topic, int partition,
                        std::int64_t lag);
  void count_offset_reset(std::string_view group, std::string_view topic);
  void set_outbox_pending(std::int64_t rows);
  void count_outbox_published(std::string_view topic, std::int64_t n);

  /// Sets gauge `name{service, labels...}` (registers the family on first use).
  void set_gauge(const std::string& name, const std::string& help,
                 const std::map<std::string, std::string>& labels, double value);
  /// Adds `by` to counter `name{service, labels...}` (registers the family on first use).
  void add_counter(const std::string& name, const std::string& help,
                   const std::map<std::string, std::string>& labels, double by = 1);

  /// Current value of orderflow_messages_total for the given labels (0 when never counted).
  /// For tests and the admin status endpoint.
  [[nodiscard]] double message_count(std::string_view topic, std::string_view event_type,
                                     Outcome outcome) const;

  /// All metrics in the Prometheus text exposition format (version 0.0.4).
  [[nodiscard]] std::string serialize() const;

 private:
  struct Impl;
  std::string service_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::observability
