#include "http_data_platform_client.h"

namespace orderflow::notification {

Result<void> HttpDataPlatformClient::send(const std::string& idempotency_key,
                                          const std::string& body, const std::string& traceparent) {
  std::vector<std::pair<std::string, std::string>> headers{{"Idempotency-Key", idempotency_key}};
  if (!traceparent.empty()) headers.emplace_back("traceparent", traceparent);
  auto response = http::post(url_, body, headers, options_);
  if (!response) return response.error();
  if (response->status >= 200 && response->status < 300) return {};
  return http::status_error("data-platform sink", response.value());
}

}  // namespace orderflow::notification
