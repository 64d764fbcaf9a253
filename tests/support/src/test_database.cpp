#include "orderflow/testing/test_database.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <thread>
#include <vector>

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
using QueryResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

constexpr auto kSparePollInterval = std::chrono::milliseconds(100);
constexpr auto kSpareRetryInterval = std::chrono::seconds(1);

std::vector<std::string> spare_databases(PGconn* conn) {
  std::string sql = std::string("SELECT datname FROM pg_database WHERE starts_with(datname, '") +
                    kSpareDatabasePrefix + "') ORDER BY oid";
  QueryResult result(PQexec(conn, sql.c_str()), &PQclear);
  std::vector<std::string> names;
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error(std::string("listing spare databases: ") +
                             PQresultErrorMessage(result.get()));
  }
  for (int i = 0; i < PQntuples(result.get()); ++i)
    names.emplace_back(PQgetvalue(result.get(), i, 0));
  return names;
}

// Renames a spare database of the fixture to `name`; false when there is none left. Another
// test may claim the same one first: its rename then fails here and the next one is tried.
bool claim_spare_database(const std::string& server_url, const std::string& name) {
  Connection conn(PQconnectdb(server_url.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) return false;
  for (const auto& spare : spare_databases(conn.get())) {
    std::string rename = "ALTER DATABASE \"" + spare + "\" RENAME TO \"" + name + "\"";
    QueryResult result(PQexec(conn.get(), rename.c_str()), &PQclear);
    if (PQresultStatus(result.get()) == PGRES_COMMAND_OK) return true;
  }
  return false;
}

}  // namespace

void keep_spare_databases(const std::string& server_url, int count, const std::atomic<bool>& stop) {
  int created = 0;
  while (!stop) {
    try {
      Connection conn(PQconnectdb(server_url.c_str()), &PQfinish);
      if (PQstatus(conn.get()) != CONNECTION_OK) {
        throw std::runtime_error(std::string("cannot connect: ") + PQerrorMessage(conn.get()));
      }
      while (!stop) {
        if (static_cast<int>(spare_databases(conn.get()).size()) >= count) {
          std::this_thread::sleep_for(kSparePollInterval);
          continue;
        }
        std::string create = std::string("CREATE DATABASE \"") + kSpareDatabasePrefix +
                             std::to_string(++created) + "\"";
        QueryResult result(PQexec(conn.get(), create.c_str()), &PQclear);
        if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
          throw std::runtime_error(create + ": " + PQresultErrorMessage(result.get()));
        }
      }
    } catch (const std::exception& e) {
      std::cerr << "spare test databases: " << e.what() << std::endl;
      std::this_thread::sleep_for(kSpareRetryInterval);
    }
  }
}

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
  if (!claim_spare_database(server_url_, name_)) cli::ensure_postgres_database(server_url_, name_);
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
