#include "postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "child_process.h"
#include "supervisor.h"

namespace orderflow::cli {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSuperuser = "orderflow";
constexpr int kLogLinesOnFailure = 20;
constexpr auto kPollInterval = 50ms;
constexpr int kStartAttempts = 3;
constexpr int kCreateAttempts = 10;
constexpr std::size_t kPasswordBytes = 24;
// sockaddr_un.sun_path holds 108 bytes with the terminating NUL.
constexpr std::size_t kMaxSocketPath = 107;

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using QueryResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

int free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("postgres server: no free loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string random_password() {
  unsigned char bytes[kPasswordBytes];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno != EINTR) throw std::runtime_error("postgres server: getrandom failed");
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

bool has_server_binaries(const fs::path& dir) {
  return access((dir / "initdb").c_str(), X_OK) == 0 &&
         access((dir / "postgres").c_str(), X_OK) == 0;
}

void write_file_atomically(const fs::path& file, const std::string& text) {
  auto tmp = file;
  tmp += ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, file);
}

constexpr const char* kConnectTimeoutS = "10";

Connection connect(const std::string& conninfo) {
  // A connect_timeout in `conninfo` wins: it comes later.
  const char* keys[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {kConnectTimeoutS, conninfo.c_str(), nullptr};
  Connection conn(PQconnectdbParams(keys, values, 1), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    std::string error = conn ? PQerrorMessage(conn.get()) : "out of memory";
    while (!error.empty() && error.back() == '\n') error.pop_back();
    throw std::runtime_error("cannot connect to postgres: " + error);
  }
  return conn;
}

std::string quote_identifier(PGconn* conn, const std::string& name) {
  char* quoted = PQescapeIdentifier(conn, name.data(), name.size());
  if (quoted == nullptr) throw std::runtime_error("bad database name '" + name + "'");
  std::string out = quoted;
  PQfreemem(quoted);
  return out;
}

std::string error_of(const PGresult* result) {
  std::string message = PQresultErrorMessage(result);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return message;
}

std::string sqlstate_of(const PGresult* result) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  return state != nullptr ? state : "";
}

bool database_exists(PGconn* conn, const std::string& name) {
  const char* params[] = {name.c_str()};
  QueryResult result(PQexecParams(conn, "SELECT 1 FROM pg_database WHERE datname = $1", 1, nullptr,
                                  params, nullptr, nullptr, 0),
                     &PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error("postgres: looking up database " + name + ": " +
                             error_of(result.get()));
  }
  return PQntuples(result.get()) > 0;
}

}  // namespace

std::string default_postgres_bin_dir() {
  // Debian keeps the server out of PATH, one directory per major version.
  const fs::path debian = "/usr/lib/postgresql";
  int best = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(debian, ec)) {
    const auto name = entry.path().filename().string();
    char* end = nullptr;
    long version = std::strtol(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0' || !has_server_binaries(entry.path() / "bin")) continue;
    best = std::max(best, static_cast<int>(version));
  }
  if (best >= 0) return (debian / std::to_string(best) / "bin").string();
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::istringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      if (!dir.empty() && has_server_binaries(dir)) return dir;
    }
  }
  throw std::runtime_error(
      "postgres server: no initdb and postgres in /usr/lib/postgresql/*/bin nor in PATH; install "
      "Debian's postgresql-15 (scripts/install-deps.sh, make deps)");
}

void ensure_postgres_database(const std::string& conninfo, const std::string& name) {
  auto conn = connect(conninfo);
  std::string create = "CREATE DATABASE " + quote_identifier(conn.get(), name);
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    if (database_exists(conn.get(), name)) return;
    QueryResult result(PQexec(conn.get(), create.c_str()), &PQclear);
    if (PQresultStatus(result.get()) == PGRES_COMMAND_OK) return;
    auto state = sqlstate_of(result.get());
    // A racing creator: 42P04 once its database is committed, 23505 on pg_database's unique
    // index while it commits; 55006 while another session copies the template. Look again.
    if (state != "42P04" && state != "23505" && state != "55006") {
      throw std::runtime_error("postgres: CREATE DATABASE " + name + ": " + error_of(result.get()));
    }
    std::this_thread::sleep_for(kPollInterval * attempt);
  }
  if (!database_exists(conn.get(), name)) {
    throw std::runtime_error("postgres: database " + name + " could not be created");
  }
}

