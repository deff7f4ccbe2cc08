// The patient's access log across nodes (issue 6): each HIP keeps the entries about the records it
// holds; the consent manager gathers them for the patient from every HIP the patient linked.
//
// At a HIP, HipAuditView answers the CM's signed request for the entries about one of its
// patients, and only for a patient whose record carries the ABHA address the CM names (a patient
// who linked there): the AuditEvents with their inclusion proofs against the HIP's own signed
// checkpoint, so the patient can check them without trusting the CM. The read is logged at the
// HIP like any other. At the CM, PatientAuditGatherer asks each linked HIP for the patient and
// returns what each answered, or why it could not (a HIP that is down is named, not skipped). An
// HIU answers the same way for what it received under the patient's consents (its views of the
// records, and their erasure).
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "consent/consent_manager.h"
#include "consent/facility_registry.h"
#include "consent/hip_consents.h"
#include "exchange/patient_links.h"
#include "fhir/audit_event_service.h"
#include "fhir/resource_service.h"

namespace kavach::exchange {

inline constexpr std::string_view kPatientAuditPath = "/hip/v1/patient-audit-events";
inline constexpr std::string_view kConsentAuditPath = "/hiu/v1/consent-audit-events";
inline constexpr std::size_t kConsentsAskedMax = 50;

class HipAuditView {
 public:
  HipAuditView(consent::HipConsents& consents, fhir::ResourceService& resources,
               fhir::AuditEventService& events)
      : consents_(consents), resources_(resources), events_(events) {}

  // {patient{id, referenceNumber}, after, count}, signed by the CM; kNotFound when the patient
  // record does not carry that ABHA address.
  Result<fhir::AuditEventPage> entries(const boost::json::object& body, std::string_view signature);

 private:
  consent::HipConsents& consents_;
  fhir::ResourceService& resources_;
  fhir::AuditEventService& events_;
};

// At an HIU: the entries about what it received under some consents (its views, the pages that
// arrived, the erasure), for the CM's signed request {consentIds: [...]}, one Bundle per consent.
class HiuAuditView {
 public:
  HiuAuditView(const consent::ArtefactVerifier& cm, fhir::AuditEventService& events,
               const Clock& clock)
      : cm_(cm), events_(events), clock_(clock) {}

  Result<std::vector<std::pair<std::string, boost::json::object>>> entries(
      const boost::json::object& body, std::string_view signature);

 private:
  const consent::ArtefactVerifier& cm_;
  fhir::AuditEventService& events_;
  const Clock& clock_;
};

struct HipAuditAnswer {
  std::string hip_id;
  std::string hip_name;
  boost::json::object bundle;  // the HIP's searchset Bundle, when it answered
  std::string error;           // why not, otherwise
};

// A signed call from the CM to a facility's registered URL: the facility's JSON answer, or why
// there is none.
using FacilityCall = std::function<Result<boost::json::object>(
    const consent::Facility& facility, std::string_view path, boost::json::object body)>;

struct HiuAuditAnswer {
  std::string hiu_id;
  std::string hiu_name;
  std::vector<std::pair<std::string, boost::json::object>> bundles;  // (consent id, Bundle)
  std::string error;
};

class PatientAuditGatherer {
 public:
  PatientAuditGatherer(PatientLinks& links, consent::ConsentManager& manager,
                       consent::FacilityRegistry& registry, FacilityCall call)
      : links_(links), manager_(manager), registry_(registry), call_(std::move(call)) {}

  // The entries each HIP the patient linked holds about them (the first `count` per HIP).
  Result<std::vector<HipAuditAnswer>> gather(const consent::PatientSession& caller,
                                             std::string_view abha_number, std::size_t count);
  // The entries each HIU that received data under the patient's consents holds about it.
  Result<std::vector<HiuAuditAnswer>> gather_users(const consent::PatientSession& caller,
                                                   std::string_view abha_number, std::size_t count);

 private:
  PatientLinks& links_;
  consent::ConsentManager& manager_;
  consent::FacilityRegistry& registry_;
  FacilityCall call_;
};

}  // namespace kavach::exchange
