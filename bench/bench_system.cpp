#include "bench_system.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace orderflow::bench {

namespace fs = std::filesystem;

std::string bench_sku(std::int64_t i) { return "BENCH-" + std::to_string(i + 1); }

std::string write_catalog(const std::string& dir, int skus) {
  auto path = (fs::path(dir) / "bench-catalog.yaml").string();
  std::ofstream out(path);
  out << "currency: KRW\nproducts:\n";
  for (int i = 0; i < std::max(1, skus); ++i) {
    out << "  - {sku: " << bench_sku(i)
        << ", name: \"Bench item\", unitPrice: \"1000\", stock: 1000000000}\n";
  }
  return path;
}

cli::SystemSpec bench_system_spec(const std::string& source_dir, const std::string& bin_dir,
                                  const std::string& data_dir, const std::string& catalog,
                                  const std::vector<std::string>& overrides,
                                  const std::string& only, int replicas) {
  auto spec = cli::load_system_spec(source_dir + "/config/orderflow.yaml", data_dir, bin_dir);
  std::vector<cli::ServiceSpec> services;
  for (auto& s : spec.services) {
    if (!only.empty() && s.name != only) continue;
    s.port = 0;
    s.replicas = replicas;
    if (s.name == "order-service") s.overrides.push_back("order.catalog_file=" + catalog);
    if (s.name == "inventory-service") s.overrides.push_back("inventory.catalog_file=" + catalog);
    // The simulated provider's round trip is not orderflow's cost (docs/benchmarks.md).
    if (s.name == "payment-service") s.overrides.push_back("payment.gateway.latency_ms=0");
    for (const auto& o : overrides) s.overrides.push_back(o);
    services.push_back(s);
  }
  spec.services = std::move(services);
  return spec;
}

std::vector<cli::Endpoint> order_endpoints(const cli::System& system) {
  std::vector<cli::Endpoint> out;
  for (int i = 1;; ++i) {
    auto it = system.endpoints().find(cli::instance_name("order-service", i));
    if (it == system.endpoints().end()) return out;
    out.push_back(it->second);
  }
}

LoadOptions order_load(const std::vector<cli::Endpoint>& servers, int skus) {
  LoadOptions load;
  load.host = servers.at(0).host;
  load.port = servers.at(0).port;
  for (std::size_t i = 1; i < servers.size(); ++i)
    load.more_servers.emplace_back(servers[i].host, servers[i].port);
  skus = std::max(1, skus);
  load.body = [skus](std::int64_t i) { return order_body(bench_sku(i % skus), i); };
  return load;
}

}  // namespace orderflow::bench
