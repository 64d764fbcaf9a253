#include "settings.h"

#include <algorithm>

namespace orderflow::notification {
namespace {

void require_url(const std::string& key, const std::string& url) {
  if (url.empty()) throw config::ConfigError("config: " + key + " is required");
  if (auto valid = http::validate_url(url); !valid) {
    throw config::ConfigError("config: " + key + ": " + valid.error().message);
  }
}

}  // namespace

const std::string& NotificationSettings::url_of(const std::string& channel) const {
  static const std::string kNone;
  if (channel == "webhook") return webhook_url;
  if (channel == "discord") return discord_url;
  if (channel == "slack") return slack_url;
  return kNone;
}

NotificationSettings read_notification_settings(const config::Source& source) {
  config::Reader reader(source);
  NotificationSettings s;
  s.common = config::read_service_config(reader, "notification-service", 8083);
  s.common.consumer.group_id = reader.string("consumer.group_id", "notification-service");
  s.common.consumer.topics =
      reader.string_list("consumer.topics", {s.common.topics.orders, s.common.topics.payments});
  s.templates_file = config::resolve_path(
      source, reader.string("notification.templates_file",
                            config::default_config_dir() + "/notification-templates.yaml"));
  s.locale = reader.string("notification.locale", "en");
  s.channels = reader.string_list("notification.channels", {"log"});
  s.webhook_url = reader.string("notification.webhook.url", "");
  s.discord_url = reader.string("notification.discord.url", "");
  s.slack_url = reader.string("notification.slack.url", "");
  std::vector<std::string> listed;
  for (const auto& c : s.channels) {
    if (std::find(kChannels.begin(), kChannels.end(), c) == kChannels.end()) {
      throw config::ConfigError("config: notification.channels: unknown channel '" + c +
                                "' (available: log, webhook, discord, slack)");
    }
    if (std::find(listed.begin(), listed.end(), c) != listed.end()) {
      throw config::ConfigError("config: notification.channels: channel '" + c +
                                "' is listed twice");
    }
    listed.push_back(c);
    if (c != "log") require_url("notification." + c + ".url", s.url_of(c));
  }
  s.fail_user_prefix = reader.string("notification.faults.fail_user_prefix", "");
  s.sink_enabled = reader.boolean("sink.enabled", false);
  s.sink_url = reader.string("sink.url", "");
  s.sink_group = reader.string("sink.group_id", kSinkGroup);
  if (s.sink_group.empty()) throw config::ConfigError("config: sink.group_id: must not be empty");
  if (s.sink_enabled) require_url("sink.url", s.sink_url);
  s.outbound.connect_timeout = reader.millis(
      "outbound.connect_timeout_ms", s.outbound.connect_timeout, std::chrono::milliseconds{1});
  s.outbound.total_timeout =
      reader.millis("outbound.timeout_ms", s.outbound.total_timeout, std::chrono::milliseconds{1});
  s.idempotency_store = reader.choice("idempotency.store", "db", {"db", "redis"});
  s.redis.url = reader.string("redis.url", s.redis.url);
  s.redis.key_prefix = reader.string("redis.key_prefix", s.redis.key_prefix);
  s.redis.ttl = reader.millis("redis.ttl_ms", s.redis.ttl, std::chrono::milliseconds{1});
  if (s.idempotency_store == "redis") {
    if (auto address = messaging::parse_redis_url(s.redis.url); !address) {
      throw config::ConfigError("config: redis.url: " + address.error().message);
    }
  }
  reader.finish();
  return s;
}

}  // namespace orderflow::notification
