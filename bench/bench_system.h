#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "load_generator.h"
#include "system.h"

namespace orderflow::bench {

/// Product i (0-based) of the bench's catalog: BENCH-1, BENCH-2, …
std::string bench_sku(std::int64_t i);

/// Writes <dir>/bench-catalog.yaml (dir must exist): `skus` products (at least one) of 10^9
/// units each, so that no order is rejected for stock. Returns the file's path.
std::string write_catalog(const std::string& dir, int skus);

/// The dev system of <source_dir>/config/orderflow.yaml as the bench runs it: data under
/// `data_dir`, executables from `bin_dir`, every service on port 0 with `replicas` instances,
/// order- and inventory-service on `catalog` (write_catalog()), the simulated payment
/// provider's round trip set to 0 (it is not orderflow's cost), then `overrides` (key=value,
/// passed as --set) for every service. `only` non-empty: that service alone (with the broker).
/// Throws config::ConfigError on a bad configuration file.
cli::SystemSpec bench_system_spec(const std::string& source_dir, const std::string& bin_dir,
                                  const std::string& data_dir, const std::string& catalog,
                                  const std::vector<std::string>& overrides,
                                  const std::string& only = {}, int replicas = 1);

/// Every running instance of order-service: order-service, order-service-2, …
/// (cli::instance_name), in that order.
std::vector<cli::Endpoint> order_endpoints(const cli::System& system);

/// POST /api/orders spread over `servers` (one connection in turn to each; at least one),
/// order i buying one unit of bench_sku(i mod skus). Mode, rate, duration and connections are
/// LoadOptions' defaults.
LoadOptions order_load(const std::vector<cli::Endpoint>& servers, int skus);

}  // namespace orderflow::bench
