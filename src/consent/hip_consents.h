// HipConsents: a provider node's copy of the artefacts that name it, as the consent manager sends
// them (ABDM consents/hip/notify), and the current status of each.
//
// A notice is accepted only when the whole message carries the CM's signature (header
// X-Kavach-Signature, see consent_outbox.h), its timestamp is within ABDM's window, and the
// artefact inside verifies against the CM's keys and names this HIP. Status moves one way:
// GRANTED, then REVOKED or EXPIRED, never back, so a replayed or delayed GRANTED notice cannot
// revive a revoked consent. Repeats are acknowledged and change nothing (idempotent receiver).
// Artefacts are re-verified whenever they are read back, so an edited row is never honoured.
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "consent/consent_artefact.h"
#include "vault/sealed_documents.h"

namespace kavach::consent {

inline constexpr std::string_view kHipConsentType = "_HipConsent";
// ABDM's gateway accepts timestamps from one minute before to nine after its own clock.
inline constexpr std::int64_t kMessageSkewPastMs = 60'000;
inline constexpr std::int64_t kMessageSkewFutureMs = 9 * 60'000;

struct HeldConsent {
  VerifiedArtefact artefact;
  ConsentStatus status;
  std::int64_t status_changed_at_ms = 0;
};

// Checks the CM's signature over a message body and its timestamp window.
Status verify_cm_message(const ArtefactVerifier& verifier, const boost::json::object& body,
                         std::string_view signature, std::int64_t now_ms);

class HipConsents {
 public:
  HipConsents(vault::SealedDocuments& documents, ArtefactVerifier verifier, std::string hip_id)
      : documents_(documents), verifier_(std::move(verifier)), hip_id_(std::move(hip_id)) {}

  // Applies a consents/hip/notify message; returns the status now held.
  Result<ConsentStatus> receive(const boost::json::object& body, std::string_view signature);
  // The artefact and its current status; kNotFound when this HIP never received it.
  Result<HeldConsent> consent(std::string_view consent_id);
  const std::string& hip_id() const { return hip_id_; }

 private:
  vault::SealedDocuments& documents_;
  const ArtefactVerifier verifier_;
  const std::string hip_id_;
};

}  // namespace kavach::consent
