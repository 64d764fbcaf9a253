// unit: the supervision settings of `orderflow up` and what it logs about an exited child.
#include "supervisor.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>

#include "orderflow/config/config.h"
#include "orderflow/observability/logging.h"
#include "orderflow/testing/support.h"
#include "system.h"

namespace orderflow::cli {
namespace {

using namespace std::chrono_literals;

std::string write_file(const testing::TempDir& dir, const std::string& text) {
  auto path = dir.file("orderflow.yaml");
  std::ofstream(path) << text;
  return path;
}

TEST(SupervisionSpecTest, DefaultsWhenTheSectionIsMissing) {
  testing::TempDir dir;
  auto spec = load_system_spec(write_file(dir, "data_dir: data\n"), "", "/bin");
  EXPECT_EQ(spec.supervision.max_restarts, 5);
  EXPECT_EQ(spec.supervision.window, 60000ms);
  EXPECT_EQ(spec.supervision.backoff_initial, 500ms);
  EXPECT_EQ(spec.supervision.backoff_max, 10000ms);
}

TEST(SupervisionSpecTest, ReadsEveryKey) {
  testing::TempDir dir;
  auto spec = load_system_spec(write_file(dir,
                                          "supervision:\n  max_restarts: 1\n  window_ms: 5000\n"
                                          "  backoff_initial_ms: 100\n  backoff_max_ms: 400\n"),
                               "", "/bin");
  EXPECT_EQ(spec.supervision.max_restarts, 1);
  EXPECT_EQ(spec.supervision.window, 5000ms);
  EXPECT_EQ(spec.supervision.backoff_initial, 100ms);
  EXPECT_EQ(spec.supervision.backoff_max, 400ms);
}

TEST(SupervisionSpecTest, RejectsUnknownKeysAndAnInvertedBackoff) {
  testing::TempDir dir;
  EXPECT_THROW(load_system_spec(write_file(dir, "supervision:\n  max_restart: 1\n"), "", "/bin"),
               config::ConfigError);
  EXPECT_THROW(load_system_spec(write_file(dir,
                                           "supervision:\n  backoff_initial_ms: 2000\n"
                                           "  backoff_max_ms: 1000\n"),
                                "", "/bin"),
               config::ConfigError);
}

TEST(ReplicasTest, InstancesAreNamedAfterTheirService) {
  EXPECT_EQ(instance_name("order-service", 1), "order-service");
  EXPECT_EQ(instance_name("order-service", 2), "order-service-2");
  EXPECT_EQ(instance_name("inventory-service", 10), "inventory-service-10");
}

TEST(ReplicasTest, ReadPerServiceWithOneByDefault) {
  testing::TempDir dir;
  auto spec = load_system_spec(write_file(dir,
                                          "services:\n  order-service:\n    replicas: 3\n"
                                          "  ops-service:\n    port: 0\n"),
                               "", "/bin");
  ASSERT_EQ(spec.services.size(), 2u);
  EXPECT_EQ(spec.services[0].replicas, 3);
  EXPECT_EQ(spec.services[1].replicas, 1);
  EXPECT_THROW(load_system_spec(write_file(dir, "services:\n  order-service:\n    replicas: 0\n"),
                                "", "/bin"),
               config::ConfigError);
}

// The refusal comes before anything is started: bin_dir has no executables, so a start that
// got as far as the broker would throw "executable not found" instead.
TEST(ReplicasTest, SeveralInstancesOnSqliteAreRefusedBeforeAnythingStarts) {
  testing::TempDir dir;
  auto service_file = dir.file("inventory-service.yaml");
  std::ofstream(service_file) << "storage:\n  backend: sqlite\n";
  auto spec = load_system_spec(write_file(dir,
                                          "data_dir: data\nservices:\n  inventory-service:\n"
                                          "    config: inventory-service.yaml\n"
                                          "    replicas: 2\n"),
                               "", dir.file("no-bin"));
  System system(spec, observability::make_logger("test", {"off", "text"}));
  try {
    system.start();
    FAIL() << "started 2 instances on SQLite";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("inventory-service: 2 replicas"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("--storage postgres"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(system.pids().empty());
}

TEST(DescribeExitStatusTest, NamesTheExitCodeOrTheSignal) {
  EXPECT_EQ(describe_exit_status(3 << 8), "exit code 3");
  EXPECT_EQ(describe_exit_status(SIGKILL), "signal SIGKILL");
  EXPECT_EQ(describe_exit_status(SIGSEGV | 0x80), "signal SIGSEGV");  // with a core dump
}

TEST(TailLinesTest, LastLinesOfTheFile) {
  testing::TempDir dir;
  auto path = dir.file("x.log");
  std::ofstream(path) << "one\ntwo\nthree\nfour\n";
  EXPECT_EQ(tail_lines(path, 2), "three\nfour");
  EXPECT_EQ(tail_lines(path, 10), "one\ntwo\nthree\nfour");
  EXPECT_EQ(tail_lines(dir.file("missing.log"), 10), "");
}

}  // namespace
}  // namespace orderflow::cli
