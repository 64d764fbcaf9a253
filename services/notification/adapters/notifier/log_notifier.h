#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <spdlog/logger.h>

#include "../../app/ports.h"

namespace orderflow::notification {

/// The `log` channel: writes each notification as one structured log line. Thread-safe.
class LogNotifier final : public Notifier {
 public:
  explicit LogNotifier(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}
  [[nodiscard]] std::string channel() const override { return "log"; }
  ChannelAttempt send(const Notification& notification) override;

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

/// Fault injection (ARCHITECTURE.md; seed 000): a notification for a user id starting with
/// `prefix` fails with kUnavailable CHANNEL_FAILURE instead of reaching `inner`.
class FaultInjectingNotifier final : public Notifier {
 public:
  FaultInjectingNotifier(Notifier& inner, std::string prefix)
      : inner_(inner), prefix_(std::move(prefix)) {}
  [[nodiscard]] std::string channel() const override { return inner_.channel(); }
  ChannelAttempt send(const Notification& notification) override;

  /// The live prefix (POST /admin/faults); "" disables the fault. Thread-safe.
  [[nodiscard]] std::string prefix() const {
    std::lock_guard lock(mutex_);
    return prefix_;
  }
  void set_prefix(std::string prefix) {
    std::lock_guard lock(mutex_);
    prefix_ = std::move(prefix);
  }

 private:
  Notifier& inner_;
  mutable std::mutex mutex_;
  std::string prefix_;
};

}  // namespace orderflow::notification
