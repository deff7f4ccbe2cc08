// RecordGate: the seam through which the FHIR record store enforces consent at the data.
//
// A caller that presents a consent (a doctor of another facility, reading under an artefact the
// patient granted) has no SMART scopes over this node's records; every record it would see passes
// through the gate instead. ResourceService asks the gate once per interaction for the grant
// (is the consent verified, granted, unexpired, for this caller and this HIP?) and then once per
// record (is this record within it?), before paging, counting or including anything, so no
// handler can skip the check and nothing outside the consent is returned, counted or hinted at.
// The consent domain implements it (consent/consent_record_gate.h).
// Thread-safety: implementations are safe from any thread.
#pragma once

#include <memory>
#include <string>

#include <boost/json/object.hpp>

#include "auth/token_service.h"
#include "common/error.h"
#include "store/store.h"

namespace kavach::fhir {

// What a checked consent allows; opaque to the FHIR layer.
class RecordGrant {
 public:
  virtual ~RecordGrant() = default;
  // Audit facts: the artefact relied on, its purpose code and the caller's facility.
  virtual const std::string& consent_id() const = 0;
  virtual const std::string& purpose() const = 0;
  virtual const std::string& facility_id() const = 0;
};

class RecordGate {
 public:
  virtual ~RecordGate() = default;
  // The grant behind `caller.consent_id`; kPermissionDenied saying why there is none.
  virtual Result<std::unique_ptr<RecordGrant>> grant_for(const auth::AccessToken& caller) = 0;
  // True when `record` (with its opened JSON) may be released under `grant`.
  virtual Result<bool> allows(const RecordGrant& grant, const store::RecordVersion& record,
                              const boost::json::object& resource) = 0;
};

}  // namespace kavach::fhir