void drop_postgres_database(const std::string& conninfo, const std::string& name) {
  auto conn = connect(conninfo);
  std::string drop =
      "DROP DATABASE IF EXISTS " + quote_identifier(conn.get(), name) + " WITH (FORCE)";
  QueryResult result(PQexec(conn.get(), drop.c_str()), &PQclear);
  if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    throw std::runtime_error("postgres: DROP DATABASE " + name + ": " + error_of(result.get()));
  }
}

PostgresServer::PostgresServer(PostgresServerOptions options,
                               std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)), logger_(std::move(logger)) {
  options_.data_dir = fs::absolute(options_.data_dir).lexically_normal().string();
}

PostgresServer::~PostgresServer() { stop(); }

std::string PostgresServer::server_dir() const {
  return (fs::path(options_.data_dir) / "postgres").string();
}
std::string PostgresServer::cluster_dir() const {
  return (fs::path(server_dir()) / "data").string();
}
std::string PostgresServer::socket_dir() const {
  return (fs::path(server_dir()) / "socket").string();
}
std::string PostgresServer::log_file() const {
  return (fs::path(options_.data_dir) / "logs" / "postgres.log").string();
}

std::string PostgresServer::url(const std::string& database) const {
  return std::string("postgresql://") + kSuperuser + "@127.0.0.1:" + std::to_string(port_) + "/" +
         database;
}

std::string PostgresServer::url_with_password(const std::string& database) const {
  // The password is hex: nothing to percent-encode.
  return std::string("postgresql://") + kSuperuser + ":" + password_ +
         "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PostgresServer::ensure_database(const std::string& name) const {
  ensure_postgres_database(url_with_password("postgres"), name);
}

void PostgresServer::check_reachable() const {
  // As root everything is reachable; the server's account may be stopped by a parent
  // directory (e.g. /root is 0700): say so rather than let initdb fail obscurely.
  auto user = lookup_os_user(options_.os_user);
  // Only system calls in the child: another thread may hold the allocator's lock.
  const std::string dir = server_dir();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("postgres server: fork failed");
  if (pid == 0) {
    bool ok = setgroups(user.groups.size(), user.groups.data()) == 0 && setgid(user.gid) == 0 &&
              setuid(user.uid) == 0 && access(dir.c_str(), R_OK | W_OK | X_OK) == 0;
    _exit(ok ? 0 : 1);
  }
  if (wait_exit(pid) != 0) {
    throw std::runtime_error(
        "postgres server: initdb and postgres refuse to run as root, so they run as the "
        "operating-system user '" +
        options_.os_user + "', which cannot reach " + server_dir() +
        ": give it search permission on every parent directory (chmod o+x) or use a data dir "
        "under one it can reach (e.g. /tmp, /var/tmp)");
  }
}

