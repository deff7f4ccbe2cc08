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
#include <functional>
#include <mutex>
#include <optional>
#include <set>
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

// The consent manager's current word on a consent, as a signed statement it checked.
using StatusSource = std::function<Result<ConsentStatus>(std::string_view consent_id)>;

// The CM's signed statement of a consent's status, {consentId, status, timestamp} with the
// signature over its RFC 8785 form, and its check.
boost::json::object status_statement(std::string_view consent_id, ConsentStatus status,
                                     std::int64_t now_ms);
Result<ConsentStatus> verify_status_statement(const ArtefactVerifier& verifier,
                                              const boost::json::object& reply,
                                              std::string_view consent_id, std::int64_t now_ms);

struct HeldConsent {
  VerifiedArtefact artefact;
  ConsentStatus status;
  std::int64_t status_changed_at_ms = 0;
};

// Checks a signature over a message body (X-Kavach-Signature: Ed25519 over its RFC 8785 form) and
// the body's timestamp window; `signer` names who must have signed, for the error.
Status verify_signed_message(const ArtefactVerifier& verifier, const boost::json::object& body,
                             std::string_view signature, std::int64_t now_ms,
                             std::string_view signer);
// The same, for the CM's signature.
Status verify_cm_message(const ArtefactVerifier& verifier, const boost::json::object& body,
                         std::string_view signature, std::int64_t now_ms);

//
// A node that was down may have missed a revocation still queued at the CM. So the first time
// this process serves under a GRANTED consent it has not heard of since it started, it asks the
// CM (`status_source`) and serves only if the CM still says GRANTED; if the CM cannot be reached
// it serves nothing under that consent (fail closed).
class HipConsents {
 public:
  HipConsents(vault::SealedDocuments& documents, ArtefactVerifier verifier, std::string hip_id,
              StatusSource status_source = {})
      : documents_(documents),
        verifier_(std::move(verifier)),
        hip_id_(std::move(hip_id)),
        status_source_(std::move(status_source)) {}

  // Applies a consents/hip/notify message; returns the status now held.
  Result<ConsentStatus> receive(const boost::json::object& body, std::string_view signature);
  // The artefact and its current status; kNotFound when this HIP never received it;
  // kUnavailable when it must be confirmed with the CM and cannot be.
  Result<HeldConsent> consent(std::string_view consent_id);
  const std::string& hip_id() const { return hip_id_; }
  // Checks that a message from the CM (a data request) carries its signature and a current
  // timestamp.
  Status verify_message(const boost::json::object& body, std::string_view signature) const;

  // Starts one data request of the exchange under a consent: checks the artefact (status,
  // expiry, this HIP, the requesting HIU) and the frequency limit, and counts the request, by
  // compare-and-swap on the consent's record, so two racing requests cannot both take the last
  // one of a period. kPermissionDenied names the rule that refused it.
  Result<HeldConsent> begin_data_request(std::string_view consent_id, std::string_view hiu_id);

 private:
  // Stores `incoming` unless the held status is already final; returns the status now held.
  Result<ConsentStatus> record_status(const VerifiedArtefact& artefact, ConsentStatus incoming);
  Status confirm(HeldConsent& held);

  vault::SealedDocuments& documents_;
  const ArtefactVerifier verifier_;
  const std::string hip_id_;
  const StatusSource status_source_;
  std::mutex confirmed_mutex_;
  std::set<std::string> confirmed_;  // GUARDED_BY(confirmed_mutex_): current since start
};

}  // namespace kavach::consent
