#include "orderflow/http/auth.h"

#include <jwt.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "orderflow/http/types.h"

namespace orderflow::http {

namespace {

// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
constexpr std::size_t kMinSecretBytes = 32;
// Far beyond any token this system mints; the server's header limit (8 KiB) is the outer bound.
constexpr std::size_t kMaxTokenBytes = 8192;

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

struct FreeDeleter {
  void operator()(char* text) const { std::free(text); }
};
using CString = std::unique_ptr<char, FreeDeleter>;

jwt_alg_t to_libjwt(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kHS256:
      return JWT_ALG_HS256;
    case JwtAlgorithm::kRS256:
      return JWT_ALG_RS256;
    case JwtAlgorithm::kES256:
      return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

Error invalid_token(const std::string& why) { return unauthenticated("INVALID_TOKEN", why); }

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// The compact serialization's alphabet (base64url and the two dots); anything else is refused
// before libjwt parses it.
bool well_formed(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes) return false;
  if (std::count(token.begin(), token.end(), '.') != 2) return false;
  return std::all_of(token.begin(), token.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("auth.public_key_file: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<double> numeric_date(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) {
    return invalid_token(std::string("'") + name + "' must be a NumericDate");
  }
  return it->get<double>();
}

}  // namespace

std::optional<AuthMode> parse_auth_mode(std::string_view text) {
  if (text == "none") return AuthMode::kNone;
  if (text == "optional") return AuthMode::kOptional;
  if (text == "required") return AuthMode::kRequired;
  return std::nullopt;
}

std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view text) {
  if (text == "HS256") return JwtAlgorithm::kHS256;
  if (text == "RS256") return JwtAlgorithm::kRS256;
  if (text == "ES256") return JwtAlgorithm::kES256;
  return std::nullopt;
}

const char* to_string(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kHS256:
      return "HS256";
    case JwtAlgorithm::kRS256:
      return "RS256";
    case JwtAlgorithm::kES256:
      return "ES256";
  }
  return "?";
}

bool Principal::is_admin() const {
  return std::find(roles.begin(), roles.end(), "admin") != roles.end();
}

class Authenticator::Impl {
 public:
  Impl(AuthConfig config, const Clock& clock) : config_(std::move(config)), clock_(clock) {
    if (config_.mode == AuthMode::kNone) return;
    if (config_.algorithm == JwtAlgorithm::kHS256) {
      if (config_.secret.size() < kMinSecretBytes) {
        throw std::runtime_error("auth.secret: HS256 needs a secret of at least " +
                                 std::to_string(kMinSecretBytes) + " bytes");
      }
      key_ = config_.secret;
    } else {
      if (config_.public_key_file.empty()) {
        throw std::runtime_error(std::string("auth.public_key_file: ") +
                                 to_string(config_.algorithm) + " needs a PEM public key file");
      }
      key_ = read_file(config_.public_key_file);
      if (key_.find("-----BEGIN PUBLIC KEY-----") == std::string::npos) {
        throw std::runtime_error("auth.public_key_file: " + config_.public_key_file +
                                 " is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
      }
    }
  }

  Result<Principal> verify(std::string_view token) const {
    if (!well_formed(token)) return invalid_token("malformed token");
    std::string text(token);
    jwt_t* raw = nullptr;
    int rc = jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                        static_cast<int>(key_.size()));
    JwtPtr jwt(raw);
    if (rc != 0 || !jwt) return invalid_token("malformed token or bad signature");
    // jwt_decode verifies with whatever algorithm the token names: `none` passes unsigned, and
    // an HS256 token "signed" with the RS256 public key as HMAC secret verifies. Only the
    // configured algorithm counts.
    if (jwt_get_alg(jwt.get()) != to_libjwt(config_.algorithm)) {
      return invalid_token(std::string("algorithm not allowed (expected ") +
                           to_string(config_.algorithm) + ")");
    }
    CString grants(jwt_get_grants_json(jwt.get(), nullptr));
    if (!grants) return invalid_token("no claims");
    auto claims = nlohmann::json::parse(grants.get(), nullptr, /*allow_exceptions=*/false);
    if (!claims.is_object()) return invalid_token("claims are not a JSON object");
    return check_claims(claims);
  }

