#pragma once

#include <string>

#include "../../app/ports.h"
#include "orderflow/http/outbound.h"

namespace orderflow::notification {

/// DataPlatformClient over HTTP (libcurl): POST `sink.url` with the JSON body, an
/// Idempotency-Key header and the `traceparent` header (when there is one). 2xx = ok; 5xx, 408, 429
/// and no answer are kUnavailable; another status is kUnprocessable with "data-platform sink
/// answered HTTP <status>: <body>" (the body cut at options.max_response_bytes). Thread-safe.
class HttpDataPlatformClient final : public DataPlatformClient {
 public:
  HttpDataPlatformClient(std::string url, http::OutboundOptions options)
      : url_(std::move(url)), options_(options) {}
  Result<void> send(const std::string& idempotency_key, const std::string& body,
                    const std::string& traceparent) override;

 private:
  std::string url_;
  http::OutboundOptions options_;
};

}  // namespace orderflow::notification
