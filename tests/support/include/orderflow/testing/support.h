#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace orderflow::testing {

/// Polls `condition` every `interval` until it holds or `deadline` passes; returns whether it
/// held. The only way tests wait (never a fixed sleep).
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds deadline = std::chrono::milliseconds{10000},
                std::chrono::milliseconds interval = std::chrono::milliseconds{10});

/// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// Log level for the code under test: ORDERFLOW_TEST_LOG=info|debug shows e.g. the consumer
/// runner's per-record and rebalance logs; "warn" when unset.
std::string test_log_level();

/// Value of the first sample of metric `name` (whose labels contain `label`, when given) in the
/// Prometheus text `text`; -1 when absent.
double metric_value(const std::string& text, const std::string& name,
                    const std::string& label = {});

/// A name unique to this process and call ("orders-3f2a…"): topics, groups.
std::string unique_name(const std::string& prefix);

/// A port the kernel just handed out on 127.0.0.1 and that is closed again, for a server the
/// test starts next (one that cannot bind port 0 itself). Throws std::runtime_error when none.
std::uint16_t free_loopback_port();

/// An in-process embedded broker (librdkafka mock cluster, 3 brokers) for integration tests.
class EmbeddedBroker {
 public:
  explicit EmbeddedBroker(int brokers = 3);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;
  [[nodiscard]] std::string bootstrap_servers() const;
  void create_topic(const std::string& topic, int partitions = 3);
  /// Makes the next `count` requests of Kafka API `api_key` fail with `error_code`
  /// (rd_kafka_mock_push_request_errors), e.g. to make the DLT unreachable.
  void fail_requests(int api_key, int count, int error_code);
  /// down = true: every broker drops its connections and refuses new ones, keeping its data (a
  /// stalled or unreachable broker; clients keep their records queued and retry). false: they
  /// accept connections again. rd_kafka_mock_broker_set_down / _set_up.
  void set_down(bool down);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orderflow::testing
