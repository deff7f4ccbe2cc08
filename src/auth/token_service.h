// TokenService issues and verifies short-lived bearer access tokens for machine clients.
//
// A token is self-contained and authenticated: "kv1.<payload>.<tag>", both parts base64url, where
// the payload holds the client id, the granted scopes and the expiry, and the tag is an
// HMAC-SHA-512-256 under the node's token key (kept wrapped in the store like every other key), so
// any worker thread or a restarted process verifies it without a lookup.
// Thread-safety: safe from any thread once constructed.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "auth/scopes.h"
#include "common/clock.h"
#include "common/error.h"
#include "crypto/secret_bytes.h"

namespace kavach::auth {

struct AccessToken {
  std::string client_id;
  ScopeSet scopes;
  std::int64_t expires_at_ms = 0;
  // The consent artefact the caller reads under (sent as the X-Kavach-Consent header), or "".
  // Not part of the token: it names a grant that the record store checks on every record.
  std::string consent_id = {};
};

struct IssuedToken {
  std::string token;
  std::chrono::seconds lifetime;
};

class TokenService {
 public:
  TokenService(crypto::SecretBytes key, const Clock& clock, std::chrono::seconds lifetime)
      : key_(std::move(key)), clock_(clock), lifetime_(lifetime) {}

  IssuedToken issue(std::string_view client_id, const ScopeSet& scopes) const;
  // kUnauthenticated for anything malformed, forged or expired.
  Result<AccessToken> verify(std::string_view token) const;

 private:
  const crypto::SecretBytes key_;
  const Clock& clock_;
  const std::chrono::seconds lifetime_;
};

}  // namespace kavach::auth
