#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "../../app/ports.h"

namespace orderflow::notification {

/// The `log` channel: writes each notification as one structured log line. Thread-safe.
class LogNotifier final : public Notifier {
 public:
  explicit LogNotifier(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}
  [[nodiscard]] std::string channel() const override { return "log"; }
  Result<void> send(const Notification& notification) override;

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
  Result<void> send(const Notification& notification) override;

 private:
  Notifier& inner_;
  std::string prefix_;
};

}  // namespace orderflow::notification
