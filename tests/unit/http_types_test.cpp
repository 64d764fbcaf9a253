#include "orderflow/http/types.h"

#include <gtest/gtest.h>

namespace orderflow::http {
namespace {

std::optional<std::string> find_header(const Response& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

struct ErrorCase {
  ErrorKind kind;
  int status;
};

class FromErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(FromErrorTest, MapsKindToStatusAndErrorBody) {
  const auto& param = GetParam();
  Error error{param.kind, "SOME_CODE", "something \"quoted\" happened"};
  EXPECT_EQ(status_for(param.kind), param.status);
  auto response = Response::from_error(error);
  EXPECT_EQ(response.status, param.status);
  EXPECT_EQ(response.content_type, "application/json");
  auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], "SOME_CODE");
  EXPECT_EQ(body["error"]["message"], "something \"quoted\" happened");
  if (param.status == 503) {
    EXPECT_EQ(find_header(response, "Retry-After"), "1");
  } else {
    EXPECT_FALSE(find_header(response, "Retry-After").has_value());
  }
}

INSTANTIATE_TEST_SUITE_P(AllKinds, FromErrorTest,
                         ::testing::Values(ErrorCase{ErrorKind::kInvalidInput, 400},
                                           ErrorCase{ErrorKind::kNotFound, 404},
                                           ErrorCase{ErrorKind::kConflict, 409},
                                           ErrorCase{ErrorKind::kUnprocessable, 422},
                                           ErrorCase{ErrorKind::kUnavailable, 503},
                                           ErrorCase{ErrorKind::kInternal, 500}));

TEST(ResponseTest, JsonSetsStatusAndBody) {
  auto response = Response::json(201, {{"id", "o-1"}});
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(response.body), (nlohmann::json{{"id", "o-1"}}));
}

TEST(ResponseTest, JsonWithInvalidUtf8DoesNotThrow) {
  std::string invalid = "bad \xff byte";
  Response response;
  EXPECT_NO_THROW(response = Response::json(200, {{"text", invalid}}));
  EXPECT_TRUE(nlohmann::json::accept(response.body));
}

TEST(ParseJsonObjectTest, AcceptsObject) {
  auto parsed = parse_json_object(R"({"customerId":"c-1","items":[{"sku":"A","qty":2}]})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)["customerId"], "c-1");
  EXPECT_EQ((*parsed)["items"][0]["qty"], 2);
}

TEST(ParseJsonObjectTest, AcceptsEmptyObjectWithWhitespace) {
  auto parsed = parse_json_object("  {}\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->empty());
}

TEST(ParseJsonObjectTest, MalformedJson) {
  for (std::string_view body : {"", "{", "{\"a\":}", "not json", "{\"a\":1} trailing", "\xff"}) {
    auto parsed = parse_json_object(body);
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidInput) << body;
    EXPECT_EQ(parsed.error().code, "MALFORMED_JSON") << body;
  }
}

TEST(ParseJsonObjectTest, NonObjectIsInvalidBody) {
  for (std::string_view body : {"[]", "[1,2]", "\"text\"", "42", "null", "true"}) {
    auto parsed = parse_json_object(body);
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidInput) << body;
    EXPECT_EQ(parsed.error().code, "INVALID_BODY") << body;
  }
}

TEST(RequestTest, HeaderLookupIsCaseInsensitive) {
  Request request;
  request.headers = {{"Content-Type", "application/json"}, {"X-Request-Id", "r-1"}};
  EXPECT_EQ(request.header("content-type"), "application/json");
  EXPECT_EQ(request.header("X-REQUEST-ID"), "r-1");
  EXPECT_FALSE(request.header("Accept").has_value());
}

TEST(RequestTest, QueryParam) {
  Request request;
  request.query = {{"status", "PAID"}};
  EXPECT_EQ(request.query_param("status"), "PAID");
  EXPECT_FALSE(request.query_param("limit").has_value());
}

}  // namespace
}  // namespace orderflow::http

namespace orderflow::http {
namespace {

TEST(HttpHelpersTest, ParseIntAcceptsOnlyWholeIntegers) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int("-7"), -7);
  EXPECT_FALSE(parse_int("").has_value());
  EXPECT_FALSE(parse_int("4x").has_value());
  EXPECT_FALSE(parse_int(" 4").has_value());
  EXPECT_FALSE(parse_int("99999999999999999999").has_value());
}

TEST(HttpHelpersTest, ParsePageDefaultsBoundsAndClamps) {
  Request r;
  auto d = parse_page(r);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->page, 0);
  EXPECT_EQ(d->size, 20);
  r.query = {{"page", "3"}, {"size", "500"}};
  EXPECT_EQ(parse_page(r, 100)->size, 100);
  EXPECT_EQ(parse_page(r, 100)->page, 3);
  for (const auto& [page, size] : std::vector<std::pair<std::string, std::string>>{
           {"-1", "10"}, {"1000001", "10"}, {"x", "10"}, {"0", "0"}, {"0", "ten"}}) {
    r.query = {{"page", page}, {"size", size}};
    auto bad = parse_page(r);
    ASSERT_FALSE(bad.ok()) << page << "/" << size;
    EXPECT_EQ(bad.error().code, "INVALID_PAGE");
  }
}

TEST(HttpHelpersTest, DrainingIs503WithRetryAfter) {
  auto r = draining();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("DRAINING"), std::string::npos);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
}

TEST(HttpHelpersTest, OverloadedIs503WithRetryAfterAndTheMessage) {
  auto r = overloaded("too many open connections");
  EXPECT_EQ(r.status, 503);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], "OVERLOADED");
  EXPECT_EQ(body["error"]["message"], "too many open connections");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Retry-After", "1"}));
}

}  // namespace
}  // namespace orderflow::http

namespace orderflow::http {
namespace {

TEST(HttpHelpersTest, RequireUserIdFromQueryThenHeader) {
  Request r;
  auto missing = require_user_id(r);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "MISSING_USER");
  EXPECT_EQ(status_for(missing.error().kind), 400);
  r.headers = {{"x-user-id", "7"}};
  EXPECT_EQ(require_user_id(r).value(), "7");
  r.query = {{"userId", "42"}};
  EXPECT_EQ(require_user_id(r).value(), "42") << "the query parameter wins";
  r.query = {{"userId", ""}};
  EXPECT_FALSE(require_user_id(r).ok());
}

}  // namespace
}  // namespace orderflow::http
