#pragma once

#include <string>
#include <vector>

#include "orderflow/config/config.h"
#include "orderflow/http/outbound.h"
#include "orderflow/messaging/idempotency_store.h"

namespace orderflow::notification {

/// The channels notification.channels may name.
inline const std::vector<std::string> kChannels = {"log", "webhook", "discord", "slack"};
/// The sink's consumer group (its own offsets, retries and dead letters).
inline constexpr const char* kSinkGroup = "data-platform-sink";

/// notification-service's configuration (docs/operations.md "Notification channels").
struct NotificationSettings {
  config::ServiceConfig common;
  std::string templates_file;
  std::string locale;
  std::vector<std::string> channels;  ///< notification.channels, each one of kChannels, once
  std::string webhook_url;            ///< notification.webhook.url
  std::string discord_url;            ///< notification.discord.url
  std::string slack_url;              ///< notification.slack.url
  std::string fail_user_prefix;
  bool sink_enabled = false;  ///< sink.enabled
  std::string sink_url;       ///< sink.url
  /// sink.group_id: the sink's consumer group (default kSinkGroup); its offsets, retries and
  /// dead letters are apart from the notifications' group.
  std::string sink_group = kSinkGroup;
  /// outbound.connect_timeout_ms, outbound.timeout_ms (channels and sink).
  http::OutboundOptions outbound;
  std::string idempotency_store = "db";  ///< idempotency.store: db | redis
  messaging::RedisOptions redis;         ///< redis.url, redis.key_prefix, redis.ttl_ms

  /// The configured URL of an HTTP channel ("" for log).
  [[nodiscard]] const std::string& url_of(const std::string& channel) const;
};

/// Reads and checks the settings. Throws config::ConfigError naming the key and the value for
/// an unknown or repeated channel, a listed HTTP channel without a valid http(s) URL, an
/// enabled sink without one, an invalid redis.url (with idempotency.store redis) and the usual
/// config errors (unknown keys, bad values).
NotificationSettings read_notification_settings(const config::Source& source);

}  // namespace orderflow::notification
