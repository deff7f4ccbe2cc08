// Gateway sessions (ABDM POST /v0.5/sessions): a machine client of a facility trades its client
// credentials for a short-lived JWT that every Kavach node of the network can verify offline with
// the consent manager's published keys (/v0.5/certs).
//
// The JWT is signed by the CM's Ed25519 key ("alg": "EdDSA", RFC 8037) and carries the issuer
// (the CM's id), the client id, its scopes, issued-at, expiry and a unique id. verify() accepts
// only that exact algorithm (no "none", no HMAC confusion), a trusted key, the expected issuer and
// an unexpired token, with a small allowance for clock skew.
// Thread-safety: the issuer is immutable after construction; verify is stateless.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/token_service.h"
#include "common/clock.h"
#include "common/error.h"
#include "consent/consent_artefact.h"

namespace kavach::exchange {

inline constexpr std::size_t kSessionTokenBytesMax = 4096;
inline constexpr std::int64_t kClockSkewSeconds = 60;

class SessionTokenIssuer {
 public:
  SessionTokenIssuer(const consent::ArtefactSigner& signer, std::string issuer, const Clock& clock,
                     std::chrono::seconds lifetime = std::chrono::minutes(10))
      : signer_(signer), issuer_(std::move(issuer)), clock_(clock), lifetime_(lifetime) {}

  auth::IssuedToken issue(std::string_view client_id, const auth::ScopeSet& scopes) const;

 private:
  const consent::ArtefactSigner& signer_;
  const std::string issuer_;
  const Clock& clock_;
  const std::chrono::seconds lifetime_;
};

// True when `token` has the shape of a JWT (three base64url parts, a JSON header).
bool looks_like_jwt(std::string_view token);

// The caller a session JWT names; kUnauthenticated for anything malformed, forged, from another
// issuer or expired.
Result<auth::AccessToken> verify_session_token(std::string_view token,
                                               const consent::ArtefactVerifier& keys,
                                               std::string_view issuer, std::int64_t now_s);

}  // namespace kavach::exchange
