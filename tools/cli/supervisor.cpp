#include "supervisor.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

namespace orderflow::cli {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int kLogLinesOnExit = 10;
// Short enough that a signal or another child's exit is handled promptly while a restarted
// service is still coming up.
constexpr auto kReadyProbeTimeout = 250ms;
constexpr std::chrono::milliseconds kBrokerLostGrace{2000};

long long millis_between(std::chrono::steady_clock::time_point from,
                         std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

}  // namespace

std::string describe_exit_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(status));
    return abbrev != nullptr ? std::string("signal SIG") + abbrev
                             : "signal " + std::to_string(WTERMSIG(status));
  }
  return "status " + std::to_string(status);
}

std::string tail_lines(const std::string& path, int count) {
  constexpr std::streamoff kMaxRead = 64 * 1024;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  std::streamoff start = std::max<std::streamoff>(0, size - kMaxRead);
  in.seekg(start);
  std::string text(static_cast<std::size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::size_t begin = text.size();
  int lines = 0;
  while (begin > 0) {
    auto nl = text.rfind('\n', begin - 1);
    if (nl == std::string::npos) {
      begin = 0;
    } else if (++lines == count) {
      begin = nl + 1;
      break;
    } else {
      begin = nl;
    }
  }
  return text.substr(begin);
}

Supervisor::Supervisor(System& system, std::shared_ptr<spdlog::logger> logger)
    : system_(system), logger_(std::move(logger)) {
  auto now = Clock::now();
  for (const auto& name : system_.child_names()) {
    children_[name] = {State::kRunning, now, now, system_.spec().supervision.backoff_initial, {}};
  }
}

bool Supervisor::settled() const {
  return std::all_of(children_.begin(), children_.end(),
                     [](const auto& entry) { return entry.second.state == State::kRunning; });
}

bool Supervisor::broker_running() const {
  for (const auto& [name, child] : children_) {
    if (system_.is_broker(name)) return child.state == State::kRunning;
  }
  return true;  // external Kafka: nothing to wait for
}

std::optional<std::string> Supervisor::tick() {
  auto now = Clock::now();
  while (auto exit = system_.reap()) {
    if (auto gave_up = on_exit(*exit, now)) return gave_up;
  }
  // Start order: the broker comes first, so services restarted for it see its new bootstrap.
  for (const auto& name : system_.child_names()) advance(name, children_[name], now);
  if (broker_replaced_ && settled()) {
    broker_replaced_ = false;
    system_.write_endpoints_file();
    logger_->info("every service runs on the new broker {}; endpoints.json rewritten",
                  system_.bootstrap_servers());
  }
  return std::nullopt;
}

std::optional<std::string> Supervisor::on_exit(const System::Exit& exit, Clock::time_point now) {
  auto& child = children_[exit.name];
  const auto& sup = system_.spec().supervision;
  if (child.state == State::kStopping) {
    // Stopped by us for the broker's restart: not a failure of its own, no backoff.
    logger_->info("{} stopped ({}); it starts again on the new broker", exit.name,
                  describe_exit_status(exit.status));
    child.state = State::kBackoff;
    child.due = now;
    return std::nullopt;
  }
  auto log_file = (fs::path(system_.spec().data_dir) / "logs" / (exit.name + ".log")).string();
  auto tail = system_.spec().inherit_output ? "" : tail_lines(log_file, kLogLinesOnExit);
  logger_->warn("{} exited unexpectedly ({}) after {} ms up; last lines of {}:\n{}", exit.name,
                describe_exit_status(exit.status), millis_between(child.started, now), log_file,
                tail);
  while (!child.exits.empty() && now - child.exits.front() > sup.window) child.exits.pop_front();
  child.exits.push_back(now);
  if (static_cast<int>(child.exits.size()) > sup.max_restarts) {
    return "giving up on " + exit.name + ": it exited " + std::to_string(child.exits.size()) +
           " times within " + std::to_string(sup.window.count()) +
           " ms (supervision.max_restarts " + std::to_string(sup.max_restarts) + "); see " +
           log_file;
  }
  if (now - child.started >= sup.window) child.backoff = sup.backoff_initial;
  child.state = State::kBackoff;
  child.due = now + child.backoff;
  logger_->warn("restarting {} in {} ms ({} of at most {} restarts within {} ms)", exit.name,
                child.backoff.count(), child.exits.size(), sup.max_restarts, sup.window.count());
  child.backoff = std::min(child.backoff * 2, sup.backoff_max);
  if (system_.is_broker(exit.name)) stop_services_for_new_broker(now);
  return std::nullopt;
}

void Supervisor::stop_services_for_new_broker(Clock::time_point now) {
  // The new broker starts empty on new ports: every service must be started again with the
  // new bootstrap. Stopping them now overlaps their shutdown with the broker's backoff. Their
  // consumer offsets died with the broker and their outbox cannot be flushed, so a graceful
  // stop has nothing left to save but the HTTP requests in flight: after kBrokerLostGrace
  // they are killed instead of waiting out timeouts.drain_ms (measured: 15 s each, spent
  // committing to a broker that is gone). Everything they did is in their databases.
  broker_replaced_ = true;
  for (auto& [name, child] : children_) {
    if (!system_.is_service(name)) continue;
    if (child.state != State::kRunning && child.state != State::kStarting) continue;
    system_.signal(name, SIGTERM);
    child.state = State::kStopping;
    child.due = now + std::min(kBrokerLostGrace, system_.spec().drain_timeout);
  }
  logger_->warn("orderflow-broker is gone: stopping every service to restart it on a new broker");
}

void Supervisor::advance(const std::string& name, Child& child, Clock::time_point now) {
  const bool broker = system_.is_broker(name);
  switch (child.state) {
    case State::kRunning:
      return;
    case State::kBackoff:
      if (now < child.due || (system_.is_service(name) && !broker_running())) return;
      system_.respawn(name);
      child.state = State::kStarting;
      child.started = now;
      child.due = now + system_.ready_timeout(name);
      logger_->info("restarted {} (restart #{}, pid {})", name, system_.restarts().at(name),
                    system_.pids().at(name));
      return;
    case State::kStarting: {
      bool ready =
          broker ? system_.poll_broker_bootstrap() : system_.probe_ready(name, kReadyProbeTimeout);
      if (ready) {
        child.state = State::kRunning;
        logger_->info("{} is ready again after {} ms{}", name, millis_between(child.started, now),
                      broker ? " (bootstrap " + system_.bootstrap_servers() + ")" : "");
      } else if (now > child.due) {
        // Counted as its own failure when the kill is reaped: backoff and budget apply.
        logger_->warn("{} did not become ready within {} ms; killing it", name,
                      system_.ready_timeout(name).count());
        child.state = State::kRunning;
        system_.signal(name, SIGKILL);
      }
      return;
    }
    case State::kStopping:
      if (now <= child.due) return;
      logger_->warn("{} did not stop in time; killing it", name);
      system_.signal(name, SIGKILL);
      child.due = Clock::time_point::max();
      return;
  }
}

}  // namespace orderflow::cli
