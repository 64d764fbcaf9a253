#include "orderflow/http/router.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "adapters/http/console_static.h"
#include "adapters/http/notification_routes.h"
#include "adapters/notifier/log_notifier.h"
#include "orderflow/runtime/service_host.h"
#include "orderflow/testing/support.h"

namespace orderflow::http {
namespace {

Request make_request(std::string method, std::string path) {
  Request request;
  request.method = std::move(method);
  request.path = std::move(path);
  return request;
}

Response echo_route(const Request& request) {
  nlohmann::json body = nlohmann::json::object();
  for (const auto& [name, value] : request.path_params) body[name] = value;
  return Response::json(200, body);
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/api/orders", [](const Request&) {
      return Response::json(200, {{"list", true}});
    });
    router_.add("POST", "/api/orders", [](const Request&) { return Response::json(201, {}); });
    router_.add("GET", "/api/orders/{id}", echo_route);
    router_.add("DELETE", "/api/orders/{id}", echo_route);
    router_.add("GET", "/api/orders/{id}/items/{item}", echo_route);
    router_.add("GET", "/api/orders/search", [](const Request&) {
      return Response::json(200, {{"search", true}});
    });
    router_.add("GET", "/boom",
                [](const Request&) -> Response { throw std::runtime_error("database exploded"); });
    router_.add("GET", "/boom/{kind}", [](const Request& request) -> Response {
      if (request.path_param("kind") == "int") throw 42;
      throw std::runtime_error("");
    });
  }

  Dispatched dispatch_result(std::string method, std::string path) {
    request_ = make_request(std::move(method), std::move(path));
    return router_.dispatch(request_);
  }

  Response dispatch(std::string method, std::string path, std::string& route) {
    auto dispatched = dispatch_result(std::move(method), std::move(path));
    route = dispatched.route;
    EXPECT_EQ(dispatched.handler_error, "") << "only a throwing handler reports an error";
    return dispatched.response;
  }

  Router router_;
  Request request_;
};

TEST_F(RouterTest, MatchesLiteralRoute) {
  std::string route;
  auto response = dispatch("GET", "/api/orders", route);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(route, "/api/orders");
  EXPECT_EQ(nlohmann::json::parse(response.body)["list"], true);
}

TEST_F(RouterTest, SelectsHandlerByMethod) {
  std::string route;
  EXPECT_EQ(dispatch("POST", "/api/orders", route).status, 201);
  EXPECT_EQ(route, "/api/orders");
}

TEST_F(RouterTest, FillsPathParams) {
  std::string route;
  auto response = dispatch("GET", "/api/orders/o-42/items/sku-7", route);
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(route, "/api/orders/{id}/items/{item}");
  EXPECT_EQ(request_.path_param("id"), "o-42");
  EXPECT_EQ(request_.path_param("item"), "sku-7");
  EXPECT_EQ(request_.path_param("missing"), "");
  auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["id"], "o-42");
  EXPECT_EQ(body["item"], "sku-7");
}

TEST_F(RouterTest, LiteralSegmentWinsOverParameter) {
  std::string route;
  auto response = dispatch("GET", "/api/orders/search", route);
  EXPECT_EQ(route, "/api/orders/search");
  EXPECT_EQ(nlohmann::json::parse(response.body)["search"], true);
}

TEST_F(RouterTest, UnknownPathIs404) {
  std::string route;
  auto response = dispatch("GET", "/api/nothing", route);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(route, "unmatched");
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "ROUTE_NOT_FOUND");
  // A prefix of a route, or a route with an extra segment, is not a match.
  EXPECT_EQ(dispatch("GET", "/api", route).status, 404);
  EXPECT_EQ(dispatch("GET", "/api/orders/1/items", route).status, 404);
  EXPECT_EQ(dispatch("GET", "/api/orders/1/items/2/x", route).status, 404);
}

