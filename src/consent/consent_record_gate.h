// ConsentRecordGate: a HIP's enforcement of consent at the data (fhir/record_gate.h).
//
// For each interaction it checks the caller and the consent it names: an HIU client
// (scopes abdm/hiu and facility:<id>) reading under an artefact this HIP holds, verified against
// the CM's key, GRANTED, before dataEraseAt, and given to that HIU. For each record it then
// applies check_record (consent_policy.h): the record's patient (matched through the Patient's
// ABHA identifiers), HI type, care context and date of care must all be within the artefact. The
// Patient resource itself is released to any valid consent that covers that patient.
//
// The artefact's request frequency counts data requests of the exchange (issue 5), not reads
// through the FHIR API; it is not applied here.
// Thread-safety: safe from any thread.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "consent/hip_consents.h"
#include "fhir/record_gate.h"
#include "store/store.h"
#include "vault/record_sealer.h"

namespace kavach::consent {

// Patient.identifier systems that carry a patient's ABHA number and ABHA address at a HIP.
inline constexpr std::string_view kAbhaNumberSystem = "https://healthid.ndhm.gov.in";
inline constexpr std::string_view kAbhaAddressSystem = "https://healthid.ndhm.gov.in/abha-address";
inline constexpr std::string_view kHiuScope = "abdm/hiu";
inline constexpr std::string_view kFacilityScopePrefix = "facility:";

class ConsentRecordGate final : public fhir::RecordGate {
 public:
  ConsentRecordGate(HipConsents& consents, store::Store& store, vault::RecordSealer& sealer,
                    const Clock& clock)
      : consents_(consents), store_(store), sealer_(sealer), clock_(clock) {}

  Result<std::unique_ptr<fhir::RecordGrant>> grant_for(const auth::AccessToken& caller) override;
  Result<bool> allows(const fhir::RecordGrant& grant, const store::RecordVersion& record,
                      const boost::json::object& resource) override;

  // The ids of this HIP's Patient resources that carry the ABHA address (or number).
  Result<std::set<std::string>> patients_with(std::string_view abha_address);

 private:
  HipConsents& consents_;
  store::Store& store_;
  vault::RecordSealer& sealer_;
  const Clock& clock_;
};

}  // namespace kavach::consent
