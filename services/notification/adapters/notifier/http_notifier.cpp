#include "http_notifier.h"

namespace orderflow::notification {
namespace {

constexpr std::size_t kDiscordContentLimit = 2000;

// Cut to at most `limit` bytes without splitting a UTF-8 sequence (Discord counts characters;
// bytes are never fewer).
std::string cut_utf8(const std::string& text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

nlohmann::json webhook_payload(const Notification& n) {
  return {{"id", n.id},
          {"userId", n.user_id},
          {"type", n.type},
          {"message", n.message},
          {"orderId", n.order_id},
          {"sourceEventId", n.source_event_id},
          {"createdAt", format_iso8601(n.created_at)}};
}

nlohmann::json discord_payload(const Notification& n) {
  nlohmann::json fields = nlohmann::json::array(
      {{{"name", "Order"}, {"value", std::to_string(n.order_id)}, {"inline", true}},
       {{"name", "User"}, {"value", n.user_id}, {"inline", true}}});
  nlohmann::json embed = {{"title", n.type},
                          {"description", n.message},
                          {"fields", std::move(fields)},
                          {"timestamp", format_iso8601(n.created_at)}};
  return {{"content", cut_utf8(n.message, kDiscordContentLimit)},
          {"embeds", nlohmann::json::array({std::move(embed)})}};
}

nlohmann::json slack_payload(const Notification& n) {
  nlohmann::json section = {
      {"type", "section"},
      {"text", {{"type", "mrkdwn"}, {"text", "*" + n.type + "*\n" + n.message}}}};
  nlohmann::json context = {
      {"type", "context"},
      {"elements", nlohmann::json::array({{{"type", "mrkdwn"},
                                           {"text", "order " + std::to_string(n.order_id) +
                                                        " · user " + n.user_id}}})}};
  return {{"text", n.message}, {"blocks", nlohmann::json::array({section, context})}};
}

HttpNotifier::Payload payload_for(const std::string& channel) {
  if (channel == "webhook") return webhook_payload;
  if (channel == "discord") return discord_payload;
  if (channel == "slack") return slack_payload;
  return {};
}

ChannelAttempt HttpNotifier::send(const Notification& n) {
  std::vector<std::pair<std::string, std::string>> headers{
      {"Idempotency-Key", n.source_event_id + ":" + n.user_id}};
  if (!n.traceparent.empty()) headers.emplace_back("traceparent", n.traceparent);
  auto response = http::post(url_, payload_(n).dump(), headers, options_);
  if (!response) {
    auto error = response.error();
    error.message = channel_ + ": " + error.message;
    return ChannelAttempt::failed(std::move(error));
  }
  if (response->status >= 200 && response->status < 300) {
    return ChannelAttempt::delivered(response->status);
  }
  return ChannelAttempt::failed(http::status_error(channel_, response.value()), response->status);
}

}  // namespace orderflow::notification
