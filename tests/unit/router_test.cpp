#include "orderflow/http/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

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
  }

  Response dispatch(std::string method, std::string path, std::string& route) {
    request_ = make_request(std::move(method), std::move(path));
    return router_.dispatch(request_, route);
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
  std::string route;
  EXPECT_EQ(router.dispatch(request, route).status, 200);
  EXPECT_EQ(route, "/x/");
}

TEST_F(RouterTest, HandlerExceptionIs500) {
  std::string route;
  auto response = dispatch("GET", "/boom", route);
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(route, "/boom");
  auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], "INTERNAL");
  // The cause is logged by the server, not leaked to the client.
  EXPECT_EQ(response.body.find("exploded"), std::string::npos);
}

TEST(RouterEmptyTest, RootPathWithoutRoutesIs404) {
  Router router;
  Request request = make_request("GET", "/");
  std::string route;
  EXPECT_EQ(router.dispatch(request, route).status, 404);
}

}  // namespace
}  // namespace orderflow::http
