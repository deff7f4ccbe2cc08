// ConsentManager: turns a doctor's consent request into the patient's decision and signed
// artefacts, and keeps every artefact's status current everywhere.
//
// An HIU asks, for one of its registered professionals, for a patient's consent (ABDM
// consent-requests/init). The patient (or their nominee, or a minor's guardian) sees the request
// in plain language and grants it, possibly narrowed (fewer HI types, a shorter date range or
// time, fewer HIPs or care contexts, rarer access; never wider), or denies it. A grant makes one
// artefact per HIP, signed by the CM (consent/consent_artefact.h). Each decision commits together
// with its audit entry and the outbox messages that tell the HIPs and the HIU (consent_outbox.h),
// so a node that is down learns of it when it returns. Revocation works the same way and takes
// effect on nodes that are up within a second. A sweeper expires unanswered requests and
// artefacts past dataEraseAt. Patients may also make a self-requested consent (PATRQT), which is
// granted as made.
//
// Requests and artefacts are sealed under the patient's key; the CM never holds clinical data.
// Thread-safety: safe from any thread; decisions on one request are compare-and-swap on its
// version, so of two racing decisions one wins and the other is told so.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/attempt_limiter.h"
#include "consent/consent_artefact.h"
#include "consent/consent_outbox.h"
#include "consent/facility_registry.h"
#include "consent/notifier.h"
#include "consent/patient_accounts.h"
#include "vault/sealed_documents.h"

namespace kavach::consent {

inline constexpr std::string_view kConsentRequestType = "_ConsentRequest";
inline constexpr std::string_view kConsentArtefactType = "_ConsentArtefact";
inline constexpr std::string_view kConsentSigningKey = "node/consent-signing";
inline constexpr std::string_view kHipNotifyPath = "/v0.5/consents/hip/notify";
inline constexpr std::string_view kHiuNotifyPath = "/v0.5/consents/hiu/notify";
inline constexpr std::string_view kOnInitPath = "/v0.5/consent-requests/on-init";
inline constexpr std::string_view kOnStatusPath = "/v0.5/consent-requests/on-status";
inline constexpr std::string_view kOnFetchPath = "/v0.5/consents/on-fetch";
inline constexpr std::size_t kGrantHipsMax = 20;
// A list of up to kGrantHipsMax HIP ids (a grant's or a patient's own request's `hips`).
Result<std::vector<std::string>> parse_hip_ids(const boost::json::value& value);
inline constexpr std::size_t kRequestsListedMax = 200;

inline constexpr std::size_t kBreakGlassReasonMin = 10;
inline constexpr std::size_t kBreakGlassReasonMax = 500;

struct ConsentLimits {
  std::chrono::milliseconds request_lifetime{std::chrono::hours(24 * 7)};
  std::size_t sweep_batch = 500;
  // Emergency access: how long it lasts at most (24 hours or less), and how many a professional
  // may open in any 24 hours.
  std::chrono::minutes break_glass_max{24 * 60};
  std::size_t break_glass_per_day = 3;
  // patients/find per HIU: a name for every health ID an HIU can guess would let one compromised
  // facility enumerate the country's patients, so lookups are bounded well above what its
  // registration desks type (a burst of 120, then 2 a second).
  auth::AttemptLimits finds_per_hiu{120, 2, 10'000};
};

// An emergency: a registered professional opens one patient's records at one HIP without consent.
struct FoundPatient {
  std::string address;
  std::string name;
};

struct BreakGlassRequest {
  std::string patient_id;  // health ID or ABHA address
  std::string hip_id;
  std::string registration_value;  // the professional's registration number at the HIU
  std::string reason;              // required, in words
  std::chrono::minutes duration{24 * 60};
};

struct ConsentRequestRecord {
  std::string id;
  ConsentStatus status = ConsentStatus::kRequested;
  ConsentTerms terms;                   // as asked
  std::optional<ConsentTerms> granted;  // as granted, after a grant
  std::string abha_number;
  std::string account_id;  // the patient's pseudonymous Account::id: partition and audit subject
  std::int64_t created_at_ms = 0;
  std::int64_t expires_at_ms = 0;  // an unanswered request expires then
  std::int64_t decided_at_ms = 0;
  std::vector<std::string> artefact_ids;
  std::string break_glass_reason;  // for purpose BTG: why, as the professional wrote it
};

struct ArtefactRecord {
  SignedArtefact artefact;  // artefact.status is the current status
  std::string request_id;
  std::string abha_number;
  std::string account_id;
  std::int64_t status_changed_at_ms = 0;
};

// What the patient grants. Unset fields keep what was asked.
struct GrantChoice {
  std::vector<HiType> hi_types;
  std::optional<DateRange> date_range;
  std::optional<std::int64_t> data_erase_at_ms;
  std::optional<Frequency> frequency;
  std::optional<std::vector<CareContext>> care_contexts;
  std::vector<std::string> hip_ids;  // required when the request named no HIP
};

// What a patient asks for themselves (PATRQT): their own records from these HIPs.
struct SelfRequest {
  std::vector<HiType> hi_types;
  DateRange date_range;
  std::int64_t data_erase_at_ms = 0;
  std::vector<std::string> hip_ids;
};

// The request in plain English ("Dr. Manju of Apollo Hospital asks to see ..."); the web app
// renders the same facts in other languages.
std::string describe_request(const ConsentRequestRecord& request, std::string_view hiu_name);

class ConsentManager {
 public:
  ConsentManager(vault::SealedDocuments& documents, PatientAccounts& accounts,
                 FacilityRegistry& registry, const ArtefactSigner& signer, Notifier& notifier,
                 std::string cm_id, const Clock& clock, ConsentLimits limits = {})
      : documents_(documents),
        accounts_(accounts),
        registry_(registry),
        signer_(signer),
        notifier_(notifier),
        cm_id_(std::move(cm_id)),
        clock_(clock),
        limits_(limits),
        finds_per_hiu_(limits.finds_per_hiu, clock) {}

