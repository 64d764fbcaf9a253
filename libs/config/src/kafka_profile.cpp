#include "orderflow/config/kafka_profile.h"

#include <yaml-cpp/yaml.h>

#include "orderflow/config/config.h"

namespace orderflow::config {

namespace {

std::map<std::string, std::string> read_section(const YAML::Node& profile,
                                                const std::string& section,
                                                const std::string& where) {
  std::map<std::string, std::string> out;
  const auto node = profile[section];
  if (!node) return out;
  if (!node.IsMap()) throw ConfigError(where + "." + section + " is not a map");
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    if (!entry.second.IsScalar()) {
      throw ConfigError(where + "." + section + "." + key + " is not a scalar");
    }
    out[key] = entry.second.as<std::string>();
  }
  return out;
}

// A profile key set by the user on the same side (or for both sides) is the user's.
void fill_missing(const std::map<std::string, std::string>& from,
                  const std::map<std::string, std::string>& shared,
                  std::map<std::string, std::string>& into) {
  for (const auto& [key, value] : from) {
    if (!shared.contains(key) && !into.contains(key)) into.emplace(key, value);
  }
}

}  // namespace

std::string default_kafka_profiles_file() { return default_config_dir() + "/kafka-profiles.yaml"; }

KafkaProfile load_kafka_profile(const std::string& name, const std::string& file) {
  const auto path = file.empty() ? default_kafka_profiles_file() : file;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw ConfigError("kafka profiles " + path + ": " + e.what());
  }
  if (!root.IsMap() || !root[name]) {
    std::string known;
    if (root.IsMap()) {
      for (const auto& entry : root)
        known += (known.empty() ? "" : ", ") + entry.first.as<std::string>();
    }
    throw ConfigError("kafka profiles " + path + ": no profile '" + name + "' (known: " + known +
                      ")");
  }
  const auto node = root[name];
  const auto where = "kafka profiles " + path + ": " + name;
  if (!node.IsMap()) throw ConfigError(where + " is not a map");
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    if (key != "properties" && key != "consumer" && key != "producer") {
      throw ConfigError(where + ": unknown key '" + key +
                        "' (allowed: properties, consumer, producer)");
    }
  }
  KafkaProfile profile;
  profile.name = name;
  profile.properties = read_section(node, "properties", where);
  profile.consumer = read_section(node, "consumer", where);
  profile.producer = read_section(node, "producer", where);
  return profile;
}

void apply_kafka_profile(const KafkaProfile& profile, messaging::KafkaConfig& kafka) {
  // Side-specific user keys shadow the profile's shared ones on that side only: the profile's
  // shared key still reaches the other side, so it moves to that side's map.
  for (const auto& [key, value] : profile.properties) {
    if (kafka.properties.contains(key)) continue;
    const bool consumer_set = kafka.consumer_properties.contains(key);
    const bool producer_set = kafka.producer_properties.contains(key);
    if (!consumer_set && !producer_set) {
      kafka.properties.emplace(key, value);
    } else if (!consumer_set) {
      kafka.consumer_properties.emplace(key, value);
    } else if (!producer_set) {
      kafka.producer_properties.emplace(key, value);
    }
  }
  fill_missing(profile.consumer, kafka.properties, kafka.consumer_properties);
  fill_missing(profile.producer, kafka.properties, kafka.producer_properties);
}

}  // namespace orderflow::config
