// Kept apart from server.cpp: these are plain Router handlers, independent of the connection
// handling there.
#include <nlohmann/json.hpp>

#include "orderflow/http/server.h"

namespace orderflow::http {

void add_standard_routes(Router& router, std::function<Readiness()> readiness,
                         const observability::Metrics& metrics) {
  router.add(
      "GET", "/health/live",
      [](const Request&) {
        return Response::json(200, {{"status", "UP"}});
      },
      Access::kOpen);
  router.add(
      "GET", "/health/ready",
      [readiness = std::move(readiness)](const Request&) {
        Readiness state;
        try {
          state = readiness ? readiness() : Readiness{};
        } catch (const std::exception& e) {
          state.ready = false;
          state.reason = e.what();
          state.details = {{"error", e.what()}};
        }
        nlohmann::json body = {{"status", state.ready ? "UP" : "DOWN"}, {"details", state.details}};
        if (!state.ready) body["reason"] = state.reason;
        return Response::json(state.ready ? 200 : 503, body);
      },
      Access::kOpen);
  router.add(
      "GET", "/metrics",
      [&metrics](const Request&) {
        Response response;
        response.body = metrics.serialize();
        response.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return response;
      },
      Access::kOpen);
}

void add_openapi_route(Router& router, std::string_view spec) {
  router.add(
      "GET", "/openapi.json",
      [spec](const Request&) {
        Response response;
        response.body = std::string(spec);
        return response;  // content_type defaults to application/json
      },
      Access::kOpen);
}

}  // namespace orderflow::http
