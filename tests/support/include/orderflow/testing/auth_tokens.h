#pragma once

#include <jwt.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "orderflow/common/clock.h"
#include "orderflow/http/auth.h"

namespace orderflow::testing {

/// The HS256 secret of the tests' auth configurations (not the dev config's).
inline const std::string kTestAuthSecret = "integration-test-secret-0123456789abcdef";

/// auth.mode `mode` (required by default) with HS256 and kTestAuthSecret.
inline http::AuthConfig test_auth_config(http::AuthMode mode = http::AuthMode::kRequired) {
  http::AuthConfig config;
  config.mode = mode;
  config.algorithm = http::JwtAlgorithm::kHS256;
  config.secret = kTestAuthSecret;
  return config;
}

/// A token of `claims` signed by libjwt itself with `alg` and `key` (a secret or a PEM private
/// key; empty for `none`), checking nothing: what mint_hs256 would refuse (a sub that is no user
/// id) is signed too. "" when libjwt cannot sign.
inline std::string sign_token(const nlohmann::json& claims, jwt_alg_t alg, const std::string& key) {
  jwt_t* jwt = nullptr;
  if (jwt_new(&jwt) != 0) return "";
  std::string token;
  const auto* bytes = key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data());
  if (jwt_add_grants_json(jwt, claims.dump().c_str()) == 0 &&
      jwt_set_alg(jwt, alg, bytes, static_cast<int>(key.size())) == 0) {
    char* text = jwt_encode_str(jwt);
    token = text ? text : "";
    std::free(text);
  }
  jwt_free(jwt);
  return token;
}

/// A token for `user` with `roles`, valid for an hour from `now`, signed with `secret`
/// (kTestAuthSecret; another secret makes a badly signed token).
inline std::string test_token(const std::string& user, std::vector<std::string> roles = {},
                              Clock::TimePoint now = std::chrono::system_clock::now(),
                              const std::string& secret = kTestAuthSecret) {
  auto config = test_auth_config();
  config.secret = secret;
  return http::mint_hs256(config, {user, std::move(roles), std::chrono::hours(1)}, now).value();
}

/// A well-formed token signed with the wrong secret.
inline std::string badly_signed_token(const std::string& user,
                                      Clock::TimePoint now = std::chrono::system_clock::now()) {
  return test_token(user, {"admin"}, now, "not-the-test-secret-0123456789abcdefgh");
}

/// {"Authorization", "Bearer <token>"}.
inline std::pair<std::string, std::string> bearer(const std::string& token) {
  return {"Authorization", "Bearer " + token};
}

}  // namespace orderflow::testing
