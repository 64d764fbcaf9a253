#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "orderflow/common/result.h"

namespace orderflow::runtime {

/// One service instance of endpoints.json.
struct ServiceEndpoint {
  std::string host;        ///< the file's "host", "127.0.0.1" when it names none
  std::uint16_t port = 0;  ///< 1..65535
  std::string url;         ///< the file's "url", else "http://<host>:<port>"
};

/// The service instances, by instance name, of the endpoints.json a running `orderflow up`
/// keeps in its data dir: {"services":{"<instance>":{"host":"127.0.0.1","port":8080,
/// "url":"http://127.0.0.1:8080"}, …}, "kafka":{…}} ("host" and "url" optional, other keys
/// ignored). Errors are values whose message names `path` and the offending entry:
/// kNotFound ENDPOINTS_MISSING when the file does not exist (no system runs), kUnavailable
/// ENDPOINTS_UNREADABLE when it cannot be read (a directory, no permission), kInvalidInput
/// ENDPOINTS_INVALID when it is not JSON or not of that shape (no "services" object, an instance
/// that is not an object, a port that is not an integer 1..65535, a host or url that is not a
/// non-empty string); one bad instance fails the whole file. Reads the file once per call (the
/// writer replaces it atomically, so a call sees one version whole). Thread-safe: no shared state.
Result<std::map<std::string, ServiceEndpoint>> read_endpoints_file(const std::string& path);

}  // namespace orderflow::runtime
