#pragma once

#include <memory>

#include "orderflow/storage/database.h"

namespace orderflow::storage::detail {

/// Opens the SQLite backend (internal to the storage library; callers use open_database).
/// Throws std::runtime_error when the file cannot be opened or the config is invalid.
std::unique_ptr<Database> open_sqlite_database(const StorageConfig& config);

}  // namespace orderflow::storage::detail
