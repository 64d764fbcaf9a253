#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace orderflow::messaging {

struct Header {
  std::string key;
  std::string value;
};
using Headers = std::vector<Header>;

/// First value of header `key`, if present.
std::optional<std::string> find_header(const Headers& headers, std::string_view key);

/// A record to produce. `key` decides the partition (orderId for order events).
struct OutgoingRecord {
  std::string topic;
  std::string key;
  std::string value;
  Headers headers;
};

/// A record as consumed, with its coordinates.
struct ConsumedRecord {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  Headers headers;
  std::int64_t timestamp_ms = 0;
};

/// Connection settings shared by producers and consumers (config section `kafka`).
struct KafkaConfig {
  /// host:port list. Empty means: read `<data_dir>/broker.bootstrap` (embedded broker).
  std::string bootstrap_servers;
  std::string client_id;
  /// Extra librdkafka properties, applied last (e.g. security.protocol, sasl.*,
  /// fetch.wait.max.ms, linger.ms, compression.type).
  std::map<std::string, std::string> properties;
  /// Applied after `properties`, to producers only (e.g. linger.ms, compression.type).
  std::map<std::string, std::string> producer_properties;
  /// Applied after `properties`, to consumers only (e.g. fetch.wait.max.ms).
  std::map<std::string, std::string> consumer_properties;
};

}  // namespace orderflow::messaging
