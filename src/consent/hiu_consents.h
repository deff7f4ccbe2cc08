// HiuConsents: a user node's (HIU's) record of the consent requests it made, as the consent
// manager tells it of them (ABDM consent-requests/on-init and consents/hiu/notify).
//
// Like a HIP, it accepts only notices signed by its CM within the timestamp window, and is an
// idempotent receiver: a repeated notice changes nothing, and status only moves forward
// (REQUESTED, then GRANTED, DENIED or EXPIRED; GRANTED, then REVOKED or EXPIRED), so a late or
// replayed notice cannot undo a revocation. The HIU fetches the artefacts themselves from the CM
// (consents/fetch); received health data and its erasure belong to the exchange
// (exchange/hiu_data_flow.h).
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "consent/consent_artefact.h"
#include "vault/sealed_documents.h"

namespace kavach::consent {

inline constexpr std::string_view kHiuConsentType = "_HiuConsentRequest";

struct HiuConsentRequest {
  std::string id;  // the CM's consent request id
  ConsentStatus status = ConsentStatus::kRequested;
  std::vector<std::string> artefact_ids;
  std::int64_t updated_at_ms = 0;
};

class HiuConsents {
 public:
  HiuConsents(vault::SealedDocuments& documents, ArtefactVerifier verifier)
      : documents_(documents), verifier_(std::move(verifier)) {}

  // Applies an on-init or hiu/notify message; returns the status now held.
  Result<ConsentStatus> receive(const boost::json::object& body, std::string_view signature);
  // kNotFound when the CM never told this HIU of it.
  Result<HiuConsentRequest> request(std::string_view id);
  // The status of the request an artefact belongs to (REVOKED once the patient revoked it);
  // kNotFound when the CM never named the artefact to this HIU.
  Result<ConsentStatus> artefact_status(std::string_view artefact_id);
  const ArtefactVerifier& verifier() const { return verifier_; }

 private:
  Result<ConsentStatus> apply(const std::string& id, ConsentStatus incoming,
                              const std::vector<std::string>& artefact_ids);

  vault::SealedDocuments& documents_;
  const ArtefactVerifier verifier_;
};

}  // namespace kavach::consent
