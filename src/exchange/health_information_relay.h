// HealthInformationRelay: the consent manager's part in the data flow (ABDM
// health-information/cm/request, hip/on-request and notify).
//
// An HIU asks for data under an artefact it was granted. The CM checks the artefact where it is
// kept (the HIU it was granted to, GRANTED and before dataEraseAt), that the requested dates lie
// inside the granted ones, that the HIU's public key is a valid Fidelius key, and that dataPushUrl
// is on the HIU's registered callback URL, so a request can never make a HIP push data anywhere
// else (ABDM takes the URL as given). It then opens a transaction and, in the same commit as the
// transaction and its audit entry, queues the request for the artefact's HIP and the HIU's
// on-request through the signed outbox. The HIP's acknowledgement and both sides' final notices
// are recorded on the transaction; a HIP's final notice is passed on to the HIU, so a failed
// transfer is never a silent gap there. The CM never sees the data itself.
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "audit/audit_entry.h"
#include "common/clock.h"
#include "consent/consent_manager.h"
#include "consent/facility_registry.h"
#include "exchange/health_information.h"
#include "vault/sealed_documents.h"

namespace kavach::exchange {

inline constexpr std::string_view kTransactionType = "_HiTransaction";

struct Transaction {
  std::string id;
  std::string consent_id;
  std::string hiu_id;
  std::string hip_id;
  std::string status;      // REQUESTED, ACKNOWLEDGED, TRANSFERRED or FAILED (the HIP's word)
  std::string hiu_status;  // "" until the HIU reports, then TRANSFERRED or FAILED
  std::int64_t created_at_ms = 0;
  std::string hip_url;  // the HIP's registered callback URL: where its link entries may point
};

class HealthInformationRelay {
 public:
  HealthInformationRelay(vault::SealedDocuments& documents, consent::ConsentManager& manager,
                         consent::FacilityRegistry& registry, const Clock& clock)
      : documents_(documents), manager_(manager), registry_(registry), clock_(clock) {}

  // Called after each commit that queued outbox messages (wakes the dispatcher).
  void on_messages_queued(std::function<void()> wake) { wake_outbox_ = std::move(wake); }

  // health-information/cm/request from `hiu_id`; returns the new transaction. A refusal is
  // logged with the patient it concerned: kNotFound (no such artefact for this HIU),
  // kPermissionDenied (not GRANTED, expired, dates outside the grant), kInvalidArgument.
  Result<Transaction> request(std::string_view hiu_id, const boost::json::object& body);
  // A patient's own request for their records (PATRQT), made at this CM for the patient's locker
  // (patient_locker.h): the CM itself is the artefact's HIU, so there is no HIU to check or to
  // answer, and the push goes to the locker's URL. `actor` is the account acting (the patient,
  // or their nominee or guardian), for the log. Refused as request() refuses.
  Result<Transaction> request_for_patient(std::string_view actor, const HiRequest& hi_request);
  // health-information/hip/on-request from `hip_id`.
  Status hip_acknowledged(std::string_view hip_id, const boost::json::object& body);
  // health-information/notify from `facility_id`, the transaction's HIP or HIU.
  Status notified(std::string_view facility_id, const boost::json::object& body);
  // A transaction, to its HIU or HIP; kNotFound to anyone else.
  Result<Transaction> transaction(std::string_view facility_id, std::string_view id);

 private:
  Result<std::pair<vault::Document, Transaction>> load(std::string_view facility_id,
                                                       std::string_view id);
  // Opens the transaction for an artefact whose checks passed and queues the request to its HIP,
  // and, when `hiu_request_id` is set, the on-request answer to its HIU, in one commit with
  // `entry`.
  Result<Transaction> open(const consent::ArtefactRecord& found, const HiRequest& hi_request,
                           audit::AuditEntry entry,
                           const std::optional<std::string>& hiu_request_id);
  Status commit(store::WriteBatch batch);

  vault::SealedDocuments& documents_;
  consent::ConsentManager& manager_;
  consent::FacilityRegistry& registry_;
  const Clock& clock_;
  std::function<void()> wake_outbox_;
};

}  // namespace kavach::exchange
