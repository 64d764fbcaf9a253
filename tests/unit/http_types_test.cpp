#include "orderflow/http/types.h"

#include <gtest/gtest.h>
#include <jwt.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "orderflow/testing/auth_tokens.h"

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
                                           ErrorCase{ErrorKind::kInternal, 500},
                                           ErrorCase{ErrorKind::kUnauthenticated, 401},
                                           ErrorCase{ErrorKind::kForbidden, 403}));

TEST(ResponseTest, UnauthenticatedCarriesTheBearerChallenge) {
  auto response = Response::from_error(unauthenticated("INVALID_TOKEN", "token expired"));
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(find_header(response, "WWW-Authenticate"), R"(Bearer error="invalid_token")");
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "INVALID_TOKEN");
}

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

TEST(RequestTest, ApplyTargetDecodesPathAndQuery) {
  Request request;
  apply_target("/api/orders/%34%32?userId=a+b%2Fc&empty&size=1&size=2&bad=%2&%zz=x", request);
  EXPECT_EQ(request.path, "/api/orders/42");
  EXPECT_EQ(request.query_param("userId"), "a b/c");
  EXPECT_EQ(request.query_param("empty"), "");
  EXPECT_EQ(request.query_param("size"), "2");  // the last one wins
  EXPECT_EQ(request.query_param("bad"), "%2");  // invalid escapes stay as sent
  EXPECT_EQ(request.query_param("%zz"), "x");

  Request bare;
  apply_target("/a+b%", bare);
  EXPECT_EQ(bare.path, "/a+b%");  // '+' is a space only in the query
  EXPECT_TRUE(bare.query.empty());
}

}  // namespace
}  // namespace orderflow::http

namespace orderflow::http {
namespace {

// percent_encode undoes apply_target's decoding (the console's proxy re-encodes what it got).
TEST(HttpHelpersTest, PercentEncodeRoundTripsThroughApplyTarget) {
  EXPECT_EQ(percent_encode("api/orders/a b", true), "api/orders/a%20b");
  EXPECT_EQ(percent_encode("a/b&c=d+e~_.-", false), "a%2Fb%26c%3Dd%2Be~_.-");
  Request request;
  apply_target("/" + percent_encode("x y/ü", true) + "?" + percent_encode("k&", false) + "=" +
                   percent_encode("v=1 2+%", false),
               request);
  EXPECT_EQ(request.path, "/x y/ü");
  EXPECT_EQ(request.query_param("k&"), "v=1 2+%");
}

TEST(HttpHelpersTest, PrintableReplacesInvalidUtf8) {
  EXPECT_EQ(printable("plain ü"), "plain ü");
  EXPECT_EQ(printable("a\xFF\xC3("), "a\xEF\xBF\xBD\xEF\xBF\xBD(");
  EXPECT_EQ(printable(std::string("nul\0in", 6)), std::string("nul\0in", 6));
}

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

// The user a request names without a token is checked as a body userId is (1 to 128 bytes of
// UTF-8 text without control characters): 400 INVALID_FIELD naming where it came from.
TEST(HttpHelpersTest, UserIdFromTheQueryOrTheHeaderIsChecked) {
  auto expect_invalid = [](const Request& r, const std::string& field) {
    auto user = require_user_id(r);
    ASSERT_FALSE(user.ok());
    EXPECT_EQ(user.error().code, "INVALID_FIELD");
    EXPECT_EQ(status_for(user.error().kind), 400);
    EXPECT_NE(user.error().message.find(field), std::string::npos) << user.error().message;
  };
  for (const std::string& bad : {std::string("u\xFF"), std::string(129, 'u'), std::string("a\tb"),
                                 std::string("a\0b", 3), std::string("\x7F")}) {
    SCOPED_TRACE(bad);
    Request r;
    r.headers = {{"X-User-Id", bad}};
    expect_invalid(r, "X-User-Id");
    auto caller = caller_user_id(r);
    ASSERT_FALSE(caller.ok());
    EXPECT_EQ(caller.error().code, "INVALID_FIELD");
    r.headers.clear();
    r.query = {{"userId", bad}};
    expect_invalid(r, "userId");
    r.principal = Principal{"1", {"admin"}};
    expect_invalid(r, "userId");
    r.principal = Principal{"7", {}};
    EXPECT_EQ(require_user_id(r).error().code, "USER_MISMATCH") << "not the caller's either way";
    r.headers = {{"X-User-Id", bad}};
    r.query.clear();
    EXPECT_EQ(require_user_id(r).value(), "7") << "with a token the header is not read";
    EXPECT_EQ(caller_user_id(r).value(), "7");
  }
  Request r;
  r.headers = {{"X-User-Id", "사용자-1"}};
  EXPECT_EQ(require_user_id(r).value(), "사용자-1");
  EXPECT_EQ(caller_user_id(r).value(), "사용자-1");
  r.headers = {{"X-User-Id", ""}};
  EXPECT_EQ(caller_user_id(r).value(), std::nullopt) << "an empty header is no header";
}

TEST(HttpHelpersTest, WithATokenTheUserIsItsSubjectAndAnotherUserIsForbidden) {
  Request r;
  r.headers = {{"X-User-Id", "99"}};
  r.principal = Principal{"7", {}};
  EXPECT_EQ(require_user_id(r).value(), "7") << "the token wins over X-User-Id";
  r.query = {{"userId", "7"}};
  EXPECT_EQ(require_user_id(r).value(), "7");
  r.query = {{"userId", "8"}};
  auto other = require_user_id(r);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().kind, ErrorKind::kForbidden);
  EXPECT_EQ(other.error().code, "USER_MISMATCH");
  r.principal = Principal{"1", {"admin"}};
  EXPECT_EQ(require_user_id(r).value(), "8") << "an admin may ask for any user";

