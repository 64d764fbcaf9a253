#include "orderflow/runtime/endpoints_file.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace orderflow::runtime {
namespace {

Error invalid(const std::string& path, const std::string& what) {
  return invalid_input("ENDPOINTS_INVALID", path + ": " + what);
}

// A present "host" or "url" that is no usable text is a broken file, not a default.
Result<std::string> text_or(const nlohmann::json& instance, const char* key, std::string fallback,
                            const std::string& path, const std::string& where) {
  auto it = instance.find(key);
  if (it == instance.end()) return fallback;
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    return invalid(path, where + "." + key + " must be a non-empty string");
  }
  return it->get<std::string>();
}

}  // namespace

Result<std::map<std::string, ServiceEndpoint>> read_endpoints_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return not_found("ENDPOINTS_MISSING",
                     path + " does not exist (a running `orderflow up` writes it)");
  }
  std::ifstream in(path);
  if (!std::filesystem::is_regular_file(path, ec) || !in) {
    return unavailable("ENDPOINTS_UNREADABLE", path + ": cannot be read as a file");
  }
  auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return invalid(path, "not JSON");
  auto services = doc.is_object() ? doc.find("services") : doc.end();
  if (!doc.is_object() || services == doc.end() || !services->is_object()) {
    return invalid(path, "must be an object with a \"services\" object");
  }
  std::map<std::string, ServiceEndpoint> out;
  for (const auto& [name, instance] : services->items()) {
    const auto where = "services." + name;
    if (!instance.is_object()) return invalid(path, where + " must be an object");
    auto port = instance.find("port");
    if (port == instance.end() || !port->is_number_integer() || port->get<std::int64_t>() < 1 ||
        port->get<std::int64_t>() > 65535) {
      return invalid(path, where + ".port must be an integer 1..65535");
    }
    ServiceEndpoint endpoint;
    endpoint.port = port->get<std::uint16_t>();
    auto host = text_or(instance, "host", "127.0.0.1", path, where);
    if (!host) return host.error();
    endpoint.host = std::move(host).value();
    auto url =
        text_or(instance, "url", "http://" + endpoint.host + ":" + std::to_string(endpoint.port),
                path, where);
    if (!url) return url.error();
    endpoint.url = std::move(url).value();
    out.emplace(name, std::move(endpoint));
  }
  return out;
}

}  // namespace orderflow::runtime
