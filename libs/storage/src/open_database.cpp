#include <stdexcept>
#include <string>

#include "orderflow/storage/database.h"
#include "postgres_database.h"
#include "sqlite_database.h"

namespace orderflow::storage {

std::unique_ptr<Database> open_database(const StorageConfig& config) {
  if (config.backend == "sqlite") return detail::open_sqlite_database(config);
  if (config.backend == "postgres") return detail::open_postgres_database(config);
  throw std::runtime_error("unknown storage backend '" + config.backend +
                           "' (expected sqlite or postgres)");
}

}  // namespace orderflow::storage
