#include "console_routes.h"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>

#include "dlq_routes.h"
#include "orderflow/http/client.h"
#include "orderflow/observability/trace_context.h"
#include "orderflow/runtime/endpoints_file.h"

namespace orderflow::ops {
namespace {

using http::printable;
using messaging::BrowsedRecord;

constexpr std::int64_t kDefaultLimit = 20;
constexpr std::int64_t kMaxLimit = 200;

// No file means no `orderflow up` runs: no instances. A file that does not read as
// endpoints.json is the operator's to fix, so the console says why instead of showing none.
Result<std::map<std::string, runtime::ServiceEndpoint>> read_instances(const std::string& file) {
  auto endpoints = runtime::read_endpoints_file(file);
  if (endpoints) return endpoints;
  if (endpoints.error().kind == ErrorKind::kNotFound) {
    return std::map<std::string, runtime::ServiceEndpoint>{};
  }
  auto error = endpoints.error();
  error.kind = ErrorKind::kUnavailable;
  return error;
}

http::Response proxy(const ConsoleSettings& settings, const http::Request& req) {
  auto endpoints = read_instances(settings.endpoints_file);
  if (!endpoints) return http::Response::from_error(endpoints.error());
  const auto service = req.path_param("service");
  auto it = endpoints->find(service);
  if (it == endpoints->end()) {
    return http::Response::error(404, "UNKNOWN_SERVICE", "no service instance " + service);
  }
  // The router and server decoded path and query: encoded again for the upstream.
  std::string target = "/" + http::percent_encode(req.path_param("path"), true);
  char separator = '?';
  for (const auto& [name, value] : req.query) {
    target +=
        separator + http::percent_encode(name, false) + "=" + http::percent_encode(value, false);
    separator = '&';
  }
  std::vector<std::pair<std::string, std::string>> headers;
  if (auto auth = req.header("Authorization")) headers.emplace_back("Authorization", *auth);
  auto upstream = http::request(it->second.host, it->second.port, "GET", target, {}, headers,
                                settings.proxy_timeout);
  if (!upstream) {
    return http::Response::error(503, "SERVICE_UNAVAILABLE",
                                 service + " did not answer: " + upstream.error().message);
  }
  http::Response out;
  out.status = upstream->status;
  out.content_type = upstream->content_type;
  out.body = std::move(upstream->body);
  // What a client needs to act on a 401 or 503 of the service.
  for (const auto& [name, value] : upstream->headers) {
    if (name == "WWW-Authenticate" || name == "Retry-After") out.headers.emplace_back(name, value);
  }
  return out;
}

nlohmann::json record_json(const BrowsedRecord& r) {
  return {{"offset", r.offset},
          {"timestamp", r.timestamp_ms},
          {"key", r.key ? nlohmann::json(printable(*r.key)) : nlohmann::json(nullptr)},
          {"headers", printable_headers_json(r.headers)},
          {"value", printable(r.value)}};
}

// null when the record has no valid traceparent.
nlohmann::json trace_id(const messaging::Headers& headers) {
  auto id = observability::trace_id_of(messaging::find_header(headers, "traceparent").value_or(""));
  return id.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::move(id));
}

nlohmann::json optional_header(const messaging::Headers& headers, const char* name) {
  auto v = messaging::find_header(headers, name);
  return v ? nlohmann::json(printable(*v)) : nlohmann::json(nullptr);
}

std::optional<std::int64_t> query_int(const http::Request& req, const std::string& name) {
  auto text = req.query_param(name);
  return text ? http::parse_int(*text) : std::nullopt;
}

http::Response records(messaging::TopicBrowser& browser, const ConsoleSettings& settings,
                       const http::Request& req) {
  const auto topic = req.path_param("topic");
  if (!req.query_param("partition")) {
    return http::Response::error(400, "MISSING_PARTITION", "partition is required");
  }
  auto partition = query_int(req, "partition");
  if (!partition || *partition < 0 || *partition > std::numeric_limits<int>::max()) {
    return http::Response::error(400, "INVALID_PARTITION", "partition must be an integer ≥ 0");
  }
  auto limit = req.query_param("limit") ? query_int(req, "limit") : kDefaultLimit;
  if (!limit || *limit < 1 || *limit > kMaxLimit) {
    return http::Response::error(400, "INVALID_LIMIT", "limit must be 1..200");
  }
  std::optional<std::int64_t> offset;
  if (req.query_param("offset")) {
    offset = query_int(req, "offset");
    if (!offset) return http::Response::error(400, "INVALID_OFFSET", "offset must be an integer");
  }
  auto range = browser.range(topic, static_cast<int>(*partition), settings.kafka_timeout);
  if (!range) return http::Response::from_error(range.error());
  if (!offset) offset = std::max(range->begin, range->end - *limit);
  if (*offset < range->begin || *offset > range->end) {
    auto body = nlohmann::json{
        {"error",
         {{"code", "OFFSET_OUT_OF_RANGE"},
          {"message", "offset " + std::to_string(*offset) + " is outside " +
                          std::to_string(range->begin) + ".." + std::to_string(range->end)},
          {"validRange", {{"begin", range->begin}, {"end", range->end}}}}}};
    return http::Response::json(416, body);
  }
  auto read = browser.read(topic, range->partition, *offset, *limit, settings.kafka_timeout);
  if (!read) return http::Response::from_error(read.error());
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : *read) items.push_back(record_json(r));
  return http::Response::json(200, {{"topic", topic},
                                    {"partition", range->partition},
                                    {"beginOffset", range->begin},
                                    {"endOffset", range->end},
                                    {"records", std::move(items)}});
}

