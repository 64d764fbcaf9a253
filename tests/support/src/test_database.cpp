#include "orderflow/testing/test_database.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "postgres_server.h"

namespace orderflow::testing {

std::string database_kind_name(DatabaseKind kind) {
  return kind == DatabaseKind::kPostgres ? "Postgres" : "Sqlite";
}

DatabaseKind database_kind_from_name(const std::string& name) {
  if (name == "Sqlite") return DatabaseKind::kSqlite;
  if (name == "Postgres") return DatabaseKind::kPostgres;
  throw std::invalid_argument("no database kind " + name);
}

namespace {
using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
}  // namespace

std::string postgres_query(const std::string& url, const std::string& sql) {
  Connection conn(PQconnectdb(url.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("cannot connect to postgres: ") +
                             PQerrorMessage(conn.get()));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
  auto status = PQresultStatus(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw std::runtime_error(sql + ": " + PQresultErrorMessage(result.get()));
  }
  if (status != PGRES_TUPLES_OK || PQntuples(result.get()) == 0) return "";
  return PQgetvalue(result.get(), 0, 0);
}

bool postgres_connects(const std::string& url) {
  Connection conn(PQconnectdb(url.c_str()), &PQfinish);
  return PQstatus(conn.get()) == CONNECTION_OK;
}

std::string shared_postgres_url() {
  const char* file = std::getenv(kPostgresUrlFileEnv);
  if (file == nullptr || *file == '\0') return "";
  std::ifstream in(file);
  std::string url;
  std::getline(in, url);
  if (url.empty()) {
    throw std::runtime_error(std::string("no URL in ") + file +
                             ": the shared PostgreSQL server (orderflow-test-postgres) is not up");
  }
  return url;
}

TestDatabase::TestDatabase(DatabaseKind kind) : kind_(kind) {
  if (kind_ == DatabaseKind::kSqlite) {
    dir_ = std::make_unique<TempDir>();
    name_ = dir_->file("test.db");
    return;
  }
  server_url_ = shared_postgres_url();
  if (server_url_.empty()) {
    throw std::runtime_error(
        std::string("a /Postgres test needs the shared server: run it through ctest (label "
                    "postgres), or start build/tests/orderflow-test-postgres start --dir DIR and "
                    "set ") +
        kPostgresUrlFileEnv + "=DIR/url");
  }
  // Unquoted identifiers are lower case: keep the name usable in psql as it is.
  name_ = unique_name("test");
  std::replace(name_.begin(), name_.end(), '-', '_');
  auto scheme = server_url_.find("://");
  auto path = server_url_.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path == std::string::npos) throw std::runtime_error("no database in URL of the test server");
  url_ = server_url_.substr(0, path) + "/" + name_;
  cli::ensure_postgres_database(server_url_, name_);
}

TestDatabase::~TestDatabase() {
  if (kind_ != DatabaseKind::kPostgres) return;
  // DROP DATABASE waits for a checkpoint (about 1 s with fsync on): the test does not wait
  // for it. The statement is sent whole, then the connection closed; the server finishes it.
  Connection conn(PQconnectdb(server_url_.c_str()), &PQfinish);
  std::string drop = "DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)";
  if (PQstatus(conn.get()) != CONNECTION_OK || PQsendQuery(conn.get(), drop.c_str()) != 1 ||
      PQflush(conn.get()) != 0) {
    ADD_FAILURE() << "dropping test database " << name_ << ": " << PQerrorMessage(conn.get());
  }
}

storage::StorageConfig TestDatabase::storage_config() const {
  storage::StorageConfig config;
  if (kind_ == DatabaseKind::kPostgres) {
    config.backend = "postgres";
    config.postgres_url = url_;
  } else {
    config.backend = "sqlite";
    config.sqlite_path = name_;
  }
  return config;
}

}  // namespace orderflow::testing
