#include "orderflow/config/catalog.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "orderflow/config/config.h"

namespace orderflow::config {

CatalogFile load_catalog(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw ConfigError("catalog " + path + ": " + e.what());
  }
  CatalogFile out;
  out.currency = root["currency"] ? root["currency"].as<std::string>() : "KRW";
  if (!root["products"] || !root["products"].IsSequence()) {
    throw ConfigError("catalog " + path + ": 'products' must be a list");
  }
  std::set<std::string> seen;
  std::size_t index = 0;
  for (const auto& node : root["products"]) {
    std::string where = "catalog " + path + ": products[" + std::to_string(index++) + "]";
    if (!node.IsMap() || !node["sku"] || node["sku"].as<std::string>().empty()) {
      throw ConfigError(where + ": sku is required");
    }
    CatalogEntry entry;
    entry.sku = node["sku"].as<std::string>();
    if (!seen.insert(entry.sku).second) throw ConfigError(where + ": duplicate sku " + entry.sku);
    entry.name = node["name"] ? node["name"].as<std::string>() : entry.sku;
    auto price_text = node["unitPrice"] ? node["unitPrice"].as<std::string>() : "";
    auto price = Decimal::parse(price_text);
    if (!price || price->is_negative()) {
      throw ConfigError(where + ": unitPrice '" + price_text + "' is not an exact decimal ≥ 0");
    }
    entry.unit_price = *price;
    try {
      entry.stock = node["stock"] ? node["stock"].as<std::int64_t>() : 0;
    } catch (const YAML::Exception&) {
      throw ConfigError(where + ": stock must be an integer");
    }
    if (entry.stock < 0) throw ConfigError(where + ": stock must not be negative");
    out.products.push_back(std::move(entry));
  }
  return out;
}

}  // namespace orderflow::config
