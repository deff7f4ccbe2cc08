// Messages between Kavach nodes that are not the consent manager's own notices: a facility's node
// (HIP or HIU) calling its CM signs each body with its node key, whose public half the CM's
// registry holds for that facility, instead of presenting a bearer token. A signature binds the
// whole message (requestId and timestamp included) to the facility, so it cannot be replayed past
// the timestamp window nor edited on the way; no shared secret ever leaves a node.
//
// Headers: X-Kavach-Facility names the signer; X-Kavach-Signature is the Ed25519 signature over
// the RFC 8785 form of the body, in standard base64 (the CM signs its notices the same way).
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include <boost/json/object.hpp>

#include "auth/token_service.h"
#include "common/error.h"
#include "consent/facility_registry.h"

namespace kavach::exchange {

inline constexpr std::string_view kFacilityHeader = "X-Kavach-Facility";
inline constexpr std::string_view kHipScope = "abdm/hip";

// The access token of a message signed by the active registered facility `facility_id` (scopes
// abdm/hip and/or abdm/hiu, facility:<id>): kUnauthenticated when the facility is unknown or
// inactive, has no key, the signature is not its, or the timestamp is outside ABDM's window.
Result<auth::AccessToken> authenticate_peer_message(consent::FacilityRegistry& registry,
                                                    std::string_view facility_id,
                                                    std::string_view body,
                                                    std::string_view signature,
                                                    std::int64_t now_ms);

// A node's signed, synchronous call to its CM: posts `body` (given a fresh requestId and
// timestamp) to `path` and returns the CM's answer, or the CM's error as an Error.
using PeerCall =
    std::function<Result<boost::json::object>(std::string_view path, boost::json::object body)>;

}  // namespace kavach::exchange
