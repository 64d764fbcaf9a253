#include "orderflow/messaging/record.h"

#include "orderflow/messaging/kafka_security.h"

namespace orderflow::messaging {

std::optional<std::string> find_header(const Headers& headers, std::string_view key) {
  for (const auto& header : headers) {
    if (header.key == key) return header.value;
  }
  return std::nullopt;
}

void set_sasl_credentials(KafkaConfig& config, const std::string& username,
                          const std::string& password, const std::string& mechanism) {
  config.properties["sasl.username"] = username;
  config.properties["sasl.password"] = password;
  config.properties.try_emplace("sasl.mechanisms", mechanism);
  config.properties.try_emplace("security.protocol", "SASL_PLAINTEXT");
}

}  // namespace orderflow::messaging
