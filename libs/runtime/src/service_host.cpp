#include "orderflow/runtime/service_host.h"

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace orderflow::runtime {
namespace {
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

void block_shutdown_signals() {
  auto set = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A closed pipe (client gone) must not kill the process.
  signal(SIGPIPE, SIG_IGN);
}

int wait_for_shutdown_signal() {
  auto set = shutdown_signals();
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

void write_port_file(const std::string& path, const std::string& host, std::uint16_t port) {
  if (path.empty()) return;
  auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write port file " + tmp);
    out << host << ":" << port << "\n";
  }
  std::filesystem::rename(tmp, path);
}

void add_admin_routes(http::Router& router, Intake& intake, std::function<DrainStatus()> status) {
  auto render = [&intake, status] {
    auto s = status ? status() : DrainStatus{};
    return http::Response::json(200, {{"intake", intake.open() ? "open" : "closed"},
                                      {"outboxPending", s.outbox_pending},
                                      {"consumerLag", s.consumer_lag},
                                      {"inFlight", s.in_flight}});
  };
  router.add(
      "POST", "/admin/drain",
      [&intake, render](const http::Request&) {
        intake.close();
        return render();
      },
      http::Access::kAdmin);
  router.add(
      "GET", "/admin/status", [render](const http::Request&) { return render(); },
      http::Access::kAdmin);
}

}  // namespace orderflow::runtime