void PostgresServer::load_or_create_layout() {
  auto state_file = fs::path(server_dir()) / "server.json";
  auto password_file = fs::path(server_dir()) / "password";
  fs::create_directories(server_dir());
  fs::create_directories(fs::path(options_.data_dir) / "logs");
  fs::create_directories(socket_dir());
  fs::permissions(server_dir(), fs::perms::owner_all, fs::perm_options::replace);
  std::optional<OsUser> user;
  if (as_root_) {
    user = lookup_os_user(options_.os_user);
    for (const auto& dir : {server_dir(), socket_dir()}) {
      if (chown(dir.c_str(), user->uid, user->gid) != 0) {
        throw std::runtime_error("postgres server: cannot chown " + dir + " to " +
                                 options_.os_user + ": " + std::strerror(errno));
      }
    }
    check_reachable();
  }
  if (fs::exists(state_file)) {
    std::ifstream in(state_file);
    auto doc = nlohmann::json::parse(in, nullptr, false);
    if (!doc.is_object() || !doc.contains("port")) {
      throw std::runtime_error("postgres server: unreadable " + state_file.string());
    }
    port_ = doc.value("port", 0);
    std::ifstream pw(password_file);
    std::getline(pw, password_);
    if (password_.empty()) {
      throw std::runtime_error("postgres server: no password in " + password_file.string());
    }
    new_layout_ = false;
    return;
  }
  // No server.json: never initialised, or initdb was interrupted. Start over.
  new_layout_ = true;
  std::error_code ec;
  fs::remove_all(cluster_dir(), ec);
  port_ = free_loopback_port();
  password_ = random_password();
  int fd = open(password_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || fchmod(fd, 0600) != 0 || (user && fchown(fd, user->uid, user->gid) != 0) ||
      write(fd, (password_ + "\n").data(), password_.size() + 1) !=
          static_cast<ssize_t>(password_.size() + 1)) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("postgres server: cannot write " + password_file.string());
  }
  close(fd);
  initdb();
  write_file_atomically(state_file,
                        nlohmann::json{{"port", port_}, {"user", kSuperuser}}.dump(2) + "\n");
}

void PostgresServer::initdb() {
  logger_->info("initialising a postgres cluster in {}", cluster_dir());
  std::vector<std::string> argv{(fs::path(options_.bin_dir) / "initdb").string(),
                                "--pgdata=" + cluster_dir(),
                                std::string("--username=") + kSuperuser,
                                "--pwfile=" + (fs::path(server_dir()) / "password").string(),
                                "--auth-local=trust",
                                "--auth-host=scram-sha-256",
                                "--encoding=UTF8",
                                "--no-locale",
                                "--no-instructions"};
  ChildOptions child{log_file(), std::nullopt, SIGTERM, server_dir()};
  if (as_root_) child.user = lookup_os_user(options_.os_user);
  int status = wait_exit(spawn_child(argv, child));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("postgres server: initdb failed (" + describe_exit_status(status) +
                             "); last lines of " + log_file() + ":\n" +
                             tail_lines(log_file(), kLogLinesOnFailure));
  }
}

void PostgresServer::spawn() {
  std::string sockets = socket_dir();
  // A socket path longer than sun_path makes postgres exit: stay on TCP only then.
  if (sockets.size() + std::strlen("/.s.PGSQL.65535") > kMaxSocketPath) sockets = "";
  std::vector<std::string> argv{(fs::path(options_.bin_dir) / "postgres").string(),
                                "-D",
                                cluster_dir(),
                                "-p",
                                std::to_string(port_),
                                "-k",
                                sockets,
                                "-c",
                                "listen_addresses=127.0.0.1",
                                "-c",
                                "max_connections=" + std::to_string(options_.max_connections)};
  // SIGINT is postgres' fast shutdown: when orderflow dies its sessions must not keep the
  // server up (SIGTERM would wait for them).
  ChildOptions child{log_file(), std::nullopt, SIGINT, server_dir()};
  if (as_root_) child.user = lookup_os_user(options_.os_user);
  pid_ = spawn_child(argv, child);
  logger_->debug("started postgres pid={} port={}", pid_, port_);
}

bool PostgresServer::accepts_connections() const {
  // Another server may answer on the port (it was taken): only ours, by its postmaster.pid
  // (pid first, status last: "ready" once it accepts connections), counts.
  std::ifstream pid_file(fs::path(cluster_dir()) / "postmaster.pid");
  std::string first;
  std::string line;
  std::string last;
  std::getline(pid_file, first);
  while (std::getline(pid_file, line)) last = line;
  if (first != std::to_string(pid_) || last.rfind("ready", 0) != 0) return false;
  std::string port = std::to_string(port_);
  const char* keys[] = {"host", "port", "user", "dbname", "connect_timeout", nullptr};
  const char* values[] = {"127.0.0.1", port.c_str(), kSuperuser, "postgres", "2", nullptr};
  return PQpingParams(keys, values, 0) == PQPING_OK;
}