  // Called after each commit that queued outbox messages (wakes the dispatcher).
  void on_messages_queued(std::function<void()> wake) { wake_outbox_ = std::move(wake); }
  const ArtefactSigner& signer() const { return signer_; }
  // The CM's own id: the HIU of the artefacts patients make for themselves (PATRQT).
  const std::string& cm_id() const { return cm_id_; }

  // --- The HIU's side (`hiu_id` is the authenticated facility). ---
  // ABDM's patients/find: the address and name behind a health ID, so that a professional sees
  // whom they are about to ask; each lookup is logged against the patient. kNotFound for an ID
  // nobody holds; kResourceExhausted when the HIU has used its lookups (ConsentLimits).
  Result<FoundPatient> find_patient(std::string_view hiu_id, std::string_view health_id);
  // A repeated `request_id` from the same HIU returns the request it made the first time.
  Result<ConsentRequestRecord> request(std::string_view hiu_id, std::string_view request_id,
                                       const ConsentTerms& terms);
  Result<ConsentRequestRecord> request_status(std::string_view hiu_id, std::string_view id);
  // The artefact, to the HIU it was granted to; logged.
  Result<ArtefactRecord> fetch(std::string_view hiu_id, std::string_view consent_id);

  // Queues ABDM's callback to an HIU (consent-requests/on-status, consents/on-fetch) after a call
  // answered at once, so software that waits for the callback, as ABDM's gateway makes it, gets
  // one.
  Status call_back(std::string_view hiu_id, std::string_view path, boost::json::object body);

  // Break the glass: an artefact for the emergency, granted at once for at most the configured
  // time (24 hours or less), rate-limited per professional, with the patient and their nominee
  // told by SMS at once and every step logged with basis break-glass, flagged for review.
  Result<ConsentRequestRecord> break_glass(std::string_view hiu_id,
                                           const BreakGlassRequest& request);

