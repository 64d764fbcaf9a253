#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <ostream>
#include <string>

#include "orderflow/storage/database.h"
#include "orderflow/testing/support.h"

namespace orderflow::testing {

/// Which database a storage test runs on: a SQLite file in a temp dir, or a fresh database on
/// the private PostgreSQL server that the ctest run shares (orderflow-test-postgres).
enum class DatabaseKind { kSqlite, kPostgres };

/// "Sqlite" or "Postgres": the suffix of a parametrised test's name (…/Sqlite, …/Postgres), by
/// which tests/CMakeLists.txt gives the Postgres runs the label `postgres` and the server
/// fixture.
std::string database_kind_name(DatabaseKind kind);
/// DatabaseKind from its name ("Sqlite" or "Postgres"); throws std::invalid_argument otherwise.
DatabaseKind database_kind_from_name(const std::string& name);
/// GoogleTest prints test parameters with this (e.g. in --gtest_list_tests).
inline void PrintTo(DatabaseKind kind, std::ostream* out) { *out << database_kind_name(kind); }

/// Environment variable naming the file that holds the shared server's superuser URL, password
/// included (set by tests/CMakeLists.txt on every test labelled `postgres`).
inline constexpr const char* kPostgresUrlFileEnv = "ORDERFLOW_TEST_POSTGRES_URL_FILE";

/// The shared server's superuser URL ("postgresql://orderflow:PASSWORD@127.0.0.1:PORT/postgres"),
/// read from the file named by ORDERFLOW_TEST_POSTGRES_URL_FILE; "" when that variable is unset
/// (the test binary was not started by ctest with the postgres_server fixture). Throws
/// std::runtime_error when the variable is set but the file is missing or empty.
std::string shared_postgres_url();

/// Runs `sql` (one or more statements) on the PostgreSQL database at `url` through a connection
/// of its own; returns the first column of the first row of the last result, "" when there is
/// none or it is NULL. Throws std::runtime_error with the server's message when the connection
/// or a statement fails. For tests that look at or act on the server beside the code under test
/// (pg_terminate_backend, counting rows, checking a setting).
std::string postgres_query(const std::string& url, const std::string& sql);
/// Whether a connection to `url` succeeds (e.g. the password is right, the server is up).
bool postgres_connects(const std::string& url);

/// Name prefix of the empty databases the shared server's daemon keeps ready: TestDatabase
/// renames one to its own name (a few ms) instead of creating one (CREATE DATABASE takes about
/// 0.5 s with fsync on), and creates one when none is left.
inline constexpr const char* kSpareDatabasePrefix = "orderflow_spare_";
/// Keeps `count` spare databases on the server at `server_url` (superuser URL), creating them
/// one at a time, until `stop` is set; reconnects after errors (reported on stderr). Blocks: the
/// test server's daemon runs it on a thread.
void keep_spare_databases(const std::string& server_url, int count, const std::atomic<bool>& stop);

/// A database for one test. Sqlite: a file in a TempDir owned by this object. Postgres: a new
/// database with a unique name on the shared server, made by the constructor (a spare one
/// renamed, else created: ~0.5 s) and
/// dropped with its sessions disconnected after the destructor: the destructor sends
/// DROP DATABASE … WITH (FORCE) and does not wait for it (it waits for a checkpoint, ~1 s).
/// Not thread-safe.
class TestDatabase {
 public:
  /// Throws std::runtime_error for kPostgres when shared_postgres_url() is "" or fails, or the
  /// database cannot be created.
  explicit TestDatabase(DatabaseKind kind);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  [[nodiscard]] DatabaseKind kind() const { return kind_; }
  [[nodiscard]] bool is_postgres() const { return kind_ == DatabaseKind::kPostgres; }
  /// The StorageConfig of this database (backend, sqlite_path or postgres_url with the
  /// password). Every call describes the same database: two Databases opened from two calls
  /// share it, like two instances of one service.
  [[nodiscard]] storage::StorageConfig storage_config() const;
  /// The PostgreSQL database's name, or the SQLite file's path.
  [[nodiscard]] const std::string& name() const { return name_; }
  /// Postgres: the URL of this database with the password (libpq URI). "" for SQLite.
  [[nodiscard]] const std::string& url() const { return url_; }
  /// Postgres: the shared server's superuser URL, connected to database `postgres` (for admin
  /// statements: pg_terminate_backend, other databases). "" for SQLite.
  [[nodiscard]] const std::string& server_url() const { return server_url_; }

 private:
  DatabaseKind kind_;
  std::unique_ptr<TempDir> dir_;
  std::string name_;
  std::string url_;
  std::string server_url_;
};

/// Names a DatabaseKind instance "Sqlite" or "Postgres" (the CTest name's suffix).
struct DatabaseKindParamName {
  std::string operator()(const ::testing::TestParamInfo<DatabaseKind>& info) const {
    return database_kind_name(info.param);
  }
};

}  // namespace orderflow::testing

/// Runs every TEST_P of `suite` (a fixture deriving from ::testing::TestWithParam<DatabaseKind>)
/// on SQLite and on the shared PostgreSQL server: Suite.Test/Sqlite, Suite.Test/Postgres.
#define ORDERFLOW_ON_BOTH_DATABASES(suite)                                                   \
  INSTANTIATE_TEST_SUITE_P(, suite,                                                          \
                           ::testing::Values(::orderflow::testing::DatabaseKind::kSqlite,    \
                                             ::orderflow::testing::DatabaseKind::kPostgres), \
                           ::orderflow::testing::DatabaseKindParamName())

/// Runs every TEST_P of `suite` on the shared PostgreSQL server only (Suite.Test/Postgres): for
/// PostgreSQL-specific behaviour (SQLSTATE classes, reconnect, advisory locks).
#define ORDERFLOW_ON_POSTGRES_ONLY(suite)                                                    \
  INSTANTIATE_TEST_SUITE_P(, suite,                                                          \
                           ::testing::Values(::orderflow::testing::DatabaseKind::kPostgres), \
                           ::orderflow::testing::DatabaseKindParamName())
