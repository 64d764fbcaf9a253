#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "orderflow/common/decimal.h"

namespace orderflow::config {

/// One product of the bundled catalog file (catalog/products.yaml).
struct CatalogEntry {
  std::string sku;
  std::string name;
  Decimal unit_price;
  std::int64_t stock = 0;
};

struct CatalogFile {
  std::string currency;
  std::vector<CatalogEntry> products;
};

/// Loads a catalog file: `currency: KRW` and `products: [{sku, name, unitPrice, stock}]`.
/// Throws ConfigError naming the file and the entry for a missing/duplicate sku, a price that
/// is not an exact decimal ≥ 0, or a negative stock.
CatalogFile load_catalog(const std::string& path);

}  // namespace orderflow::config
