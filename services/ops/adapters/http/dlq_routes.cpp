#include "dlq_routes.h"

#include <algorithm>
#include <limits>

namespace orderflow::ops {
namespace {

using http::printable;

template <class T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// With a token the audit trail names its subject; a header the caller chose cannot override it.
// Without one the header is stored and shown as the actor, so it is checked like any identifier
// a client names before anything is done (kInvalidInput INVALID_FIELD).
Result<std::string> actor_of(const http::Request& req) {
  if (req.principal) return "user:" + req.principal->user_id;
  auto actor = req.header("X-Actor");
  if (!actor || actor->empty()) return std::string("api");
  if (auto checked = http::check_identifier(*actor, "X-Actor"); !checked) return checked.error();
  return *actor;
}

Result<DeadLetterFilter> filter_from_query(const http::Request& req) {
  DeadLetterFilter f;
  if (auto v = req.query_param("topic"); v && !v->empty()) f.topic = *v;
  if (auto v = req.query_param("group"); v && !v->empty()) f.group = *v;
  if (auto v = req.query_param("key"); v && !v->empty()) f.key = *v;
  if (auto v = req.query_param("status"); v && !v->empty()) {
    f.status = parse_status(*v);
    if (!f.status) {
      return Error{ErrorKind::kInvalidInput, "INVALID_STATUS",
                   "status must be NEW, REPLAYED or DISCARDED"};
    }
  }
  return f;
}

struct BulkRequest {
  DeadLetterFilter filter;
  bool dry_run = false;
};

Result<BulkRequest> bulk_from_body(const std::string& body) {
  auto json = http::parse_json_object(body.empty() ? "{}" : body);
  if (!json) return json.error();
  BulkRequest out;
  auto text = [&](const char* name, std::optional<std::string>& into) -> Result<void> {
    if (!json->contains(name) || (*json)[name].is_null()) return {};
    if (!(*json)[name].is_string()) {
      return Error{ErrorKind::kInvalidInput, "INVALID_BODY",
                   std::string(name) + " must be a string"};
    }
    auto v = (*json)[name].get<std::string>();
    if (!v.empty()) into = v;
    return {};
  };
  for (auto r : {text("topic", out.filter.topic), text("group", out.filter.group),
                 text("key", out.filter.key)}) {
    if (!r) return r.error();
  }
  std::optional<std::string> status;
  if (auto r = text("status", status); !r) return r.error();
  if (status) {
    out.filter.status = parse_status(*status);
    if (!out.filter.status) {
      return Error{ErrorKind::kInvalidInput, "INVALID_STATUS",
                   "status must be NEW, REPLAYED or DISCARDED"};
    }
  }
  if (json->contains("dryRun")) {
    if (!(*json)["dryRun"].is_boolean()) {
      return Error{ErrorKind::kInvalidInput, "INVALID_BODY", "dryRun must be true or false"};
    }
    out.dry_run = (*json)["dryRun"].get<bool>();
  }
  return out;
}

nlohmann::json bulk_to_json(const BulkResult& r) {
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& [id, error] : r.failed) {
    failed.push_back({{"id", id}, {"error", {{"code", error.code}, {"message", error.message}}}});
  }
  return {{"dryRun", r.dry_run},
          {"matched", r.matched},
          {"done", r.done},
          {"failed", std::move(failed)}};
}

Result<std::int64_t> id_of(const http::Request& req) {
  auto id = http::parse_int(req.path_param("id"));
  if (!id) return Error{ErrorKind::kInvalidInput, "INVALID_ID", "id must be an integer"};
  return *id;
}

}  // namespace

nlohmann::json printable_headers_json(const messaging::Headers& headers) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : headers) {
    out.push_back({{"key", printable(h.key)}, {"value", printable(h.value)}});
  }
  return out;
}

nlohmann::json dead_letter_to_json(const DeadLetter& d) {
  return {{"id", d.id},
          {"status", to_string(d.status)},
          {"dltTopic", d.dlt_topic},
          {"dltPartition", d.dlt_partition},
          {"dltOffset", d.dlt_offset},
          {"key", printable(d.key)},
          {"value", printable(d.value)},
          {"headers", printable_headers_json(d.headers)},
          {"service", d.service},
          {"consumerGroup", d.consumer_group},
          {"originalTopic", d.original_topic},
          {"originalPartition", optional_json(d.original_partition)},
          {"originalOffset", optional_json(d.original_offset)},
          {"errorTimestamp", d.error_timestamp},
          {"errorClass", d.error_class},
          {"errorMessage", printable(d.error_message)},
          {"errorStacktrace", printable(d.error_stacktrace)},
          {"attempts", optional_json(d.attempts)},
          {"reason", d.reason},
          {"eventId", d.event_id},
          {"eventType", d.event_type},
          {"replayCount", d.replay_count},
          {"firstSeen", format_iso8601(d.first_seen)},
          {"lastSeen", format_iso8601(d.last_seen)}};
}