TEST_F(RouterTest, KnownPathWithOtherMethodIs405WithAllow) {
  std::string route;
  auto response = dispatch("PUT", "/api/orders/o-1", route);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(route, "unmatched");
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "METHOD_NOT_ALLOWED");
  std::string allow;
  for (const auto& [name, value] : response.headers) {
    if (name == "Allow") allow = value;
  }
  EXPECT_EQ(allow, "DELETE, GET");

  response = dispatch("DELETE", "/api/orders", route);
  EXPECT_EQ(response.status, 405);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].second, "GET, POST");
}

// A path that matches a literal route is that route's resource for every method: another
// method is 405 with the literal route's methods, not a parameter route of that method
// (GET /api/dlq/replay was GET /api/dlq/{id} with id "replay": 400 INVALID_ID).
TEST(RouterPatternTest, OtherMethodOnALiteralPathIs405NotAParameterRoute) {
  Router router;
  router.add("GET", "/api/dlq", echo_route);
  router.add("GET", "/api/dlq/{id}", echo_route);
  router.add("POST", "/api/dlq/{id}/replay", echo_route);
  router.add("POST", "/api/dlq/replay", [](const Request&) { return Response::json(202, {}); });
  router.add("PUT", "/api/dlq/replay", [](const Request&) { return Response::json(200, {}); });
  router.add("GET", "/files/{path...}", echo_route);
  router.add("POST", "/files/{name}", echo_route);
  auto dispatch = [&](const std::string& method, const std::string& path) {
    Request request = make_request(method, path);
    return router.dispatch(request);
  };
  auto allow = [](const Response& response) {
    for (const auto& [name, value] : response.headers) {
      if (name == "Allow") return value;
    }
    return std::string();
  };
  auto wrong = dispatch("GET", "/api/dlq/replay");
  EXPECT_EQ(wrong.response.status, 405) << wrong.response.body;
  EXPECT_EQ(wrong.route, "unmatched");
  EXPECT_EQ(allow(wrong.response), "POST, PUT") << "the literal route's methods only";
  EXPECT_EQ(dispatch("DELETE", "/api/dlq/replay/").response.status, 405);
  EXPECT_EQ(dispatch("POST", "/api/dlq/replay").response.status, 202);
  EXPECT_EQ(dispatch("PUT", "/api/dlq/replay").response.status, 200);
  // Other ids still reach the parameter routes, and their 405 lists theirs.
  auto by_id = dispatch("GET", "/api/dlq/42");
  EXPECT_EQ(by_id.response.status, 200);
  EXPECT_EQ(by_id.route, "/api/dlq/{id}");
  EXPECT_EQ(allow(dispatch("POST", "/api/dlq/42").response), "GET");
  EXPECT_EQ(dispatch("POST", "/api/dlq/replay/replay").route, "/api/dlq/{id}/replay");
  // A parameter and a tail name no resource: each method keeps its own route there.
  EXPECT_EQ(dispatch("POST", "/files/a").route, "/files/{name}");
  EXPECT_EQ(dispatch("GET", "/files/a").route, "/files/{path...}");
  EXPECT_EQ(allow(dispatch("PUT", "/files/a").response), "GET, POST");
  EXPECT_EQ(allow(dispatch("POST", "/files/a/b").response), "GET");
}

TEST_F(RouterTest, TrailingSlashIsTolerated) {
  std::string route;
  EXPECT_EQ(dispatch("GET", "/api/orders/", route).status, 200);
  EXPECT_EQ(route, "/api/orders");
  EXPECT_EQ(dispatch("GET", "/api/orders/o-9/", route).status, 200);
  EXPECT_EQ(request_.path_param("id"), "o-9");
}

TEST(RouterPatternTest, PatternWithTrailingSlashMatchesPathWithout) {
  Router router;
  router.add("GET", "/x/", [](const Request&) { return Response::json(200, {}); });
  Request request = make_request("GET", "/x");
  auto dispatched = router.dispatch(request);
  EXPECT_EQ(dispatched.response.status, 200);
  EXPECT_EQ(dispatched.route, "/x/");
}