bool PostgresServer::wait_ready(int& status) {
  auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    if (accepts_connections()) return true;
    std::this_thread::sleep_for(kPollInterval);
  }
  fail("postgres did not accept connections on port " + std::to_string(port_) + " within " +
       std::to_string(options_.start_timeout.count()) + " ms");
}

void PostgresServer::start() {
  if (pid_ > 0) return;
  auto started = std::chrono::steady_clock::now();
  if (options_.bin_dir.empty()) options_.bin_dir = default_postgres_bin_dir();
  if (!has_server_binaries(options_.bin_dir)) {
    throw std::runtime_error("postgres server: no initdb and postgres in " + options_.bin_dir);
  }
  as_root_ = geteuid() == 0;
  load_or_create_layout();
  for (int attempt = 1;; ++attempt) {
    spawn();
    int status = 0;
    if (wait_ready(status)) break;
    auto log = tail_lines(log_file(), kLogLinesOnFailure);
    // Processes of a server that was killed still attached to its shared memory: they exit
    // once they notice (kill_leftovers() makes that immediate).
    bool leftovers = log.find("pre-existing shared memory block") != std::string::npos;
    // The port picked on a first start was taken meanwhile: pick another one.
    bool port_taken =
        new_layout_ && log.find("could not create any TCP/IP sockets") != std::string::npos;
    if (attempt >= kStartAttempts || (!leftovers && !port_taken)) {
      fail("postgres exited at start (" + describe_exit_status(status) + ")");
    }
    if (leftovers) kill_leftovers();
    if (port_taken) {
      port_ = free_loopback_port();
      write_file_atomically(fs::path(server_dir()) / "server.json",
                            nlohmann::json{{"port", port_}, {"user", kSuperuser}}.dump(2) + "\n");
    }
    logger_->warn("postgres exited at start; starting it again (attempt {})", attempt + 1);
  }
  logger_->info("postgres up in {} ms at 127.0.0.1:{} ({})",
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count(),
                port_, cluster_dir());
}

void PostgresServer::kill_leftovers() {
  // Every process a postmaster forks calls setsid(), so its process group does not name them;
  // they all run in the cluster directory (the postmaster's chdir), which names them.
  auto cluster = fs::path(cluster_dir());
  std::error_code ec;
  fs::directory_iterator proc("/proc", ec);
  // increment(ec): processes come and go while /proc is read; stop() must not throw.
  for (; !ec && proc != fs::directory_iterator(); proc.increment(ec)) {
    const auto name = proc->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code link_ec;
    auto cwd = fs::read_symlink(proc->path() / "cwd", link_ec);
    if (link_ec || cwd != cluster) continue;
    pid_t pid = static_cast<pid_t>(std::strtol(name.c_str(), nullptr, 10));
    if (pid != getpid()) kill(pid, SIGKILL);
  }
}

std::optional<int> PostgresServer::reap() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  pid_ = -1;
  kill_leftovers();
  return status;
}

void PostgresServer::stop() {
  if (pid_ <= 0) return;
  // Fast shutdown, then immediate shutdown (crash recovery at the next start), then SIGKILL.
  for (int signal : {SIGINT, SIGQUIT, SIGKILL}) {
    kill(pid_, signal);
    auto deadline = std::chrono::steady_clock::now() + options_.stop_grace;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline || signal == SIGKILL) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        if (signal == SIGKILL) kill_leftovers();
        return;
      }
      std::this_thread::sleep_for(kPollInterval);
    }
    logger_->warn("postgres (pid {}) did not stop within {} ms of signal {}", pid_,
                  options_.stop_grace.count(), signal);
  }
}

void PostgresServer::restart() {
  stop();
  start();
}

void PostgresServer::fail(const std::string& what) {
  stop();
  throw std::runtime_error("postgres server: " + what + "; last lines of " + log_file() + ":\n" +
                           tail_lines(log_file(), kLogLinesOnFailure));
}

}  // namespace orderflow::cli
