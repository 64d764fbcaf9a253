#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "../../app/ports.h"
#include "orderflow/http/outbound.h"

namespace orderflow::notification {

/// The body of the `webhook` channel: the notification as JSON, {"id", "userId", "type",
/// "message", "orderId", "sourceEventId", "createdAt"}. Pure.
nlohmann::json webhook_payload(const Notification& n);
/// The body of the `discord` channel (Discord's execute-webhook): {"content": message (cut to
/// Discord's 2000 characters), "embeds": [{"title": type, "description": message, "fields":
/// [{"name": "Order", "value": orderId, "inline": true}, {"name": "User", "value": userId,
/// "inline": true}], "timestamp": createdAt}]}. Pure.
nlohmann::json discord_payload(const Notification& n);
/// The body of the `slack` channel (Slack's incoming webhook): {"text": message, "blocks":
/// [{"type": "section", "text": {"type": "mrkdwn", "text": "*<type>*\n<message>"}},
/// {"type": "context", "elements": [{"type": "mrkdwn", "text": "order <orderId> · user
/// <userId>"}]}]}. Pure.
nlohmann::json slack_payload(const Notification& n);

/// A channel that POSTs a JSON body to a URL (libcurl, http::post): webhook, discord, slack.
/// 2xx = delivered; 5xx, 408, 429 and no answer (timeout, connect failure) are technical
/// (kUnavailable, tried again); another status is a refusal (kUnprocessable, not tried again),
/// with the status and the (cut) body in the message. Every request carries an
/// Idempotency-Key `<sourceEventId>:<userId>` so a receiver can drop the repeat a crash between
/// send and record can cause, and the notification's `traceparent` (when it has one). Thread-safe.
class HttpNotifier final : public Notifier {
 public:
  using Payload = std::function<nlohmann::json(const Notification&)>;
  HttpNotifier(std::string channel, std::string url, Payload payload, http::OutboundOptions options)
      : channel_(std::move(channel)),
        url_(std::move(url)),
        payload_(std::move(payload)),
        options_(options) {}
  [[nodiscard]] std::string channel() const override { return channel_; }
  ChannelAttempt send(const Notification& notification) override;

 private:
  std::string channel_;
  std::string url_;
  Payload payload_;
  http::OutboundOptions options_;
};

/// The payload of a known HTTP channel ("webhook", "discord", "slack"); empty for another name.
HttpNotifier::Payload payload_for(const std::string& channel);

}  // namespace orderflow::notification
