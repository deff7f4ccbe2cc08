#include "exchange/peer_messages.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/limits.h"
#include "consent/consent_record_gate.h"
#include "consent/hip_consents.h"
#include "crypto/encoding.h"

namespace kavach::exchange {

Result<auth::AccessToken> authenticate_peer_message(consent::FacilityRegistry& registry,
                                                    std::string_view facility_id,
                                                    std::string_view body,
                                                    std::string_view signature,
                                                    std::int64_t now_ms) {
  const auto refused = [&](std::string_view why) {
    return make_error(
        ErrorCode::kUnauthenticated,
        fmt::format("the message signed for facility '{}' is refused: {}", facility_id, why));
  };
  auto facility = registry.facility(facility_id);
  if (!facility) {
    if (facility.error().code == ErrorCode::kNotFound) return refused("no such facility");
    return tl::unexpected(facility.error());
  }
  if (!facility->active) return refused("the facility is inactive");
  const auto key = crypto::from_base64url(facility->public_key);
  if (!key || key->size() != 32) return refused("the facility has no registered key");
  std::array<std::uint8_t, 32> key_bytes{};
  std::copy(key->begin(), key->end(), key_bytes.begin());

  boost::json::parse_options options;
  options.max_depth = limits::kJsonDepthMax;
  boost::system::error_code error;
  const auto parsed = boost::json::parse(body, error, {}, options);
  if (error || !parsed.is_object()) return refused("the body is not a JSON object");
  RETURN_IF_ERROR(consent::verify_signed_message(
      consent::ArtefactVerifier::from_public_key(key_bytes), parsed.as_object(), signature, now_ms,
      fmt::format("facility '{}'", facility_id)));
  std::string scopes;
  if (facility->hip) scopes += fmt::format("{} ", kHipScope);
  if (facility->hiu) scopes += fmt::format("{} ", consent::kHiuScope);
  scopes += fmt::format("{}{}", consent::kFacilityScopePrefix, facility->id);
  ASSIGN_OR_RETURN(auto scope_set, auth::ScopeSet::parse(scopes));
  return auth::AccessToken{fmt::format("facility:{}", facility->id), std::move(scope_set),
                           now_ms + consent::kMessageSkewFutureMs};
}

}  // namespace kavach::exchange
