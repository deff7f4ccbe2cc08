// The consent check: does a verified artefact allow this data to leave this HIP now?
//
// It is a pure function of the artefact, its current status, the access and the count of data
// requests already made in the current frequency period, so the record-access layer can call it
// for every record and a property-based test can attack it with random attempts. Anything not
// positively allowed is refused: an undated record under a date-limited consent, an unknown care
// context under a care-context-limited one, a status other than GRANTED.
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "consent/consent_artefact.h"

namespace kavach::consent {

enum class Denial : std::uint8_t {
  kNotGranted,             // denied, requested, revoked or expired by status
  kExpired,                // now is at or after permission.dataEraseAt
  kWrongHip,               // the artefact is for another HIP
  kWrongHiu,               // another HIU is asking
  kWrongPatient,           // the record belongs to someone else
  kHiTypeNotCovered,       // the record's HI type was not granted
  kCareContextNotCovered,  // the record is outside the granted care contexts
  kOutsideDateRange,       // the record's date is outside permission.dateRange (or unknown)
  kFrequencyUsedUp,        // this period's data requests are used up
  kBreakGlassTooLong,      // a break-the-glass artefact may last 24 hours at most
};

// Break-the-glass access lasts at most this long, wherever it is checked.
inline constexpr std::int64_t kBreakGlassMs = 24 * 3'600'000LL;

std::string_view denial_text(Denial denial);

// One request for data under an artefact (ABDM's health-information request).
struct DataRequest {
  std::string hiu_id;  // the authenticated requester
  std::string hip_id;  // this node
  std::int64_t now_ms = 0;
  std::int64_t requests_in_period = 0;  // earlier data requests in the current frequency period
};

// One record about to be released.
struct RecordFacts {
  std::string patient_id;              // the patient's ABHA address, from the HIP's link
  std::string patient_reference;       // the patient's id at the HIP
  std::string care_context_reference;  // "" when the record belongs to no care context
  HiType hi_type = HiType::kHealthDocumentRecord;
  std::optional<std::int64_t> care_date_ms;  // when the care it describes happened
};

// The artefact-level checks of a data request: status, expiry, parties, frequency.
std::optional<Denial> check_data_request(const VerifiedArtefact& artefact, ConsentStatus status,
                                         const DataRequest& request);
// The record-level checks: patient, HI type, care context, date.
std::optional<Denial> check_record(const VerifiedArtefact& artefact, const RecordFacts& record);
// Both, as the record-access layer applies them for every record it releases.
std::optional<Denial> check_access(const VerifiedArtefact& artefact, ConsentStatus status,
                                   const DataRequest& request, const RecordFacts& record);

// The start of the frequency period that contains `now_ms`, counting periods from the artefact's
// creation.
std::int64_t frequency_period_start_ms(const ConsentDetail& detail, std::int64_t now_ms);

}  // namespace kavach::consent
