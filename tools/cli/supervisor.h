#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "system.h"

namespace orderflow::cli {

/// Keeps a started System whole: a child that exits on its own is restarted after a backoff
/// (SystemSpec::supervision) with its start arguments, a service on the HTTP port it had. When
/// the embedded broker exits, every service is stopped (SIGTERM, SIGKILL after
/// timeouts.drain_ms), the broker restarted, and the services started again against its new
/// bootstrap; endpoints.json is rewritten once all of them are ready. Driven by tick() from
/// the thread that owns the System. Not thread-safe.
class Supervisor {
 public:
  /// `system` must be started and outlive the supervisor.
  Supervisor(System& system, std::shared_ptr<spdlog::logger> logger);

  /// Reaps exited children, starts the restarts that are due and checks the readiness of
  /// restarted children. Blocks at most ~250 ms per restarting service (one readiness probe).
  /// Returns why it gave up (a child exited more than supervision.max_restarts times within
  /// supervision.window_ms; the message names it), else nullopt. Throws std::runtime_error
  /// when a child cannot be forked again.
  std::optional<std::string> tick();

  /// True when every child runs and is ready (no restart in progress).
  [[nodiscard]] bool settled() const;

 private:
  using Clock = std::chrono::steady_clock;
  enum class State { kRunning, kBackoff, kStarting, kStopping };
  struct Child {
    State state = State::kRunning;
    Clock::time_point started;  ///< last spawn; how long it stayed up
    Clock::time_point due;      ///< kBackoff: restart; kStarting: ready deadline; kStopping: kill
    std::chrono::milliseconds backoff{0};
    std::deque<Clock::time_point> exits;  ///< unexpected exits within the window
  };

  std::optional<std::string> on_exit(const System::Exit& exit, Clock::time_point now);
  void stop_services_for_new_broker(Clock::time_point now);
  void advance(const std::string& name, Child& child, Clock::time_point now);
  [[nodiscard]] bool broker_running() const;

  System& system_;
  std::shared_ptr<spdlog::logger> logger_;
  std::map<std::string, Child> children_;
  bool broker_replaced_ = false;  ///< endpoints.json still names the old bootstrap
};

/// "exit code 3" or "signal SIGKILL" for a waitpid() status.
std::string describe_exit_status(int status);

/// The last `count` lines of a text file ("" when it cannot be read). Reads at most the last
/// 64 KiB.
std::string tail_lines(const std::string& path, int count);

}  // namespace orderflow::cli
