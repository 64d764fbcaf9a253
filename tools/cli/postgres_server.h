#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

namespace orderflow::cli {

/// Where a PostgresServer runs and with what.
struct PostgresServerOptions {
  /// The server under <data_dir>/postgres (cluster in data/, socket in socket/, password,
  /// server.json), its log in <data_dir>/logs/postgres.log.
  std::string data_dir;
  /// Directory of initdb and postgres; empty = default_postgres_bin_dir().
  std::string bin_dir;
  /// The account initdb and postgres run as when this process runs as root (both refuse
  /// root); ignored otherwise. It must be able to reach <data_dir> (search permission on every
  /// parent directory).
  std::string os_user = "postgres";
  /// postgres -c max_connections: every pool of every service instance, plus admin sessions.
  int max_connections = 300;
  /// How long start() waits for the server to accept connections (crash recovery included).
  std::chrono::milliseconds start_timeout{60000};
  /// How long stop() waits after SIGINT (fast shutdown) before SIGQUIT, then SIGKILL.
  std::chrono::milliseconds stop_grace{10000};
};

/// The directory of Debian's newest PostgreSQL server (/usr/lib/postgresql/<highest>/bin) when
/// it holds initdb and postgres, else the directory in PATH that holds `initdb`. Throws
/// std::runtime_error when there is neither (hint: scripts/install-deps.sh).
std::string default_postgres_bin_dir();

/// Creates database `name` on the server at `conninfo` (a libpq connection string or URI of a
/// user allowed to CREATE DATABASE, connected to any existing database) when it does not exist.
/// Idempotent and safe when several callers race on one name. Throws std::runtime_error with
/// the server's message when the connection or the creation fails.
void ensure_postgres_database(const std::string& conninfo, const std::string& name);
/// Drops database `name` on the server at `conninfo` when it exists, disconnecting its
/// sessions (DROP DATABASE … WITH (FORCE)). Throws std::runtime_error on failure.
void drop_postgres_database(const std::string& conninfo, const std::string& name);

/// A private PostgreSQL server (initdb + postgres as a child process) on a loopback port, for
/// `orderflow up --storage postgres` and the tests. The first start() on a data dir picks a
/// free port and runs initdb (superuser `orderflow`, password auth over TCP with a random
/// password kept in <data_dir>/postgres/password, UTF8, fsync on); later starts reuse the port
/// and the data recorded in <data_dir>/postgres/server.json. Not thread-safe, except
/// ensure_database().
class PostgresServer {
 public:
  PostgresServer(PostgresServerOptions options, std::shared_ptr<spdlog::logger> logger);
  /// Stops the server (stop()).
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  /// Initialises the cluster (first run only), starts postgres and waits until it accepts
  /// connections. Throws std::runtime_error when the binaries are missing, initdb fails,
  /// postgres exits or does not accept connections within start_timeout: the message has the
  /// last lines of the log, and a started postgres is stopped again. Idempotent while running.
  /// postgres gets a fast shutdown when the thread that called start() ends (PR_SET_PDEATHSIG
  /// follows the forking thread): call it on a thread that outlives the server, e.g. main.
  void start();
  /// Fast shutdown (SIGINT: sessions are disconnected, a checkpoint is written), then SIGQUIT
  /// and SIGKILL after stop_grace each. Idempotent.
  void stop();
  /// stop() then start(): the same port and data.
  void restart();
  /// Process id of the postmaster; -1 when not running.
  [[nodiscard]] pid_t pid() const { return pid_; }
  /// The postmaster's waitpid() status when it exited since the last call (it is reaped, and
  /// the server's remaining processes are killed so that start() can run again); nullopt while
  /// it runs or when it is not started. Never blocks.
  std::optional<int> reap();

  /// The loopback TCP port (valid after start(), or after a start() on this data dir).
  [[nodiscard]] int port() const { return port_; }
  /// "postgresql://orderflow@127.0.0.1:PORT/DATABASE": no password in it (libpq takes it from
  /// PGPASSWORD or a passfile).
  [[nodiscard]] std::string url(const std::string& database) const;
  /// url() with the password in it: for a child or a test that has no other way to get it.
  /// Do not log it.
  [[nodiscard]] std::string url_with_password(const std::string& database) const;
  /// The superuser `orderflow`'s password (valid after start()).
  [[nodiscard]] const std::string& password() const { return password_; }
  /// ensure_postgres_database() on this server (running). Thread-safe.
  void ensure_database(const std::string& name) const;
  /// <data_dir>/logs/postgres.log.
  [[nodiscard]] std::string log_file() const;

 private:
  [[nodiscard]] std::string server_dir() const;
  [[nodiscard]] std::string cluster_dir() const;
  [[nodiscard]] std::string socket_dir() const;
  void load_or_create_layout();
  void check_reachable() const;
  void initdb();
  void spawn();
  [[nodiscard]] bool accepts_connections() const;
  [[nodiscard]] bool wait_ready(int& status);
  void kill_leftovers();
  [[noreturn]] void fail(const std::string& what);

  PostgresServerOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  bool as_root_ = false;
  bool new_layout_ = false;
  int port_ = 0;
  std::string password_;
  pid_t pid_ = -1;
};

}  // namespace orderflow::cli
