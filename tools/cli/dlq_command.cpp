#include "dlq_command.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "orderflow/http/client.h"

namespace orderflow::cli {
namespace {

using nlohmann::json;

std::string url_encode(const std::string& s) {
  std::ostringstream out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out << c;
    } else {
      out << '%' << std::uppercase << std::hex << std::setw(2) << std::setfill('0')
          << static_cast<int>(c) << std::dec;
    }
  }
  return out.str();
}

std::string text(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string clip(std::string s, std::size_t width) {
  for (auto& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s.size() <= width ? s : s.substr(0, width - 1) + "~";
}

void print_table(const json& body, std::ostream& out) {
  out << std::left << std::setw(6) << "ID" << std::setw(10) << "STATUS" << std::setw(34)
      << "ORIGINAL (topic/partition/offset)" << std::setw(14) << "KEY" << std::setw(18) << "REASON"
      << std::setw(40) << "ERROR"
      << "REPLAYS\n";
  for (const auto& d : body.value("items", json::array())) {
    std::string origin = text(d["originalTopic"]) + "/" + text(d["originalPartition"]) + "/" +
                         text(d["originalOffset"]);
    out << std::left << std::setw(6) << text(d["id"]) << std::setw(10) << text(d["status"])
        << std::setw(34) << clip(origin, 33) << std::setw(14) << clip(text(d["key"]), 13)
        << std::setw(18) << clip(text(d["reason"]), 17) << std::setw(40)
        << clip(text(d["errorMessage"]), 39) << text(d["replayCount"]) << "\n";
  }
  out << body.value("items", json::array()).size() << " of " << text(body["total"])
      << " dead letter(s)\n";
}

}  // namespace

int run_dlq_command(const std::map<std::string, Endpoint>& endpoints, const DlqOptions& o,
                    std::ostream& out, std::ostream& err) {
  auto it = endpoints.find("ops-service");
  if (it == endpoints.end()) {
    err << "orderflow dlq: no running ops-service (endpoints.json missing or without it); "
           "start the system with `orderflow up`\n";
    return 2;
  }
  const auto& ep = it->second;
  std::string method = "GET";
  std::string target;
  std::string body;
  if (o.action == "list") {
    target = "/api/dlq?limit=" + std::to_string(o.limit);
    for (const auto& [name, value] : {std::pair{"topic", o.topic}, std::pair{"group", o.group},
                                      std::pair{"status", o.status}, std::pair{"key", o.key}}) {
      if (value) target += std::string("&") + name + "=" + url_encode(*value);
    }
  } else if (o.action == "show") {
    target = "/api/dlq/" + url_encode(o.id.value_or(""));
  } else if (o.id) {
    method = "POST";
    target = "/api/dlq/" + url_encode(*o.id) + "/" + o.action;
  } else {
    method = "POST";
    target = "/api/dlq/" + o.action;
    json filter = {{"dryRun", o.dry_run}};
    if (o.topic) filter["topic"] = *o.topic;
    if (o.group) filter["group"] = *o.group;
    if (o.status) filter["status"] = *o.status;
    if (o.key) filter["key"] = *o.key;
    body = filter.dump();
  }
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"},
                                                           {"X-Actor", o.actor}};
  if (o.bearer_token) headers.emplace_back("Authorization", "Bearer " + *o.bearer_token);
  auto reply = http::request(ep.host, ep.port, method, target, body, headers,
                             std::chrono::milliseconds{30000});
  if (!reply) {
    err << "orderflow dlq: ops-service at " << ep.url()
        << " not reachable: " << reply.error().message << "\n";
    return 2;
  }
  auto doc = json::parse(reply->body, nullptr, false);
  if (reply->status >= 300) {
    std::string message = doc.is_object() && doc.contains("error")
                              ? doc["error"].value("message", reply->body)
                              : reply->body;
    err << "orderflow dlq: " << reply->status << " " << message << "\n";
    return 1;
  }
  if (o.action == "list") {
    print_table(doc, out);
  } else {
    out << doc.dump(2) << "\n";
  }
  return 0;
}

}  // namespace orderflow::cli
