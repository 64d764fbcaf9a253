#include "fixture_daemon.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

namespace orderflow::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

pid_t read_pid(const fs::path& file) {
  std::ifstream in(file);
  pid_t pid = -1;
  if (!(in >> pid)) return -1;
  return pid;
}

// A pid file outlives a reboot: only a process that is this program counts.
bool alive(pid_t pid, const std::string& program) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  std::getline(cmdline, argv0, '\0');
  return argv0.find(program) != std::string::npos;
}

std::string tail(const fs::path& file, std::size_t max_bytes = 4000) {
  std::ifstream in(file);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

[[noreturn]] void run_daemon(const FixtureDaemon& daemon,
                             const std::function<int(const sigset_t&)>& serve) {
  setsid();
  // ctest waits for every holder of the test's output pipe: the daemon must let go of it.
  int null = open("/dev/null", O_RDONLY);
  int log = open((daemon.dir / "harness.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
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
  std::ofstream(daemon.dir / daemon.pid_file) << getpid() << "\n";

  int code = 1;
  try {
    code = serve(stop_signals);
  } catch (const std::exception& e) {
    std::cerr << daemon.what << ": " << e.what() << std::endl;
  }
  std::error_code ec;
  fs::remove(daemon.dir / daemon.ready_file, ec);
  fs::remove(daemon.dir / daemon.pid_file, ec);
  _exit(code);
}

}  // namespace

std::optional<FixtureCommand> parse_fixture_command(int argc, char** argv,
                                                    const std::vector<std::string>& numeric_flags,
                                                    const std::string& usage) {
  FixtureCommand parsed;
  bool ok = argc >= 2 && argc % 2 == 0;
  if (ok) parsed.command = argv[1];
  ok = ok && (parsed.command == "start" || parsed.command == "stop");
  for (int i = 2; ok && i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--dir") {
      parsed.dir = fs::absolute(value);
    } else if (std::find(numeric_flags.begin(), numeric_flags.end(), flag) != numeric_flags.end() &&
               !value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
      parsed.numbers[flag] = std::stoi(value);
    } else {
      ok = false;
    }
  }
  if (ok && !parsed.dir.empty()) return parsed;
  std::cerr << "usage: " << usage << "\n";
  return std::nullopt;
}

int stop_fixture_daemon(const FixtureDaemon& daemon, std::chrono::seconds timeout) {
  pid_t pid = read_pid(daemon.dir / daemon.pid_file);
  if (!alive(pid, daemon.program)) {
    std::cout << "no " << daemon.what << " running in " << daemon.dir.string() << "\n";
    return 0;
  }
  kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (alive(pid, daemon.program) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  if (alive(pid, daemon.program)) {
    std::cerr << daemon.what << " daemon " << pid << " did not stop in time; killing it\n";
    kill(pid, SIGKILL);  // its children get a signal from the kernel (PR_SET_PDEATHSIG)
    return 1;
  }
  std::cout << daemon.what << " in " << daemon.dir.string() << " stopped\n";
  return 0;
}

int start_fixture_daemon(const FixtureDaemon& daemon,
                         const std::function<int(const sigset_t&)>& serve) {
  stop_fixture_daemon(daemon, 60s);  // one left by an interrupted run
  std::error_code ec;
  fs::remove_all(daemon.dir, ec);
  fs::create_directories(daemon.dir);
  pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) run_daemon(daemon, serve);

  auto started = std::chrono::steady_clock::now();
  auto ready = daemon.dir / daemon.ready_file;
  while (!fs::exists(ready)) {
    int status = 0;
    if (waitpid(child, &status, WNOHANG) == child) {
      std::cerr << daemon.what << " failed to start; " << (daemon.dir / "harness.log").string()
                << ":\n"
                << tail(daemon.dir / "harness.log") << "\n";
      return 1;
    }
    std::this_thread::sleep_for(50ms);
  }
  std::ifstream in(ready);
  std::string first_line;
  std::getline(in, first_line);
  std::cout << daemon.what << " up in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count()
            << " ms at " << (daemon.ready_file_secret ? ready.string() : first_line) << " (daemon "
            << child << ", " << daemon.dir.string() << ")\n";
  return 0;
}

int serve_until_stopped(const sigset_t& stop_signals, std::chrono::seconds max_lifetime,
                        const std::function<bool()>& died) {
  auto until = std::chrono::steady_clock::now() + max_lifetime;
  timespec tick{0, 200'000'000};
  while (true) {
    if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) {
      std::cerr << "stop requested" << std::endl;
      return 0;
    }
    if (died()) return 1;
    if (std::chrono::steady_clock::now() > until) {
      std::cerr << "maximum lifetime of " << max_lifetime.count() << " s reached; stopping"
                << std::endl;
      return 0;
    }
  }
}

void write_ready_file(const FixtureDaemon& daemon, const std::string& text) {
  auto ready = daemon.dir / daemon.ready_file;
  auto tmp = ready;
  tmp += ".tmp";
  std::ofstream out(tmp);
  // Owner only before the text is in: it may hold a password.
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  out << text;
  out.close();
  fs::rename(tmp, ready);
}

}  // namespace orderflow::testing
