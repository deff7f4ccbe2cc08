#include "auth/token_service.h"

#include <charconv>

#include <fmt/format.h>

#include "common/limits.h"
#include "crypto/encoding.h"
#include "crypto/keyed_hash.h"

namespace kavach::auth {
namespace {

constexpr std::string_view kPrefix = "kv1.";

tl::unexpected<Error> unauthenticated(std::string message) {
  return make_error(ErrorCode::kUnauthenticated, std::move(message));
}

}  // namespace

IssuedToken TokenService::issue(std::string_view client_id, const ScopeSet& scopes) const {
  const auto expires_at_ms =
      unix_ms(clock_.now()) +
      std::chrono::duration_cast<std::chrono::milliseconds>(lifetime_).count();
  const std::string payload = fmt::format("{}\n{}\n{}", client_id, scopes.text(), expires_at_ms);
  std::string signed_part =
      fmt::format("{}{}", kPrefix, crypto::to_base64url(crypto::as_bytes(payload)));
  const auto tag = crypto::mac(key_, crypto::as_bytes(signed_part));
  return IssuedToken{fmt::format("{}.{}", signed_part, crypto::to_base64url(tag)), lifetime_};
}

Result<AccessToken> TokenService::verify(std::string_view token) const {
  if (token.size() > limits::kTokenBytesMax || !token.starts_with(kPrefix)) {
    return unauthenticated("the access token is not one this node issued");
  }
  const auto dot = token.rfind('.');
  if (dot < kPrefix.size()) return unauthenticated("the access token is malformed");
  const auto signed_part = token.substr(0, dot);
  const auto tag = crypto::from_base64url(token.substr(dot + 1));
  if (!tag || !crypto::verify_mac(key_, crypto::as_bytes(signed_part), *tag)) {
    return unauthenticated("the access token's signature does not verify");
  }
  const auto payload_bytes = crypto::from_base64url(signed_part.substr(kPrefix.size()));
  if (!payload_bytes) return unauthenticated("the access token is malformed");
  const std::string_view payload = crypto::as_text(*payload_bytes);
  const auto first = payload.find('\n');
  const auto second = payload.find('\n', first == std::string_view::npos ? 0 : first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos) {
    return unauthenticated("the access token is malformed");
  }
  AccessToken access;
  access.client_id = std::string(payload.substr(0, first));
  const auto expiry = payload.substr(second + 1);
  const auto parsed =
      std::from_chars(expiry.data(), expiry.data() + expiry.size(), access.expires_at_ms);
  auto scopes = ScopeSet::parse(payload.substr(first + 1, second - first - 1));
  if (parsed.ec != std::errc() || parsed.ptr != expiry.data() + expiry.size() || !scopes) {
    return unauthenticated("the access token is malformed");
  }
  if (access.expires_at_ms <= unix_ms(clock_.now())) {
    return unauthenticated("the access token has expired; request a new one");
  }
  access.scopes = std::move(*scopes);
  return access;
}

}  // namespace kavach::auth