  // --- The patient's side: `caller` acts for `abha_number` (their own, or as nominee/guardian).
  Result<std::vector<ConsentRequestRecord>> requests(const PatientSession& caller,
                                                     std::string_view abha_number);
  Result<ConsentRequestRecord> grant(const PatientSession& caller, std::string_view abha_number,
                                     std::string_view request_id, const GrantChoice& choice);
  Result<ConsentRequestRecord> deny(const PatientSession& caller, std::string_view abha_number,
                                    std::string_view request_id);
  // Revokes every artefact of a granted request.
  Result<ConsentRequestRecord> revoke(const PatientSession& caller, std::string_view abha_number,
                                      std::string_view request_id);
  Result<ConsentRequestRecord> self_request(const PatientSession& caller,
                                            std::string_view abha_number,
                                            const SelfRequest& request);
  Result<std::vector<ArtefactRecord>> artefacts(const PatientSession& caller,
                                                std::string_view abha_number);

  // An artefact with its status now (EXPIRED from dataEraseAt on), unlogged: for the exchange,
  // which logs the data request it serves under it. kNotFound for an unknown id.
  Result<ArtefactRecord> artefact(std::string_view consent_id);
  // An artefact's status now (EXPIRED from dataEraseAt on, even before the sweeper runs), for a
  // HIP confirming a consent after a restart; kNotFound for an unknown id.
  Result<ConsentStatus> current_status(std::string_view consent_id);

  // Expires due requests and artefacts, a bounded batch of each per call, resuming where the
  // previous call stopped; returns how many changed.
  Result<std::size_t> sweep();

 private:
  Result<ConsentRequestRecord> create_request(const ConsentTerms& terms, const Account& patient,
                                              std::string_view hiu_request_id,
                                              const audit::AuditEntry& entry, bool notify_hiu,
                                              std::string_view break_glass_reason = {});
  Status check_break_glass_budget(const Facility& hiu, const Professional& professional);
  void tell_of_break_glass(const Account& patient, const Facility& hiu,
                           const Professional& professional, std::int64_t until_ms);
  Result<ConsentRequestRecord> grant_terms(vault::Document& request, const ConsentTerms& granted,
                                           const std::vector<Facility>& hips,
                                           audit::AuditEntry entry);
  Result<std::pair<vault::Document, ConsentRequestRecord>> patient_request(
      const PatientSession& caller, std::string_view abha_number, std::string_view request_id);
  // Moves artefacts of `request` to `status` and the request to `request_status`, with notices.
  Result<ConsentRequestRecord> close(vault::Document& request, ConsentStatus request_status,
                                     ConsentStatus artefact_status, audit::AuditEntry entry);
  Status commit(store::WriteBatch batch);
  // The `type` documents of the patient `caller` acts for (requests or artefacts), newest 200.
  Result<std::vector<vault::Document>> patient_documents(const PatientSession& caller,
                                                         std::string_view abha_number,
                                                         std::string_view type);
  // Writes the request's new state with `batch` (artefacts, notices), the HIU's notice and
  // `entry`, in one commit; kConflict when another decision on it won.
  Status commit_decision(vault::Document& document, const ConsentRequestRecord& record,
                         store::WriteBatch batch, const audit::AuditEntry& entry);
  audit::AuditEntry patient_entry(audit::Action action, const PatientSession& caller,
                                  const ConsentRequestRecord& request) const;

  vault::SealedDocuments& documents_;
  PatientAccounts& accounts_;
  FacilityRegistry& registry_;
  const ArtefactSigner& signer_;
  Notifier& notifier_;
  const std::string cm_id_;
  const Clock& clock_;
  const ConsentLimits limits_;
  auth::AttemptLimiter finds_per_hiu_;
  std::function<void()> wake_outbox_;
  std::mutex sweep_mutex_;  // one sweep at a time
  // Where the next sweep resumes, so a long list is covered over several passes.
  std::string request_cursor_;   // GUARDED_BY(sweep_mutex_)
  std::string artefact_cursor_;  // GUARDED_BY(sweep_mutex_)
};

// The CM's signing key, from the vault (created on first use).
Result<ArtefactSigner> consent_signer(vault::KeyVault& keys);

}  // namespace kavach::consent
