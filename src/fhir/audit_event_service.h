// AuditEventService: the audit log as FHIR R4 AuditEvent resources, for auditors and (through the
// consent manager) for the patient whose records were accessed.
//
// Each AuditEvent is one log entry: what was done (type, subtype, action), when, with what outcome
// and purpose, by whom (agent), to which record and patient (entity), and, as an extension, the
// proof that it is in the log: its canonical bytes, its index and an RFC 9162 inclusion proof
// against the checkpoint that the searchset Bundle carries. Anyone holding the node's verifier key
// can check every event without trusting the node. Entries after the latest checkpoint are listed
// with no proof yet.
//
// Reading the log needs the kavach/audit scope and is itself logged (audit.read), so a patient
// sees who looked at their access history too.
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "audit/audit_log.h"
#include "auth/token_service.h"
#include "common/clock.h"
#include "common/error.h"
#include "store/store.h"

namespace kavach::fhir {

inline constexpr std::string_view kAuditorScope = "kavach/audit";
inline constexpr std::string_view kInclusionExtension =
    "https://kavach.health/fhir/StructureDefinition/audit-log-inclusion";
inline constexpr std::string_view kCheckpointExtension =
    "https://kavach.health/fhir/StructureDefinition/audit-log-checkpoint";

struct AuditEventQuery {
  std::string patient;      // empty: every entry
  std::int64_t after = -1;  // paging cursor: entries with a larger index
  std::size_t count = 50;
};

struct AuditEventPage {
  boost::json::object bundle;    // a searchset Bundle of AuditEvents
  std::int64_t next_after = -1;  // -1 on the last page
};

class AuditEventService {
 public:
  AuditEventService(store::Store& store, const audit::AuditLog& log, const Clock& clock)
      : store_(store), log_(log), clock_(clock) {}

  Result<AuditEventPage> search(const auth::AccessToken& caller, const AuditEventQuery& query);
  // A patient's own view (or their nominee's or guardian's): the entries about `query.patient`,
  // read by `reader`, whom the consent manager has checked may act for that patient.
  Result<AuditEventPage> search_as_patient(std::string_view reader, const AuditEventQuery& query);

 private:
  // The page of entries, with `read` logged before it leaves the node.
  Result<AuditEventPage> page(const AuditEventQuery& query, const audit::AuditEntry& read);

  store::Store& store_;
  const audit::AuditLog& log_;
  const Clock& clock_;
};

// The AuditEvent of one entry (without the inclusion extension).
boost::json::object audit_event(const audit::AuditEntry& entry, std::int64_t index,
                                std::string_view origin);

}  // namespace kavach::fhir