  Result<Principal> check_claims(const nlohmann::json& claims) const {
    auto now = std::chrono::duration<double>(clock_.now().time_since_epoch()).count();
    double skew = std::chrono::duration<double>(config_.clock_skew).count();
    auto exp = numeric_date(claims, "exp");
    if (!exp) return exp.error();
    if (now - skew >= *exp) return invalid_token("token expired");
    if (claims.contains("nbf")) {
      auto nbf = numeric_date(claims, "nbf");
      if (!nbf) return nbf.error();
      if (now + skew < *nbf) return invalid_token("token not yet valid");
    }
    if (!config_.issuer.empty()) {
      auto iss = claims.find("iss");
      if (iss == claims.end() || !iss->is_string() || *iss != config_.issuer) {
        return invalid_token("wrong issuer");
      }
    }
    if (!config_.audience.empty() && !audience_matches(claims)) {
      return invalid_token("wrong audience");
    }
    Principal principal;
    auto sub = claims.find("sub");
    if (sub != claims.end() && sub->is_string()) {
      principal.user_id = sub->get<std::string>();
    } else if (sub != claims.end() && sub->is_number_integer()) {
      principal.user_id = sub->dump();
    }
    // The sub becomes the user id stored with orders, the audit trail's actor and log text: an
    // identifier like one a client names, or the token is not valid here. The message never
    // repeats it.
    if (!check_identifier(principal.user_id, "sub")) {
      return invalid_token(
          "'sub' must be a user id of 1 to 128 bytes of UTF-8 text without control characters");
    }
    if (auto roles = claims.find("roles"); roles != claims.end()) {
      if (roles->is_string()) {
        principal.roles.push_back(roles->get<std::string>());
      } else if (roles->is_array()) {
        for (const auto& role : *roles) {
          if (!role.is_string()) return invalid_token("'roles' must be strings");
          principal.roles.push_back(role.get<std::string>());
        }
      } else {
        return invalid_token("'roles' must be a string or an array of strings");
      }
    }
    return principal;
  }

  bool audience_matches(const nlohmann::json& claims) const {
    auto aud = claims.find("aud");
    if (aud == claims.end()) return false;
    if (aud->is_string()) return *aud == config_.audience;
    if (!aud->is_array()) return false;
    return std::any_of(aud->begin(), aud->end(), [this](const nlohmann::json& item) {
      return item.is_string() && item == config_.audience;
    });
  }

  Result<std::optional<Principal>> authenticate(const std::optional<std::string>& authorization,
                                                Access access) const {
    if (config_.mode == AuthMode::kNone || access == Access::kOpen) {
      return std::optional<Principal>{};
    }
    if (!authorization) {
      if (config_.mode == AuthMode::kOptional) return std::optional<Principal>{};
      return unauthenticated("MISSING_TOKEN", "a bearer token is required");
    }
    // A header that is present but unusable never falls back to the anonymous path.
    std::string_view header(*authorization);
    if (!iequals_prefix(header, "Bearer ")) {
      return invalid_token("the Authorization header must be 'Bearer <token>'");
    }
    header.remove_prefix(7);
    while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
    while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
    auto principal = verify(header);
    if (!principal) return principal.error();
    if (access == Access::kAdmin && !principal->is_admin()) {
      return forbidden("ADMIN_REQUIRED", "this route needs a token with the admin role");
    }
    return std::optional<Principal>(std::move(principal).value());
  }

  const AuthConfig config_;

 private:
  const Clock& clock_;
  std::string key_;
};

Authenticator::Authenticator(AuthConfig config, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(config), clock)) {}

Authenticator::~Authenticator() = default;

const AuthConfig& Authenticator::config() const { return impl_->config_; }

Result<Principal> Authenticator::verify(std::string_view token) const {
  return impl_->verify(token);
}

Result<std::optional<Principal>> Authenticator::authenticate(
    const std::optional<std::string>& authorization, Access access) const {
  return impl_->authenticate(authorization, access);
}

Result<std::string> mint_hs256(const AuthConfig& config, const MintRequest& request,
                               Clock::TimePoint now) {
  if (config.algorithm != JwtAlgorithm::kHS256) {
    return invalid_input("UNSUPPORTED_ALGORITHM",
                         std::string("auth.algorithm is ") + to_string(config.algorithm) +
                             "; only HS256 development tokens can be minted here");
  }
  if (config.secret.size() < kMinSecretBytes) {
    return invalid_input("WEAK_SECRET", "auth.secret must be at least " +
                                            std::to_string(kMinSecretBytes) + " bytes");
  }
  if (request.user_id.empty()) return invalid_input("MISSING_USER", "a user id is required");
  // verify() refuses a sub that is not an identifier: minting one would only make a token that
  // every service answers with 401.
  if (auto id = check_identifier(request.user_id, "user id"); !id) return id.error();
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return internal_error("JWT", "jwt_new failed");
  JwtPtr jwt(raw);
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  nlohmann::json claims = {{"sub", request.user_id},
                           {"roles", request.roles},
                           {"iat", seconds},
                           {"nbf", seconds},
                           {"exp", seconds + request.ttl.count()}};
  if (!config.issuer.empty()) claims["iss"] = config.issuer;
  if (!config.audience.empty()) claims["aud"] = config.audience;
  if (jwt_add_grants_json(jwt.get(), claims.dump().c_str()) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_HS256,
                  reinterpret_cast<const unsigned char*>(config.secret.data()),
                  static_cast<int>(config.secret.size())) != 0) {
    return internal_error("JWT", "cannot build the token");
  }
  CString token(jwt_encode_str(jwt.get()));
  if (!token) return internal_error("JWT", "cannot sign the token");
  return std::string(token.get());
}

}  // namespace orderflow::http