// "{name...}" takes the rest of the path; a route of exactly the path's length, or with a
// literal where the tail has its first segment, wins over it whatever the registration order.
TEST(RouterPatternTest, TailSegmentTakesTheRestOfThePath) {
  Router router;
  router.add("GET", "/svc/{service}/{path...}", echo_route);
  router.add("GET", "/svc/{service}/{x}", [](const Request&) { return Response::json(200, {}); });
  router.add("GET", "/svc/{service}/health/ready", [](const Request&) {
    return Response::json(200, {{"literal", true}});
  });
  auto dispatch = [&](const std::string& path) {
    Request request = make_request("GET", path);
    auto dispatched = router.dispatch(request);
    return std::make_pair(dispatched, request);
  };
  auto [deep, request] = dispatch("/svc/order-service/api/orders//o-1/");
  EXPECT_EQ(deep.response.status, 200);
  EXPECT_EQ(deep.route, "/svc/{service}/{path...}");
  EXPECT_EQ(request.path_param("service"), "order-service");
  EXPECT_EQ(request.path_param("path"), "api/orders/o-1");
  EXPECT_EQ(request.path_params.count("path..."), 0u) << "the name without the dots";
  EXPECT_EQ(dispatch("/svc/order-service/metrics").first.route, "/svc/{service}/{x}");
  EXPECT_EQ(dispatch("/svc/order-service/health/ready").first.route, "/svc/{service}/health/ready");
  EXPECT_EQ(dispatch("/svc/order-service/health/live").first.route, "/svc/{service}/{path...}");
  EXPECT_EQ(dispatch("/svc/order-service").first.response.status, 404)
      << "a tail takes one segment or more";
  // Only a last segment "{name...}" is a tail: in the middle it is a one-segment parameter.
  Router middle;
  middle.add("GET", "/a/{rest...}/b", echo_route);
  Request request2 = make_request("GET", "/a/x/y/b");
  EXPECT_EQ(middle.dispatch(request2).response.status, 404);
}

// A handler's exception: 500 INTERNAL for the client, the cause only in the result.
void expect_internal_error(const Dispatched& dispatched, const std::string& route,
                           const std::string& cause) {
  EXPECT_EQ(dispatched.response.status, 500);
  EXPECT_EQ(dispatched.route, route);
  EXPECT_EQ(dispatched.handler_error, cause);
  EXPECT_EQ(nlohmann::json::parse(dispatched.response.body)["error"]["code"], "INTERNAL");
  EXPECT_EQ(dispatched.response.body.find(cause), std::string::npos) << "not leaked to the client";
}

// The cause comes back with the result (the server logs it), not through state shared with
// the server (it was a thread_local the router set and the server read and cleared).
TEST_F(RouterTest, HandlerExceptionIs500AndItsCauseComesBackWithTheResult) {
  expect_internal_error(dispatch_result("GET", "/boom"), "/boom", "database exploded");
  // The next request on the same thread carries no stale cause (dispatch() checks).
  std::string route;
  EXPECT_EQ(dispatch("GET", "/api/orders", route).status, 200);
}

TEST_F(RouterTest, HandlerThrowingANonExceptionOrAnEmptyMessageStillReportsACause) {
  expect_internal_error(dispatch_result("GET", "/boom/int"), "/boom/{kind}", "unknown exception");
  // An empty what() must still reach the log.
  expect_internal_error(dispatch_result("GET", "/boom/empty"), "/boom/{kind}",
                        "exception without a message");
}

TEST_F(RouterTest, DispatchOnManyThreadsKeepsEachCauseWithItsRequest) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const bool boom = (i + t) % 2 == 0;
        Request request = make_request("GET", boom ? "/boom" : "/api/orders");
        auto dispatched = router_.dispatch(request);
        const bool right =
            boom ? dispatched.handler_error == "database exploded" &&
                       dispatched.response.status == 500
                 : dispatched.handler_error.empty() && dispatched.response.status == 200;
        if (!right) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