http::Response events(messaging::TopicBrowser& browser, const ConsoleSettings& settings,
                      const http::Request& req) {
  auto key = req.query_param("key");
  if (!key || key->empty()) return http::Response::error(400, "MISSING_KEY", "key is required");
  std::vector<BrowsedRecord> found;
  for (const auto& topic : settings.event_topics) {
    auto partition = browser.partition_for_key(topic, *key, settings.kafka_timeout);
    // A DLT nothing was dead-lettered to may not exist.
    if (!partition && partition.error().kind == ErrorKind::kNotFound) continue;
    if (!partition) return http::Response::from_error(partition.error());
    auto range = browser.range(topic, *partition, settings.kafka_timeout);
    if (!range) return http::Response::from_error(range.error());
    auto from = std::max(range->begin, range->end - settings.scan_limit);
    auto read =
        browser.read(topic, *partition, from, settings.scan_limit, settings.kafka_timeout, *key);
    if (!read) return http::Response::from_error(read.error());
    found.insert(found.end(), read->begin(), read->end());
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.timestamp_ms < b.timestamp_ms; });
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : found) {
    auto item = record_json(r);
    item["topic"] = r.topic;
    item["partition"] = r.partition;
    item["eventType"] = optional_header(r.headers, "eventType");
    item["eventId"] = optional_header(r.headers, "eventId");
    item["traceId"] = trace_id(r.headers);
    items.push_back(std::move(item));
  }
  return http::Response::json(200, {{"key", printable(*key)}, {"events", std::move(items)}});
}

http::Response lag_json(const GroupLagGauges& lag) {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& reading : lag.readings()) {
    nlohmann::json group = {{"group", reading.group}};
    if (reading.error) {
      group["error"] = {{"code", reading.error->code}, {"message", reading.error->message}};
      groups.push_back(std::move(group));
      continue;
    }
    std::int64_t total = 0;
    nlohmann::json partitions = nlohmann::json::array();
    for (const auto& p : reading.partitions) {
      total += p.lag;
      partitions.push_back({{"topic", p.topic},
                            {"partition", p.partition},
                            {"committed", p.committed},
                            {"endOffset", p.end_offset},
                            {"lag", p.lag}});
    }
    group["totalLag"] = total;
    group["partitions"] = std::move(partitions);
    groups.push_back(std::move(group));
  }
  return http::Response::json(200, {{"groups", std::move(groups)}});
}

}  // namespace

void add_console_routes(http::Router& router, messaging::TopicBrowser& browser,
                        const GroupLagGauges& lag, ConsoleSettings settings) {
  auto s = std::make_shared<const ConsoleSettings>(std::move(settings));
  router.add(
      "GET", "/api/services",
      [s](const http::Request&) {
        auto endpoints = read_instances(s->endpoints_file);
        if (!endpoints) return http::Response::from_error(endpoints.error());
        nlohmann::json services = nlohmann::json::array();
        for (const auto& [name, e] : *endpoints) {
          services.push_back({{"name", name}, {"url", e.url}});
        }
        return http::Response::json(200, {{"services", std::move(services)}});
      },
      http::Access::kAdmin);
  router.add(
      "GET", "/svc/{service}/{path...}", [s](const http::Request& req) { return proxy(*s, req); },
      http::Access::kAdmin);
  router.add(
      "GET", "/api/topics",
      [s, &browser](const http::Request&) {
        auto topics = browser.topics(s->kafka_timeout);
        if (!topics) return http::Response::from_error(topics.error());
        nlohmann::json out = nlohmann::json::array();
        for (const auto& t : *topics) {
          nlohmann::json partitions = nlohmann::json::array();
          for (const auto& p : t.partitions) {
            partitions.push_back(
                {{"partition", p.partition}, {"beginOffset", p.begin}, {"endOffset", p.end}});
          }
          out.push_back({{"name", t.name}, {"partitions", std::move(partitions)}});
        }
        return http::Response::json(200, {{"topics", std::move(out)}});
      },
      http::Access::kAdmin);
  router.add(
      "GET", "/api/topics/{topic}/records",
      [s, &browser](const http::Request& req) { return records(browser, *s, req); },
      http::Access::kAdmin);
  router.add(
      "GET", "/api/events",
      [s, &browser](const http::Request& req) { return events(browser, *s, req); },
      http::Access::kAdmin);
  router.add(
      "GET", "/api/lag", [&lag](const http::Request&) { return lag_json(lag); },
      http::Access::kAdmin);
}

}  // namespace orderflow::ops
