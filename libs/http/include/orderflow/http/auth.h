#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orderflow/common/clock.h"
#include "orderflow/common/result.h"

namespace orderflow::http {

/// auth.mode: kNone ignores credentials; kOptional verifies a bearer token when one is sent (it
/// then wins over the body's or X-User-Id's user) and lets a request without one through as
/// before; kRequired refuses every non-open route without a valid token.
enum class AuthMode { kNone, kOptional, kRequired };

/// auth.algorithm: the only JWS algorithm accepted (pinned; a token naming another, `none`
/// included, is refused).
enum class JwtAlgorithm { kHS256, kRS256, kES256 };

/// Config section `auth`.
struct AuthConfig {
  AuthMode mode = AuthMode::kNone;
  JwtAlgorithm algorithm = JwtAlgorithm::kHS256;
  std::string secret;           ///< auth.secret: HS256 shared secret (≥ 32 bytes)
  std::string public_key_file;  ///< auth.public_key_file: PEM public key for RS256/ES256
  std::string issuer;           ///< auth.issuer: required `iss` (empty = not checked)
  std::string audience;         ///< auth.audience: required in `aud` (empty = not checked)
  /// auth.clock_skew_ms: tolerance for `exp` and `nbf` against the verifier's clock.
  std::chrono::milliseconds clock_skew{30000};
};

/// "none" | "optional" | "required" and "HS256" | "RS256" | "ES256"; nullopt for anything else.
std::optional<AuthMode> parse_auth_mode(std::string_view text);
std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view text);
const char* to_string(JwtAlgorithm algorithm);

/// The caller a verified token names.
struct Principal {
  std::string user_id;             ///< the token's `sub`
  std::vector<std::string> roles;  ///< the token's `roles` claim
  [[nodiscard]] bool is_admin() const;
};

/// What a route asks of its caller (Router::add). kOpen: never authenticated (/health/*,
/// /metrics). kUser: a valid token with kRequired. kAdmin: a token with the `admin` role with
/// kRequired; with kOptional only when a token is sent.
enum class Access { kOpen, kUser, kAdmin };

/// Verifies bearer tokens (JWS compact, libjwt) against one pinned algorithm and key. The token
/// must carry `sub` (a string or integer user id) and `exp`; `nbf`, `iss` and `aud` are checked
/// when present or configured, `exp`/`nbf` with config.clock_skew against `clock`. Thread-safe.
class Authenticator {
 public:
  /// Reads the key (auth.secret or auth.public_key_file). Throws std::runtime_error (a start-up
  /// failure) when it is missing, unreadable or too short. `clock` must outlive this.
  Authenticator(AuthConfig config, const Clock& clock);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  [[nodiscard]] const AuthConfig& config() const;

  /// The principal of a compact JWS, or kUnauthenticated INVALID_TOKEN whose message says why
  /// (malformed, bad signature, algorithm not allowed, expired, not yet valid, wrong issuer or
  /// audience, missing exp, bad roles, a missing sub or one that is not a user id as
  /// check_identifier (types.h) defines it: 1 to 128 bytes of UTF-8 text without control
  /// characters). The message never repeats the token's claims.
  [[nodiscard]] Result<Principal> verify(std::string_view token) const;

  /// The decision for a request to a route of `access` given its Authorization header:
  /// a principal, nullopt (anonymous: kNone, kOpen routes, or kOptional without a header), or
  /// an error: kUnauthenticated MISSING_TOKEN / INVALID_TOKEN (also for a non-Bearer header),
  /// kForbidden ADMIN_REQUIRED for a kAdmin route without the admin role.
  [[nodiscard]] Result<std::optional<Principal>> authenticate(
      const std::optional<std::string>& authorization, Access access) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// What `orderflow token` mints.
struct MintRequest {
  std::string user_id;
  std::vector<std::string> roles;
  std::chrono::seconds ttl{3600};
};

/// An HS256 token signed with config.secret carrying sub, roles, iat, nbf, exp (now + ttl) and
/// iss/aud when configured. kInvalidInput when the config's algorithm is not HS256, the secret
/// is shorter than 32 bytes or the user id is empty (MISSING_USER) or not an identifier as
/// check_identifier defines it (INVALID_FIELD).
Result<std::string> mint_hs256(const AuthConfig& config, const MintRequest& request,
                               Clock::TimePoint now);

}  // namespace orderflow::http