// auth.mode required with an HS256 secret, on a manual clock.
class RouterAuthTest : public ::testing::Test {
 protected:
  static AuthConfig required() {
    AuthConfig config;
    config.mode = AuthMode::kRequired;
    config.secret = std::string(32, 's');
    return config;
  }
  ManualClock clock;
  AuthConfig config = required();
  Authenticator auth{config, clock};
};

// Issue 12: the route's access is decided before its handler runs, and only a verified token
// sets the principal the handler sees.
TEST_F(RouterAuthTest, RouteAccessIsCheckedBeforeTheHandlerRuns) {
  int ran = 0;
  std::optional<Principal> seen;
  Router router;
  auto handler = [&](const Request& request) {
    ++ran;
    seen = request.principal;
    return Response::json(200, {});
  };
  router.add("GET", "/health/live", handler, Access::kOpen);
  router.add("GET", "/api/orders", handler);
  router.add("POST", "/admin/drain", handler, Access::kAdmin);
  auto call = [&](const std::string& method, const std::string& path,
                  std::optional<std::string> token) {
    Request request = make_request(method, path);
    if (token) request.headers.emplace_back("Authorization", "Bearer " + *token);
    // A principal smuggled in by the caller must not survive dispatch.
    request.principal = Principal{"intruder", {"admin"}};
    return router.dispatch(request, &auth).response;
  };
  auto header = [](const Response& response, const std::string& name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return std::string();
  };
  auto user = mint_hs256(config, {"7", {}, std::chrono::seconds(60)}, clock.now()).value();
  auto admin = mint_hs256(config, {"1", {"admin"}, std::chrono::seconds(60)}, clock.now()).value();

  EXPECT_EQ(call("GET", "/health/live", std::nullopt).status, 200);
  EXPECT_FALSE(seen.has_value());
  ran = 0;
  auto missing = call("GET", "/api/orders", std::nullopt);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(header(missing, "WWW-Authenticate"), R"(Bearer error="invalid_token")");
  EXPECT_EQ(nlohmann::json::parse(missing.body)["error"]["code"], "MISSING_TOKEN");
  EXPECT_EQ(call("GET", "/api/orders", "not-a-token").status, 401);
  auto forbidden = call("POST", "/admin/drain", user);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(header(forbidden, "WWW-Authenticate"), R"(Bearer error="insufficient_scope")");
  EXPECT_EQ(ran, 0) << "no handler ran for a refused request";

  EXPECT_EQ(call("GET", "/api/orders", user).status, 200);
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->user_id, "7");
  EXPECT_EQ(call("POST", "/admin/drain", admin).status, 200);
  EXPECT_EQ(seen->user_id, "1");
  EXPECT_EQ(ran, 2);

  // Without an authenticator (auth.mode none) nothing is checked and nobody is authenticated.
  Request plain = make_request("POST", "/admin/drain");
  plain.principal = Principal{"intruder", {"admin"}};
  EXPECT_EQ(router.dispatch(plain).response.status, 200);
  EXPECT_FALSE(seen.has_value());
}

