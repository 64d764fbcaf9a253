// The config loader: Source::load of a YAML file with environment variables and --set
// overrides, then read_service_config, read_auth_config and Reader::finish, as every service
// starts. Input: the YAML text, then optionally a line "%%" followed by lines that are either
// "ORDERFLOW__A__B=v" (environment) or "a.b=v" (overrides). Every problem must be a
// ConfigError (a start-up failure with a message), never another exception or a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "orderflow/config/config.h"

namespace config = orderflow::config;

namespace {

std::string temp_file() {
  return "/tmp/orderflow-fuzz-config-" + std::to_string(::getpid()) + ".yaml";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view yaml = input;
  std::map<std::string, std::string> env;
  std::vector<std::string> overrides;
  if (auto split = input.find("\n%%\n"); split != std::string_view::npos) {
    yaml = input.substr(0, split + 1);
    auto rest = input.substr(split + 4);
    while (!rest.empty()) {
      auto newline = rest.find('\n');
      std::string line(rest.substr(0, newline));
      rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
      if (line.rfind("ORDERFLOW__", 0) == 0) {
        auto eq = line.find('=');
        env[line.substr(0, eq)] = eq == std::string::npos ? "" : line.substr(eq + 1);
      } else {
        overrides.push_back(line);
      }
    }
  }
  static const std::string file = temp_file();
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(yaml.data(), static_cast<std::streamsize>(yaml.size()));
  }
  try {
    auto source = config::Source::load(file, env, overrides);
    (void)source.leaf_paths();
    (void)source.keys("");
    (void)source.flat_map("kafka.properties");
    config::Reader reader(source);
    auto service = config::read_service_config(reader, "order-service", 8080);
    auto auth = config::read_auth_config(reader);
    (void)service.name.size();
    (void)auth.issuer.size();
    reader.finish();
  } catch (const config::ConfigError&) {
  }
  return 0;
}
