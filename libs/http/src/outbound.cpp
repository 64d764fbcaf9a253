#include "orderflow/http/outbound.h"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace orderflow::http {
namespace {

// curl_global_init is not thread-safe; it must run once before the first handle.
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::string* body;
  std::size_t limit;
  bool truncated = false;
};

// Keeps the first `limit` bytes and drops the rest (returning the full size tells curl it was
// consumed, so the transfer goes on without buffering).
std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  const std::size_t room = sink->limit - std::min(sink->limit, sink->body->size());
  if (n > room) sink->truncated = true;
  sink->body->append(data, std::min(n, room));
  return n;
}

}  // namespace

Result<void> validate_url(const std::string& url) {
  global_init();
  auto invalid = [&](const std::string& why) {
    return invalid_input("INVALID_URL", "invalid URL '" + url + "': " + why);
  };
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> handle(curl_url(), curl_url_cleanup);
  if (!handle) return internal_error("CURL_INIT", "curl_url() failed");
  if (curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return invalid("not an absolute URL");
  }
  char* scheme = nullptr;
  std::string s;
  if (curl_url_get(handle.get(), CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
    s = scheme;
    curl_free(scheme);
  }
  if (s != "http" && s != "https") return invalid("the scheme must be http or https");
  char* host = nullptr;
  if (curl_url_get(handle.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    return invalid("no host");
  }
  bool empty = host == nullptr || *host == '\0';
  curl_free(host);
  if (empty) return invalid("no host");
  return {};
}

Result<OutboundResponse> post(const std::string& url, const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              const OutboundOptions& options) {
  global_init();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return internal_error("CURL_INIT", "curl_easy_init() failed");
  curl_slist* list = nullptr;
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    if (strcasecmp(name.c_str(), "content-type") == 0) has_content_type = true;
    list = curl_slist_append(list, (name + ": " + value).c_str());
  }
  if (!has_content_type) list = curl_slist_append(list, "Content-Type: application/json");
  // Without it curl sends "Expect: 100-continue" for larger bodies and waits for the answer.
  list = curl_slist_append(list, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(list,
                                                                          curl_slist_free_all);
  OutboundResponse response;
  Sink sink{&response.body, options.max_response_bytes};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  // Worker threads: no signals for the resolver's timeouts.
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "orderflow");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    std::string what = "POST " + url + ": " + curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) return unavailable("HTTP_TIMEOUT", what);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
      return unavailable("HTTP_CONNECT_FAILED", what);
    }
    return unavailable("HTTP_FAILED", what);
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  response.truncated = sink.truncated;
  return response;
}

Error status_error(const std::string& what, const OutboundResponse& response) {
  std::string code = "HTTP_" + std::to_string(response.status);
  std::string message = what + " answered HTTP " + std::to_string(response.status) + ": " +
                        response.body + (response.truncated ? "…" : "");
  bool transient = response.status >= 500 || response.status == 408 || response.status == 429;
  if (transient) return unavailable(std::move(code), std::move(message));
  return unprocessable(std::move(code), std::move(message));
}

}  // namespace orderflow::http
