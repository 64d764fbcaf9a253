#include "child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace orderflow::cli {

namespace {

[[noreturn]] void child_fails(const std::string& message) {
  std::string line = message + ": " + std::strerror(errno) + "\n";
  (void)!write(STDERR_FILENO, line.data(), line.size());
  _exit(127);
}

}  // namespace

OsUser lookup_os_user(const std::string& name) {
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    throw std::runtime_error("no operating-system user '" + name + "'");
  }
  OsUser user{name, entry.pw_uid, entry.pw_gid, {}};
  int count = 64;
  user.groups.resize(count);
  while (getgrouplist(name.c_str(), user.gid, user.groups.data(), &count) < 0) {
    user.groups.resize(count);
  }
  user.groups.resize(count);
  return user;
}

pid_t spawn_child(const std::vector<std::string>& argv, const std::string& log_file) {
  return spawn_child(argv, ChildOptions{log_file, std::nullopt, SIGTERM, ""});
}

pid_t spawn_child(const std::vector<std::string>& argv, const ChildOptions& options) {
  if (argv.empty()) throw std::runtime_error("spawn_child: empty argv");
  std::vector<std::string> store = argv;
  std::vector<char*> args;
  for (auto& a : store) args.push_back(a.data());
  args.push_back(nullptr);
  // Built before fork: setenv in the child of a multi-threaded parent is not async-signal-safe.
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    if (options.env.count(entry.substr(0, entry.find('='))) == 0) env_store.push_back(entry);
  }
  for (const auto& [name, value] : options.env) env_store.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed for " + argv[0]);
  if (pid == 0) {
    setpgid(0, 0);
    if (!options.log_file.empty()) {
      int fd = open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
      }
    }
    if (options.user) {
      const auto& user = *options.user;
      if (setgroups(user.groups.size(), user.groups.data()) != 0 || setgid(user.gid) != 0 ||
          setuid(user.uid) != 0) {
        child_fails("cannot run " + store[0] + " as " + user.name);
      }
    }
    if (!options.working_dir.empty() && chdir(options.working_dir.c_str()) != 0) {
      child_fails("cannot enter " + options.working_dir);
    }
    // Die with the parent even if it is killed without a chance to drain. Set after the change
    // of user, which clears it.
    prctl(PR_SET_PDEATHSIG, options.death_signal);
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    execvpe(args[0], args.data(), envp.data());
    child_fails("cannot run " + store[0]);
  }
  return pid;
}

}  // namespace orderflow::cli