void add_dlq_routes(http::Router& router, DlqService& service) {
  router.add(
      "GET", "/api/dlq",
      [&service](const http::Request& req) {
        auto filter = filter_from_query(req);
        if (!filter) return http::Response::from_error(filter.error());
        auto limit = http::parse_int(req.query_param("limit").value_or("50"));
        auto offset = http::parse_int(req.query_param("offset").value_or("0"));
        if (!limit || !offset || *limit < 1 || *limit > 1000 || *offset < 0) {
          return http::Response::error(400, "INVALID_PAGE", "limit must be 1..1000 and offset ≥ 0");
        }
        // No list has 2^31 rows: a larger offset reads as past the end, not narrowed to int.
        auto skip =
            static_cast<int>(std::min<std::int64_t>(*offset, std::numeric_limits<int>::max()));
        auto page = service.list(*filter, static_cast<int>(*limit), skip);
        if (!page) return http::Response::from_error(page.error());
        nlohmann::json items = nlohmann::json::array();
        for (const auto& d : page->items) items.push_back(dead_letter_to_json(d));
        return http::Response::json(200, {{"items", std::move(items)},
                                          {"total", page->total},
                                          {"limit", *limit},
                                          {"offset", *offset}});
      },
      http::Access::kAdmin);

  router.add(
      "GET", "/api/dlq/{id}",
      [&service](const http::Request& req) {
        auto id = id_of(req);
        if (!id) return http::Response::from_error(id.error());
        auto letter = service.get(*id);
        if (!letter) return http::Response::from_error(letter.error());
        auto trail = service.audit_trail(*id);
        if (!trail) return http::Response::from_error(trail.error());
        auto body = dead_letter_to_json(*letter);
        body["audit"] = nlohmann::json::array();
        for (const auto& a : *trail) {
          body["audit"].push_back({{"action", a.action},
                                   {"actor", a.actor},
                                   {"at", format_iso8601(a.at)},
                                   {"details", a.details}});
        }
        return http::Response::json(200, body);
      },
      http::Access::kAdmin);

  router.add(
      "POST", "/api/dlq/{id}/replay",
      [&service](const http::Request& req) {
        auto id = id_of(req);
        if (!id) return http::Response::from_error(id.error());
        auto actor = actor_of(req);
        if (!actor) return http::Response::from_error(actor.error());
        auto replayed = service.replay(*id, *actor);
        if (!replayed) return http::Response::from_error(replayed.error());
        auto letter = service.get(*id);
        if (!letter) return http::Response::from_error(letter.error());
        auto body = dead_letter_to_json(*letter);
        body["replayedIds"] = *replayed;
        return http::Response::json(200, body);
      },
      http::Access::kAdmin);

  router.add(
      "POST", "/api/dlq/{id}/discard",
      [&service](const http::Request& req) {
        auto id = id_of(req);
        if (!id) return http::Response::from_error(id.error());
        auto actor = actor_of(req);
        if (!actor) return http::Response::from_error(actor.error());
        auto r = service.discard(*id, *actor);
        if (!r) return http::Response::from_error(r.error());
        auto letter = service.get(*id);
        if (!letter) return http::Response::from_error(letter.error());
        return http::Response::json(200, dead_letter_to_json(*letter));
      },
      http::Access::kAdmin);

  auto bulk = [&service](bool replay) {
    return [&service, replay](const http::Request& req) {
      auto parsed = bulk_from_body(req.body);
      if (!parsed) return http::Response::from_error(parsed.error());
      auto actor = actor_of(req);
      if (!actor) return http::Response::from_error(actor.error());
      auto r = replay ? service.replay_matching(parsed->filter, parsed->dry_run, *actor)
                      : service.discard_matching(parsed->filter, parsed->dry_run, *actor);
      if (!r) return http::Response::from_error(r.error());
      return http::Response::json(200, bulk_to_json(*r));
    };
  };
  router.add("POST", "/api/dlq/replay", bulk(true), http::Access::kAdmin);
  router.add("POST", "/api/dlq/discard", bulk(false), http::Access::kAdmin);
}

}  // namespace orderflow::ops
