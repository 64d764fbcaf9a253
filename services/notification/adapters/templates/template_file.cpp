#include "template_file.h"

#include <yaml-cpp/yaml.h>

#include "orderflow/config/config.h"

namespace orderflow::notification {

Templates load_templates(const std::string& path, const std::string& locale) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw config::ConfigError("templates " + path + ": " + e.what());
  }
  auto node = root[locale];
  if (!node || !node.IsMap()) {
    throw config::ConfigError("templates " + path + ": no locale '" + locale + "'");
  }
  std::map<std::string, std::string> by_type;
  for (const auto& kv : node) by_type[kv.first.as<std::string>()] = kv.second.as<std::string>();
  return Templates(std::move(by_type));
}

}  // namespace orderflow::notification
