#include "http_data_platform_client.h"

namespace orderflow::notification {

Result<void> HttpDataPlatformClient::send(const std::string& idempotency_key,
                                          const std::string& body) {
  auto response = http::post(url_, body, {{"Idempotency-Key", idempotency_key}}, options_);
  if (!response) return response.error();
  if (response->status >= 200 && response->status < 300) return {};
  return http::status_error("data-platform sink", response.value());
}

}  // namespace orderflow::notification
