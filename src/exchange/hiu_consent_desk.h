// HiuConsentDesk: what a professional at a user node (HIU) asks of the consent manager through
// their own node: whom a health ID belongs to (patients/find), consent for a patient's records
// (consent-requests/init) and, in an emergency, break-the-glass access. Each call is a message
// signed with this node's key, so the professional needs no credential at the CM; the CM checks
// that they are a registered professional of this facility.
//
// The desk keeps each professional's requests (sealed documents indexed by a blind index of
// their registration number) so they can watch them; the status is what the CM's notices say
// (consent/hiu_consents.h). Asking is logged here as well as at the CM.
// Thread-safety: safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "consent/consent_manager.h"
#include "consent/consent_terms.h"
#include "consent/hiu_consents.h"
#include "exchange/peer_messages.h"
#include "vault/sealed_documents.h"

namespace kavach::exchange {

inline constexpr std::string_view kHiuAskType = "_HiuAsk";
inline constexpr std::size_t kAsksListedMax = 200;

// The professional a web session or client token speaks for.
struct Professional {
  std::string client_id;
  std::string registration;  // from the token's professional:<registration> scope
  std::string name;          // the client's name, as hospital IT registered it
};

struct EmergencyAsk {
  std::string patient_id;
  std::string hip_id;
  std::string reason;
  std::chrono::minutes duration{60};
};

struct AskedConsent {
  std::string id;  // the CM's consent request id
  std::string patient_id;
  std::string purpose;  // ABDM purpose code
  std::vector<std::string> hi_types;
  std::string hip_id;  // "" when any HIP
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
  std::int64_t erase_at_ms = 0;
  std::int64_t asked_at_ms = 0;
  bool break_glass = false;
  std::string reason;  // break-the-glass only
  std::string status;  // REQUESTED, GRANTED, DENIED, REVOKED, EXPIRED
  std::vector<std::string> artefact_ids;
};

class HiuConsentDesk {
 public:
  // `notification_url` is where the CM tells this node of its requests (ABDM's
  // consentNotificationUrl; Kavach's CM uses the registry's callback URL whatever it says).
  HiuConsentDesk(vault::SealedDocuments& documents, consent::HiuConsents& consents, PeerCall cm,
                 std::string hiu_id, std::string notification_url)
      : documents_(documents),
        consents_(consents),
        cm_(std::move(cm)),
        hiu_id_(std::move(hiu_id)),
        notification_url_(std::move(notification_url)) {}

  Result<consent::FoundPatient> find_patient(const Professional& who, std::string_view health_id);
  // `terms` without hiu and requester, which the desk fills in for `who`.
  Result<AskedConsent> ask(const Professional& who, consent::ConsentTerms terms);
  Result<AskedConsent> break_glass(const Professional& who, const EmergencyAsk& emergency);
  // The professional's requests, newest first (at most kAsksListedMax).
  Result<std::vector<AskedConsent>> asked_by(const Professional& who);

 private:
  Result<AskedConsent> keep(const Professional& who, AskedConsent asked);
  AskedConsent with_status(AskedConsent asked);

  vault::SealedDocuments& documents_;
  consent::HiuConsents& consents_;
  PeerCall cm_;
  const std::string hiu_id_;
  const std::string notification_url_;
};

}  // namespace kavach::exchange
