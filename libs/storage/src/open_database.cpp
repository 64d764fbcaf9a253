#include <stdexcept>
#include <string>

#include "orderflow/storage/database.h"
#include "sqlite_database.h"

namespace orderflow::storage {

std::unique_ptr<Database> open_database(const StorageConfig& config) {
  if (config.backend == "sqlite") return detail::open_sqlite_database(config);
  if (config.backend == "postgres") {
    // TODO(storage): PostgreSQL adapter on libpq behind the same Database/Tx port: rewrite `?`
    // placeholders to $n, BEGIN for write()/BEGIN READ ONLY for read(), map SQLSTATE 40001,
    // 40P01 and class 08 to kUnavailable and class 23 to kConflict, accept several statements
    // in a parameterless exec() (migrations), report Dialect::kPostgres.
    throw std::runtime_error("postgres backend not built yet");
  }
  throw std::runtime_error("unknown storage backend '" + config.backend +
                           "' (expected sqlite or postgres)");
}

}  // namespace orderflow::storage
