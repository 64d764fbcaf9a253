#pragma once

#include <map>
#include <string>

#include "orderflow/messaging/record.h"

namespace orderflow::config {

/// librdkafka settings that differ between brokers (ARCHITECTURE.md: "configuration profiles,
/// never constants in library code"): one named section of config/kafka-profiles.yaml, e.g.
/// `embedded` (librdkafka's mock cluster) or `cluster` (a real Kafka cluster).
struct KafkaProfile {
  std::string name;
  std::map<std::string, std::string> properties;  ///< producers and consumers
  std::map<std::string, std::string> consumer;    ///< consumers only (fetch.wait.max.ms, …)
  std::map<std::string, std::string> producer;    ///< producers only (linger.ms, …)
};

/// The profiles file of the source tree this binary was built from (config/kafka-profiles.yaml).
std::string default_kafka_profiles_file();

/// Reads profile `name` from `file` ("" = default_kafka_profiles_file()). Each profile is a map
/// with optional `properties`, `consumer` and `producer` maps of librdkafka property → scalar.
/// Throws ConfigError naming the file when it cannot be read, the profile does not exist (the
/// message lists the ones that do) or a section has an unknown key. Thread-safe.
KafkaProfile load_kafka_profile(const std::string& name, const std::string& file = "");

/// Adds the profile's settings to `kafka` where `kafka` does not set the same property itself:
/// a key in kafka.properties, or in kafka.consumer/producer for the matching side, always wins
/// over the profile. Pure; no I/O.
void apply_kafka_profile(const KafkaProfile& profile, messaging::KafkaConfig& kafka);

}  // namespace orderflow::config