  EXPECT_TRUE(may_access(r, "8"));
  r.principal = Principal{"7", {}};
  EXPECT_TRUE(may_access(r, "7"));
  EXPECT_FALSE(may_access(r, "8"));
  EXPECT_EQ(caller_user_id(r).value(), "7");
  EXPECT_TRUE(check_acting_user(r, "7").ok());
  EXPECT_EQ(check_acting_user(r, "8").error().kind, ErrorKind::kForbidden);
  r.principal.reset();
  EXPECT_TRUE(may_access(r, "8")) << "anonymous requests keep today's behaviour";
  EXPECT_EQ(caller_user_id(r).value(), "99");
  EXPECT_TRUE(check_acting_user(r, "8").ok());
}

// --- Bearer tokens --------------------------------------------------------------------------

const std::string kSecret = "test-secret-test-secret-test-secret!";  // ≥ 32 bytes
const std::string kKeyDir = ORDERFLOW_SOURCE_DIR "/tests/data/auth/";

std::string read_key(const std::string& name) {
  std::ifstream in(kKeyDir + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string base64url(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : data) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

/// A token signed by libjwt itself with `alg` and `key` (a secret or a PEM private key).
std::string sign(const nlohmann::json& claims, jwt_alg_t alg, const std::string& key) {
  auto token = orderflow::testing::sign_token(claims, alg, key);
  EXPECT_FALSE(token.empty());
  return token;
}

class TokenTest : public ::testing::Test {
 protected:
  static constexpr std::int64_t kNow = 1'700'000'000;

  nlohmann::json claims() const {
    return {{"sub", "7"},         {"roles", {"admin"}},
            {"iss", "orderflow"}, {"aud", "orderflow-api"},
            {"nbf", kNow - 10},   {"exp", kNow + 3600}};
  }
  AuthConfig config(JwtAlgorithm algorithm = JwtAlgorithm::kHS256) const {
    AuthConfig c;
    c.mode = AuthMode::kRequired;
    c.algorithm = algorithm;
    c.secret = kSecret;
    if (algorithm == JwtAlgorithm::kRS256) c.public_key_file = kKeyDir + "rs256_public.pem";
    if (algorithm == JwtAlgorithm::kES256) c.public_key_file = kKeyDir + "es256_public.pem";
    c.issuer = "orderflow";
    c.audience = "orderflow-api";
    c.clock_skew = std::chrono::seconds(30);
    return c;
  }
  ManualClock clock_{Clock::TimePoint{std::chrono::seconds{kNow}}};
};

// libjwt may refuse an unsigned token itself, or decode it and leave the refusal to the pinned
// algorithm: either way it is INVALID_TOKEN.
constexpr const char* kAnyRefusal = "*";
// Valid, with a sub other than claims()' "7".
constexpr const char* kValidOtherSub = "valid";
constexpr const char* kBadSub =
    "'sub' must be a user id of 1 to 128 bytes of UTF-8 text without control characters";

struct TokenCase {
  const char* name;
  std::function<std::string(const nlohmann::json& claims)> token;
  const char* expected_message;  // nullptr: valid
};

TEST_F(TokenTest, Hs256Table) {
  Authenticator auth(config(), clock_);
  auto with = [](nlohmann::json c, const char* key, nlohmann::json value) {
    if (value.is_null()) {
      c.erase(key);
    } else {
      c[key] = std::move(value);
    }
    return c;
  };
  const auto rsa_public = read_key("rs256_public.pem");
  std::vector<TokenCase> cases{
      {"valid", [](auto c) { return sign(c, JWT_ALG_HS256, kSecret); }, nullptr},
      {"expired", [&](auto c) { return sign(with(c, "exp", kNow - 31), JWT_ALG_HS256, kSecret); },
       "token expired"},
      {"expired within the skew",
       [&](auto c) { return sign(with(c, "exp", kNow - 29), JWT_ALG_HS256, kSecret); }, nullptr},
      {"not yet valid",
       [&](auto c) { return sign(with(c, "nbf", kNow + 31), JWT_ALG_HS256, kSecret); },
       "token not yet valid"},
      {"no exp", [&](auto c) { return sign(with(c, "exp", nullptr), JWT_ALG_HS256, kSecret); },
       "'exp' must be a NumericDate"},
      {"wrong signature",
       [](auto c) { return sign(c, JWT_ALG_HS256, "another-secret-another-secret-another"); },
       "malformed token or bad signature"},
      {"alg none",
       [](auto c) {
         return base64url(R"({"alg":"none","typ":"JWT"})") + "." + base64url(c.dump()) + ".";
       },
       kAnyRefusal},
      {"alg none signed by libjwt", [](auto c) { return sign(c, JWT_ALG_NONE, ""); }, kAnyRefusal},
      {"HS512", [](auto c) { return sign(c, JWT_ALG_HS512, kSecret); },
       "algorithm not allowed (expected HS256)"},
      {"wrong issuer", [&](auto c) { return sign(with(c, "iss", "evil"), JWT_ALG_HS256, kSecret); },
       "wrong issuer"},
      {"no issuer", [&](auto c) { return sign(with(c, "iss", nullptr), JWT_ALG_HS256, kSecret); },
       "wrong issuer"},
      {"wrong audience",
       [&](auto c) { return sign(with(c, "aud", "other"), JWT_ALG_HS256, kSecret); },
       "wrong audience"},
      {"audience in a list",
       [&](auto c) {
         return sign(with(c, "aud", {"other", "orderflow-api"}), JWT_ALG_HS256, kSecret);
       },
       nullptr},
      {"missing sub", [&](auto c) { return sign(with(c, "sub", nullptr), JWT_ALG_HS256, kSecret); },
       kBadSub},
      {"empty sub", [&](auto c) { return sign(with(c, "sub", ""), JWT_ALG_HS256, kSecret); },
       kBadSub},
      // Bad input: a sub becomes the user id, the audit actor and log text, so it is an
      // identifier like any other (http::check_identifier).
      {"sub with a newline",
       [&](auto c) { return sign(with(c, "sub", "7\nuser:root"), JWT_ALG_HS256, kSecret); },
       kBadSub},
      {"sub with an escape sequence",
       [&](auto c) { return sign(with(c, "sub", "\x1b[2J7"), JWT_ALG_HS256, kSecret); }, kBadSub},
      {"sub with DEL",
       [&](auto c) { return sign(with(c, "sub", "7\x7f"), JWT_ALG_HS256, kSecret); }, kBadSub},
      {"sub of 129 bytes",
       [&](auto c) { return sign(with(c, "sub", std::string(129, '7')), JWT_ALG_HS256, kSecret); },
       kBadSub},
      {"sub of 128 bytes",
       [&](auto c) {
         return sign(with(c, "sub", std::string(126, '7') + "\xc3\xa9"), JWT_ALG_HS256, kSecret);
       },
       kValidOtherSub},
      {"integer sub", [&](auto c) { return sign(with(c, "sub", 7), JWT_ALG_HS256, kSecret); },
       nullptr},
      // Signed with kSecret outside libjwt (Python hmac): a sub of invalid UTF-8 ("\xff\xfe…")
      // and a lone surrogate ("\ud800"); the JSON parser may refuse them before the sub check.
      {"sub of invalid UTF-8",
       [](auto) {
         return std::string(
             "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
             "eyJzdWIiOiL__mFkbWluIiwicm9sZXMiOlsiYWRtaW4iXSwiaXNzIjoib3JkZXJmbG93IiwiYXVkIjoib3Jk"
             "ZXJmbG93LWFwaSIsIm5iZiI6MTY5OTk5OTk5MCwiZXhwIjoxNzAwMDAzNjAwfQ."
             "6WtJeF2b701QRW95hUQkjwgdF3POc7IpI0qNRaCjtUw");
       },
       kAnyRefusal},
      {"sub of a lone surrogate",
       [](auto) {
         return std::string(
             "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
             "eyJzdWIiOiJcdWQ4MDAiLCJyb2xlcyI6WyJhZG1pbiJdLCJpc3MiOiJvcmRlcmZsb3ciLCJhdWQiOiJvcmRl"
             "cmZsb3ctYXBpIiwibmJmIjoxNjk5OTk5OTkwLCJleHAiOjE3MDAwMDM2MDB9."
             "i97Vp8UA7T1D5h6oXSC-ZArZGe7AD11oX-sXMpMd754");
       },
       kAnyRefusal},
      {"roles not strings",
       [&](auto c) {
         return sign(with(c, "roles", {1, 2}), JWT_ALG_HS256, kSecret);
       },
       "'roles' must be strings"},
      {"malformed: two parts", [](auto) { return std::string("abc.def"); }, "malformed token"},
      {"malformed: garbage", [](auto) { return std::string("a.b.c"); },
       "malformed token or bad signature"},
      {"malformed: spaces", [](auto) { return std::string("a b.c.d"); }, "malformed token"},
      {"malformed: empty", [](auto) { return std::string(); }, "malformed token"},
      {"HS256 with the RSA public key as secret",
       [&](auto c) { return sign(c, JWT_ALG_HS256, rsa_public); },
       "malformed token or bad signature"},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.name);
    auto token = test.token(claims());
    auto principal = auth.verify(token);
    if (test.expected_message == nullptr || test.expected_message == kValidOtherSub) {
      ASSERT_TRUE(principal.ok()) << principal.error().message;
      if (test.expected_message == nullptr) {
        EXPECT_EQ(principal->user_id, "7");
      }
      EXPECT_TRUE(principal->is_admin());
      continue;
    }
    if (principal.ok()) {
      ADD_FAILURE() << "accepted (the other cases still run)";
      continue;
    }
    EXPECT_EQ(principal.error().kind, ErrorKind::kUnauthenticated);
    EXPECT_EQ(principal.error().code, "INVALID_TOKEN");
    if (test.expected_message != kAnyRefusal) {
      EXPECT_EQ(principal.error().message, test.expected_message);
    }
  }
}

TEST_F(TokenTest, Rs256AcceptsItsKeyAndRefusesAlgorithmConfusion) {
  Authenticator auth(config(JwtAlgorithm::kRS256), clock_);
  auto valid = auth.verify(sign(claims(), JWT_ALG_RS256, read_key("rs256_private.pem")));
  ASSERT_TRUE(valid.ok()) << valid.error().message;
  EXPECT_EQ(valid->user_id, "7");

  // The classic confusion: an HS256 token whose HMAC key is the server's RSA public key.
  auto confused = auth.verify(sign(claims(), JWT_ALG_HS256, read_key("rs256_public.pem")));
  ASSERT_FALSE(confused.ok());
  EXPECT_EQ(confused.error().message, "algorithm not allowed (expected RS256)");

  auto none = auth.verify(sign(claims(), JWT_ALG_NONE, ""));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "INVALID_TOKEN");

  auto other_key = auth.verify(sign(claims(), JWT_ALG_ES256, read_key("es256_private.pem")));
  ASSERT_FALSE(other_key.ok());
}

TEST_F(TokenTest, Es256AcceptsItsKeyOnly) {
  Authenticator auth(config(JwtAlgorithm::kES256), clock_);
  auto valid = auth.verify(sign(claims(), JWT_ALG_ES256, read_key("es256_private.pem")));
  ASSERT_TRUE(valid.ok()) << valid.error().message;
  auto rsa = auth.verify(sign(claims(), JWT_ALG_RS256, read_key("rs256_private.pem")));
  ASSERT_FALSE(rsa.ok());
  auto confused = auth.verify(sign(claims(), JWT_ALG_HS256, read_key("es256_public.pem")));
  ASSERT_FALSE(confused.ok());
  EXPECT_EQ(confused.error().message, "algorithm not allowed (expected ES256)");
}

// Tokens signed outside libjwt (Python `cryptography`, tests/data/auth keys; ES256 as raw R||S
// per RFC 7518), with the claims of claims(): the verifier takes other issuers' tokens.
TEST_F(TokenTest, TokensSignedByAnotherLibraryVerify) {
  const std::string es256 =
      "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiI3Iiwicm9sZXMiOlsiYWRtaW4iXSwiaXNzIjoib3JkZXJmbG93IiwiYXVkIjoib3JkZXJmbG93LWFwaSIs"
      "Im5iZiI6MTY5OTk5OTk5MCwiZXhwIjoxNzAwMDAzNjAwfQ.DKGqocYGx4K1PB-"
      "kpouK6xHFvcoRe8LQmguSHdczv85zQoj5363ETztFphorUuq2FFd_NqFZzDjirEpTL8MfPQ";
  const std::string rs256 =
      "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiI3Iiwicm9sZXMiOlsiYWRtaW4iXSwiaXNzIjoib3JkZXJmbG93IiwiYXVkIjoib3JkZXJmbG93LWFwaSIs"
      "Im5iZiI6MTY5OTk5OTk5MCwiZXhwIjoxNzAwMDAzNjAwfQ."
      "ZGs8Xs2AosVPRustke9LqoIICN0R1k9knljp19fLvRRMVOMPC6bg26xgxabBTlRio9LScpJnEhVt4PSsomKDg1YcBQoH"
      "6cK9OFdw4K-vdL0Ab2RZxmrL-Wf9X36UwC7jPUfDdjxhP1blqAyXFnSgKgLKJgRzS3tnr143Xfui__s3zcbdReOlv-D-"
      "GH3zv-aTeAe9vpXT4CGk3Q7eENH9B1HgoRDfz_anUxweUdFJR3qq1LRjLhr0RwSjJpPcD-_RoQ_"
      "cKRlGVKmZeyILjyCBZDFEiH5zzLKh5jKZIR9qyljrVEHJSyOWh-dtPKJldt7nlUY5WbR1A3-gcPi8A2Ye3g";
  auto es = Authenticator(config(JwtAlgorithm::kES256), clock_).verify(es256);
  ASSERT_TRUE(es.ok()) << es.error().message;
  EXPECT_EQ(es->user_id, "7");
  auto rs = Authenticator(config(JwtAlgorithm::kRS256), clock_).verify(rs256);
  ASSERT_TRUE(rs.ok()) << rs.error().message;
  EXPECT_TRUE(rs->is_admin());
}

TEST_F(TokenTest, TheClockDecidesExpiry) {
  Authenticator auth(config(), clock_);
  auto token = sign(claims(), JWT_ALG_HS256, kSecret);
  EXPECT_TRUE(auth.verify(token).ok());
  clock_.advance(std::chrono::seconds(3600 + 29));
  EXPECT_TRUE(auth.verify(token).ok()) << "within the clock skew";
  clock_.advance(std::chrono::seconds(2));
  EXPECT_EQ(auth.verify(token).error().message, "token expired");
}

TEST_F(TokenTest, AuthenticateByModeAndAccess) {
  auto user_claims = claims();
  user_claims.erase("roles");
  auto token = sign(user_claims, JWT_ALG_HS256, kSecret);
  auto admin = sign(claims(), JWT_ALG_HS256, kSecret);
  Authenticator required(config(), clock_);
  EXPECT_EQ(required.authenticate(std::nullopt, Access::kUser).error().code, "MISSING_TOKEN");
  EXPECT_EQ(required.authenticate(std::nullopt, Access::kUser).error().kind,
            ErrorKind::kUnauthenticated);
  EXPECT_FALSE(required.authenticate(std::nullopt, Access::kOpen).value().has_value());
  EXPECT_EQ(required.authenticate("Bearer " + token, Access::kUser).value()->user_id, "7");
  EXPECT_EQ(required.authenticate("bearer  " + token + " ", Access::kUser).value()->user_id, "7");
  EXPECT_EQ(required.authenticate("Basic dXNlcjpwdw==", Access::kUser).error().code,
            "INVALID_TOKEN");
  EXPECT_EQ(required.authenticate("Bearer " + token, Access::kAdmin).error().kind,
            ErrorKind::kForbidden);
  EXPECT_TRUE(required.authenticate("Bearer " + admin, Access::kAdmin).value()->is_admin());

  auto optional_config = config();
  optional_config.mode = AuthMode::kOptional;
  Authenticator optional(optional_config, clock_);
  EXPECT_FALSE(optional.authenticate(std::nullopt, Access::kAdmin).value().has_value());
  EXPECT_EQ(optional.authenticate("Bearer " + token, Access::kUser).value()->user_id, "7");
  EXPECT_EQ(optional.authenticate("Bearer x.y.z", Access::kUser).error().code, "INVALID_TOKEN")
      << "a bad token is refused, never a fallback to the anonymous path";
  EXPECT_EQ(optional.authenticate("Bearer " + token, Access::kAdmin).error().kind,
            ErrorKind::kForbidden);
}

TEST_F(TokenTest, MintedTokensVerify) {
  auto minted = mint_hs256(config(), {"42", {"admin"}, std::chrono::seconds(60)}, clock_.now());
  ASSERT_TRUE(minted.ok()) << minted.error().message;
  Authenticator auth(config(), clock_);
  auto principal = auth.verify(*minted);
  ASSERT_TRUE(principal.ok()) << principal.error().message;
  EXPECT_EQ(principal->user_id, "42");
  EXPECT_TRUE(principal->is_admin());
  clock_.advance(std::chrono::seconds(60 + 30));
  EXPECT_EQ(auth.verify(*minted).error().message, "token expired");

  auto weak = config();
  weak.secret = "short";
  EXPECT_EQ(mint_hs256(weak, {"42", {}, std::chrono::seconds(60)}, clock_.now()).error().code,
            "WEAK_SECRET");
  EXPECT_EQ(
      mint_hs256(config(JwtAlgorithm::kRS256), {"42", {}, std::chrono::seconds(60)}, clock_.now())
          .error()
          .code,
      "UNSUPPORTED_ALGORITHM");
  // A user id verify() would refuse as sub is refused at mint time, with the same rule.
  for (const std::string bad : {std::string("alice\nroot"), std::string(129, 'a'),
                                std::string("\x1b[31m"), std::string("\xff")}) {
    EXPECT_EQ(mint_hs256(config(), {bad, {}, std::chrono::seconds(60)}, clock_.now()).error().code,
              "INVALID_FIELD")
        << bad;
  }
  EXPECT_EQ(mint_hs256(config(), {"", {}, std::chrono::seconds(60)}, clock_.now()).error().code,
            "MISSING_USER");
}

TEST_F(TokenTest, AnUnusableKeyStopsStartUp) {
  auto weak = config();
  weak.secret = "short";
  EXPECT_THROW(Authenticator(weak, clock_), std::runtime_error);
  auto missing = config(JwtAlgorithm::kRS256);
  missing.public_key_file = kKeyDir + "absent.pem";
  EXPECT_THROW(Authenticator(missing, clock_), std::runtime_error);
  auto private_key = config(JwtAlgorithm::kRS256);
  private_key.public_key_file = kKeyDir + "rs256_private.pem";
  EXPECT_THROW(Authenticator(private_key, clock_), std::runtime_error);
  auto none = config();
  none.mode = AuthMode::kNone;
  none.secret.clear();
  EXPECT_NO_THROW(Authenticator(none, clock_));
}

}  // namespace
}  // namespace orderflow::http
