#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "orderflow/messaging/producer.h"
#include "orderflow/observability/logging.h"
#include "orderflow/testing/support.h"

namespace {

using namespace std::chrono_literals;
using orderflow::testing::eventually;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Starts `args` with stdout and stderr redirected to `log`.
pid_t spawn(std::vector<std::string> args, const std::string& log) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

TEST(BrokerExecutable, ServesTopicsAndCleansUpOnSigterm) {
  orderflow::testing::TempDir dir;
  auto data_dir = dir.file("data");
  auto bootstrap_file = data_dir + "/broker.bootstrap";
  auto log = dir.file("broker.log");
  pid_t pid = spawn({std::string(ORDERFLOW_BIN_DIR) + "/orderflow-broker", "--data-dir", data_dir,
                     "--brokers", "2", "--topic", "two.v1:2", "--topic", "three.v1"},
                    log);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(bootstrap_file); }, 10s))
      << read_file(log);
  std::string bootstrap = read_file(bootstrap_file);
  ASSERT_FALSE(bootstrap.empty());
  ASSERT_EQ(bootstrap.back(), '\n');
  bootstrap.pop_back();
  EXPECT_TRUE(eventually([&] {
    return read_file(log).find("orderflow-broker ready bootstrap=" + bootstrap) !=
           std::string::npos;
  }));

  // Created with the requested partition counts before the file appeared.
  auto logger = orderflow::observability::make_logger("broker-e2e", {"error", "text"});
  auto producer = orderflow::messaging::make_kafka_producer({bootstrap, "broker-e2e", {}}, logger);
  std::set<int> two;
  std::set<int> three;
  for (int i = 0; i < 40; ++i) {
    auto a = producer->send_sync({"two.v1", "k" + std::to_string(i), "v", {}}, 10s);
    ASSERT_TRUE(a.ok()) << a.error().message;
    two.insert(a->partition);
    auto b = producer->send_sync({"three.v1", "k" + std::to_string(i), "v", {}}, 10s);
    ASSERT_TRUE(b.ok()) << b.error().message;
    three.insert(b->partition);
  }
  EXPECT_EQ(two, (std::set<int>{0, 1}));
  EXPECT_EQ(three, (std::set<int>{0, 1, 2}));
  producer.reset();

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(log);
  EXPECT_FALSE(std::filesystem::exists(bootstrap_file));
}

TEST(BrokerExecutable, RejectsABadTopicWithoutWritingTheFile) {
  orderflow::testing::TempDir dir;
  auto data_dir = dir.file("data");
  auto log = dir.file("broker.log");
  pid_t pid = spawn({std::string(ORDERFLOW_BIN_DIR) + "/orderflow-broker", "--data-dir", data_dir,
                     "--topic", "bad:0"},
                    log);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  EXPECT_FALSE(std::filesystem::exists(data_dir + "/broker.bootstrap"));
}

}  // namespace