// The admin routes every service mounts (runtime::add_admin_routes: /admin/drain, /admin/status)
// and notification-service's /admin/faults, with auth.mode required: no token 401, a user's
// token 403, and a refused request changes nothing (the intake stays open, the fault prefix
// unset); an admin token goes through.
TEST_F(RouterAuthTest, TheServicesAdminRoutesNeedAnAdminToken) {
  Router router;
  runtime::Intake intake;
  runtime::add_admin_routes(router, intake, [] { return runtime::DrainStatus{}; });
  notification::LogNotifier log(nullptr);
  notification::FaultInjectingNotifier fault(log, "");
  notification::add_fault_routes(router, {&fault});
  auto user = mint_hs256(config, {"7", {}, std::chrono::seconds(60)}, clock.now()).value();
  auto admin = mint_hs256(config, {"1", {"admin"}, std::chrono::seconds(60)}, clock.now()).value();
  auto call = [&](const std::string& method, const std::string& path,
                  std::optional<std::string> token) {
    Request request = make_request(method, path);
    if (method == "POST" && path == "/admin/faults") request.body = R"({"failUserPrefix":"x"})";
    if (token) request.headers.emplace_back("Authorization", "Bearer " + *token);
    return router.dispatch(request, &auth).response.status;
  };
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/admin/drain"}, {"GET", "/admin/status"}, {"POST", "/admin/faults"}}) {
    SCOPED_TRACE(method + " " + path);
    EXPECT_EQ(call(method, path, std::nullopt), 401);
    EXPECT_EQ(call(method, path, "not-a-token"), 401);
    EXPECT_EQ(call(method, path, user), 403);
    EXPECT_TRUE(intake.open()) << "a refused drain closes nothing";
    EXPECT_EQ(fault.prefix(), "") << "a refused fault switch sets nothing";
  }
  EXPECT_EQ(call("POST", "/admin/faults", admin), 200);
  EXPECT_EQ(fault.prefix(), "x");
  EXPECT_EQ(call("GET", "/admin/status", admin), 200);
  EXPECT_EQ(call("POST", "/admin/drain", admin), 200);
  EXPECT_FALSE(intake.open());
}

// Issue 14: ops-service serves the console's build without a token (auth.mode required), with the
// contract's content types and cache headers, and no request path reaches a file outside assets/.
TEST_F(RouterAuthTest, ConsoleFilesAreOpenWithCacheHeadersAndNoPathLeavesAssets) {
  orderflow::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "assets");
  std::ofstream(dir.path() / "index.html") << "<!doctype html><title>console</title>";
  std::ofstream(dir.path() / "assets" / "index-Ab1_x.js") << "console.log(1)";
  std::ofstream(dir.path() / "assets" / "index-Ab1_x.css") << "body{}";
  std::ofstream(dir.path() / "assets" / ".hidden") << "no";
  std::ofstream(dir.path() / "secret.txt") << "no";
  Router router;
  ops::add_console_static_routes(router, dir.path());
  auto get = [&](const std::string& path) {
    Request request = make_request("GET", path);
    return router.dispatch(request, &auth).response;
  };
  auto header = [](const Response& response, const std::string& name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return std::string();
  };

  auto index = get("/");
  EXPECT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.body, "<!doctype html><title>console</title>");
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");
  EXPECT_NE(header(index, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  auto js = get("/assets/index-Ab1_x.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(get("/assets/index-Ab1_x.css").content_type, "text/css; charset=utf-8");

  // The router splits the decoded path, so "../x" is several segments and matches no route;
  // what is one segment is checked by name.
  for (const std::string path :
       {"/assets/..", "/assets/.", "/assets/.hidden", "/assets/missing.js", "/assets/../secret.txt",
        "/assets/..\\secret.txt", "/assets/%2e%2e"}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_NE(r.body, "no") << path << " must not serve a file";
  }

  std::filesystem::remove(dir.path() / "index.html");
  auto missing = get("/");
  EXPECT_EQ(missing.status, 503);
  EXPECT_EQ(missing.content_type, "text/html; charset=utf-8");
  EXPECT_NE(missing.body.find("ops-console"), std::string::npos) << "says how to build it";
}

TEST(RouterEmptyTest, RootPathWithoutRoutesIs404) {
  Router router;
  Request request = make_request("GET", "/");
  auto dispatched = router.dispatch(request);
  EXPECT_EQ(dispatched.response.status, 404);
  EXPECT_EQ(dispatched.route, "unmatched");
}

}  // namespace
}  // namespace orderflow::http
