#include "exchange/session_tokens.h"

#include <algorithm>

#include <boost/json.hpp>

#include "crypto/encoding.h"
#include "crypto/secret_bytes.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;

Error rejected() {
  return Error{ErrorCode::kUnauthenticated, "the session token is not valid; ask for a new one"};
}

std::string base64url_json(const json::object& object) {
  return crypto::to_base64url(crypto::as_bytes(json::serialize(object)));
}

Result<json::object> decode_part(std::string_view part) {
  auto bytes = crypto::from_base64url(part);
  if (!bytes) return tl::unexpected(rejected());
  boost::system::error_code error;
  auto value = json::parse(crypto::as_text(*bytes), error);
  if (error || !value.is_object()) return tl::unexpected(rejected());
  return std::move(value.as_object());
}

}  // namespace

auth::IssuedToken SessionTokenIssuer::issue(std::string_view client_id,
                                            const auth::ScopeSet& scopes) const {
  const std::int64_t now_s = unix_ms(clock_.now()) / 1000;
  const json::object header{{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", signer_.key_id()}};
  const json::object claims{{"iss", issuer_},
                            {"sub", client_id},
                            {"clientId", client_id},
                            {"scope", scopes.text()},
                            {"iat", now_s},
                            {"exp", now_s + lifetime_.count()},
                            {"jti", crypto::to_hex(crypto::SecretBytes::random(16).view())}};
  std::string token = base64url_json(header) + "." + base64url_json(claims);
  const auto signature = signer_.sign_bytes(crypto::as_bytes(token));
  token += "." + crypto::to_base64url(signature);
  return auth::IssuedToken{std::move(token), lifetime_};
}

bool looks_like_jwt(std::string_view token) {
  return token.starts_with("eyJ") && std::count(token.begin(), token.end(), '.') == 2;
}

Result<auth::AccessToken> verify_session_token(std::string_view token,
                                               const consent::ArtefactVerifier& keys,
                                               std::string_view issuer, std::int64_t now_s) {
  if (token.size() > kSessionTokenBytesMax || !looks_like_jwt(token)) {
    return tl::unexpected(rejected());
  }
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  const std::string_view signed_part = token.substr(0, second);
  auto signature = crypto::from_base64url(token.substr(second + 1));
  if (!signature || !keys.verify_bytes(crypto::as_bytes(signed_part), *signature)) {
    return tl::unexpected(rejected());
  }
  ASSIGN_OR_RETURN(const auto header, decode_part(token.substr(0, first)));
  ASSIGN_OR_RETURN(const auto claims, decode_part(token.substr(first + 1, second - first - 1)));
  // Only the algorithm the CM uses: a token claiming another is refused even when its bytes
  // happen to verify.
  const auto* alg = header.if_contains("alg");
  if (alg == nullptr || *alg != "EdDSA") return tl::unexpected(rejected());
  const auto* iss = claims.if_contains("iss");
  const auto* sub = claims.if_contains("sub");
  const auto* scope = claims.if_contains("scope");
  const auto* exp = claims.if_contains("exp");
  if (iss == nullptr || !iss->is_string() || iss->as_string() != issuer || sub == nullptr ||
      !sub->is_string() || scope == nullptr || !scope->is_string() || exp == nullptr ||
      !exp->is_int64()) {
    return tl::unexpected(rejected());
  }
  if (exp->as_int64() + kClockSkewSeconds <= now_s) return tl::unexpected(rejected());
  auto scopes = auth::ScopeSet::parse(scope->as_string());
  if (!scopes) return tl::unexpected(rejected());
  return auth::AccessToken{std::string(sub->as_string()), std::move(*scopes),
                           exp->as_int64() * 1000, ""};
}

}  // namespace kavach::exchange
