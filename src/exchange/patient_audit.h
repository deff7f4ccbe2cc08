// The patient's access log across nodes (issue 6): each HIP keeps the entries about the records it
// holds; the consent manager gathers them for the patient from every HIP the patient linked.
//
// At a HIP, HipAuditView answers the CM's signed request for the entries about one of its
// patients, and only for a patient whose record carries the ABHA address the CM names (a patient
// who linked there): the AuditEvents with their inclusion proofs against the HIP's own signed
// checkpoint, so the patient can check them without trusting the CM. The read is logged at the
// HIP like any other. At the CM, PatientAuditGatherer asks each linked HIP for the patient and
// returns what each answered, or why it could not (a HIP that is down is named, not skipped).
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "consent/facility_registry.h"
#include "consent/hip_consents.h"
#include "exchange/patient_links.h"
#include "fhir/audit_event_service.h"
#include "fhir/resource_service.h"

namespace kavach::exchange {

inline constexpr std::string_view kPatientAuditPath = "/hip/v1/patient-audit-events";

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

struct HipAuditAnswer {
  std::string hip_id;
  std::string hip_name;
  boost::json::object bundle;  // the HIP's searchset Bundle, when it answered
  std::string error;           // why not, otherwise
};

// A signed call from the CM to a facility's registered URL: the facility's answer or its error.
using FacilityCall = std::function<Result<boost::json::object>(
    const consent::Facility& facility, std::string_view path, boost::json::object body)>;

class PatientAuditGatherer {
 public:
  PatientAuditGatherer(PatientLinks& links, consent::FacilityRegistry& registry, FacilityCall call)
      : links_(links), registry_(registry), call_(std::move(call)) {}

  // The entries each HIP the patient linked holds about them, newest pages first per HIP.
  Result<std::vector<HipAuditAnswer>> gather(const consent::PatientSession& caller,
                                             std::string_view abha_number, std::size_t count);

 private:
  PatientLinks& links_;
  consent::FacilityRegistry& registry_;
  FacilityCall call_;
};

}  // namespace kavach::exchange
