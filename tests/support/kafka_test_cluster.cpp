// orderflow-test-cluster: the real Kafka cluster that one ctest run shares between its tests
// labelled `kafka` (tests/CMakeLists.txt registers `start` as the fixture setup and `stop` as
// its cleanup).
//
//   orderflow-test-cluster start --dir DIR [--brokers 3] [--max-lifetime-s 7200]
//   orderflow-test-cluster stop --dir DIR
//
// `start` forks a daemon (own session, output to DIR/harness.log, pid in DIR/cluster.pid) that
// owns a KafkaCluster on a fresh DIR, writes the bootstrap string to DIR/bootstrap once every
// broker answers, and stops the cluster on SIGTERM, when a JVM exits, or after the maximum
// lifetime (a ctest run that was interrupted before its cleanup leaves no JVMs behind for
// long). `start` returns once DIR/bootstrap exists (exit 0) or the daemon failed (exit 1, with
// the end of its log). `stop` sends SIGTERM and waits for the daemon to be gone.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "kafka_cluster.h"
#include "orderflow/observability/logging.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kStopTimeout = 60s;  // the daemon stops each JVM within its 30 s grace

struct Args {
  std::string command;
  std::string dir;
  int brokers = 3;
  int max_lifetime_s = 7200;
};

int usage() {
  std::cerr << "usage: orderflow-test-cluster start|stop --dir DIR [--brokers N] "
               "[--max-lifetime-s S]\n";
  return 2;
}

pid_t read_pid(const fs::path& file) {
  std::ifstream in(file);
  pid_t pid = -1;
  if (!(in >> pid)) return -1;
  return pid;
}

// A pid file outlives a reboot: only a process that is this program counts.
bool alive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  std::getline(cmdline, argv0, '\0');
  return argv0.find("orderflow-test-cluster") != std::string::npos;
}

std::string tail(const fs::path& file, std::size_t max_bytes = 4000) {
  std::ifstream in(file);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

// SIGTERM to the daemon of an earlier start on `dir` and wait until it is gone.
int stop(const fs::path& dir) {
  pid_t pid = read_pid(dir / "cluster.pid");
  if (!alive(pid)) {
    std::cout << "no test cluster running in " << dir.string() << "\n";
    return 0;
  }
  kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  while (alive(pid) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  if (alive(pid)) {
    std::cerr << "test cluster daemon " << pid << " did not stop in time; killing it\n";
    kill(pid, SIGKILL);  // its JVMs get SIGTERM from the kernel (PR_SET_PDEATHSIG)
    return 1;
  }
  std::cout << "test cluster in " << dir.string() << " stopped\n";
  return 0;
}

[[noreturn]] void run_daemon(const Args& args, const fs::path& dir) {
  setsid();
  // ctest waits for every holder of the test's output pipe: the daemon must let go of it.
  int null = open("/dev/null", O_RDONLY);
  int log = open((dir / "harness.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  dup2(null, STDIN_FILENO);
  dup2(log, STDOUT_FILENO);
  dup2(log, STDERR_FILENO);
  close(null);
  close(log);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::ofstream(dir / "cluster.pid") << getpid() << "\n";

  int code = 0;
  try {
    auto logger = orderflow::observability::make_logger("test-cluster", {"info", "text"});
    orderflow::cli::KafkaClusterOptions options;
    options.data_dir = dir.string();
    options.brokers = args.brokers;
    // The data is thrown away (the next start wipes the dir): no need to wait up to 30 s for
    // a controlled shutdown once the controller quorum is gone.
    options.stop_grace = 5s;
    orderflow::cli::KafkaCluster cluster(options, logger);
    cluster.start();
    // Written whole, then renamed: a test never reads half a bootstrap string.
    std::ofstream(dir / "bootstrap.tmp") << cluster.bootstrap_servers() << "\n";
    fs::rename(dir / "bootstrap.tmp", dir / "bootstrap");

    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(args.max_lifetime_s);
    timespec tick{0, 200'000'000};
    while (true) {
      if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) {
        logger->info("stop requested");
        break;
      }
      if (auto gone = cluster.reap()) {
        logger->error("kafka node {} exited; stopping the test cluster", gone->node);
        code = 1;
        break;
      }
      if (std::chrono::steady_clock::now() > until) {
        logger->warn("maximum lifetime of {} s reached; stopping the test cluster",
                     args.max_lifetime_s);
        break;
      }
    }
    fs::remove(dir / "bootstrap");
    cluster.stop();
  } catch (const std::exception& e) {
    std::cerr << "test cluster: " << e.what() << std::endl;
    code = 1;
  }
  fs::remove(dir / "cluster.pid");
  _exit(code);
}

int start(const Args& args) {
  fs::path dir = fs::absolute(args.dir);
  stop(dir);  // a cluster left by an interrupted run
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  pid_t daemon = fork();
  if (daemon < 0) {
    std::perror("fork");
    return 1;
  }
  if (daemon == 0) run_daemon(args, dir);

  auto started = std::chrono::steady_clock::now();
  while (!fs::exists(dir / "bootstrap")) {
    int status = 0;
    if (waitpid(daemon, &status, WNOHANG) == daemon) {
      std::cerr << "test cluster failed to start; " << (dir / "harness.log").string() << ":\n"
                << tail(dir / "harness.log") << "\n";
      return 1;
    }
    std::this_thread::sleep_for(100ms);
  }
  std::ifstream in(dir / "bootstrap");
  std::string bootstrap;
  std::getline(in, bootstrap);
  std::cout << "test cluster of " << args.brokers << " brokers up in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count()
            << " ms at " << bootstrap << " (daemon " << daemon << ", " << dir.string() << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (argc < 2 || argc % 2 != 0) return usage();
  args.command = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--dir") {
      args.dir = value;
    } else if (flag == "--brokers") {
      args.brokers = std::stoi(value);
    } else if (flag == "--max-lifetime-s") {
      args.max_lifetime_s = std::stoi(value);
    } else {
      return usage();
    }
  }
  if (args.dir.empty()) return usage();
  if (args.command == "start") return start(args);
  if (args.command == "stop") return stop(fs::absolute(args.dir));
  return usage();
}
