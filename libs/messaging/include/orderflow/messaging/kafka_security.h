#pragma once

#include <string>

#include "orderflow/messaging/record.h"

namespace orderflow::messaging {

/// Makes `config` authenticate as `username` with SASL `mechanism` (SCRAM-SHA-256,
/// SCRAM-SHA-512 or PLAIN): sets sasl.username, sasl.password and, unless `properties` already
/// name them, sasl.mechanisms and security.protocol (SASL_PLAINTEXT; SASL_SSL must be set in
/// `properties`). Nothing is checked here: a wrong password is the broker's answer.
void set_sasl_credentials(KafkaConfig& config, const std::string& username,
                          const std::string& password,
                          const std::string& mechanism = "SCRAM-SHA-256");

}  // namespace orderflow::messaging
