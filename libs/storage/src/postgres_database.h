#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "orderflow/storage/database.h"

namespace orderflow::storage::detail {

/// The PostgreSQL backend (libpq). Connects once at start-up: throws std::runtime_error with
/// the server's message (never the password) when it cannot.
std::unique_ptr<Database> open_postgres_database(const StorageConfig& config);

/// Rewrites `?` placeholders to $1, $2, … outside string literals, quoted identifiers and
/// comments; `count`, when given, receives the number of placeholders.
std::string rewrite_placeholders(std::string_view sql, std::size_t* count = nullptr);

}  // namespace orderflow::storage::detail
