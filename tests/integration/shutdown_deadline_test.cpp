// Bounded shutdown (issue 9): a stop sequence that hangs past its budget ends the process with
// ShutdownDeadline::kExitCode; one that finishes in time is not cut short.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "orderflow/runtime/shutdown_deadline.h"

namespace orderflow::runtime {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<spdlog::logger> quiet() {
  return std::make_shared<spdlog::logger>("deadline",
                                          std::make_shared<spdlog::sinks::null_sink_mt>());
}

// Runs `body` in a child process; returns its exit status and how long it took.
std::pair<int, std::chrono::milliseconds> in_child(void (*body)()) {
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, took};
}

TEST(ShutdownDeadline, AHangingStopEndsAtTheDeadline) {
  auto [code, took] = in_child([] {
    ShutdownDeadline deadline(quiet());
    deadline.arm(200ms);
    deadline.step("waiting for a broker that is gone");
    pause();  // a commit that never returns
  });
  EXPECT_EQ(code, ShutdownDeadline::kExitCode);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
}

TEST(ShutdownDeadline, AStopThatFinishesInTimeIsNotCut) {
  auto [code, took] = in_child([] {
    ShutdownDeadline deadline(quiet());
    deadline.arm(10s);
    EXPECT_GT(deadline.remaining(), 5s);
  });
  EXPECT_EQ(code, 0);
  EXPECT_LT(took, 5s);
}

TEST(ShutdownDeadline, RemainingShrinksAndNeverGoesNegative) {
  ShutdownDeadline unarmed(quiet());
  EXPECT_EQ(unarmed.remaining(), 0ms);
  auto [code, took] = in_child([] {
    ShutdownDeadline deadline(quiet());
    deadline.arm(50ms);
    deadline.arm(10s);  // the first deadline holds
    while (deadline.remaining() > 0ms) std::this_thread::yield();
    pause();
  });
  EXPECT_EQ(code, ShutdownDeadline::kExitCode);
  EXPECT_LT(took, 5s);
}

}  // namespace
}  // namespace orderflow::runtime
