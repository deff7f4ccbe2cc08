// How a HIP sees its FHIR records in consent terms: which ABDM health-information type each one
// belongs to, the date of the care it describes, and the care context (visit) it is part of.
// Anything that cannot be classified or dated is outside every consent, so it is never released
// by mistake: a partial date ("2020", "2020-05") counts as undated, since a year can straddle the
// end of a consented range.
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "consent/consent_terms.h"

namespace kavach::consent {

// The NRCeS document type of an HI type's Composition: its SNOMED CT code and display. The
// Wellness Record and Invoice profiles have no SNOMED code and are typed by text alone.
struct DocumentType {
  std::string_view snomed_code;  // "" when typed by text
  std::string_view display;
};
DocumentType document_type_of(HiType type);

// By resource type; for Composition by its SNOMED CT type (the NRCeS document profiles), for
// Observation by its category, for Encounter by its class (inpatient stays are discharge
// summaries).
std::optional<HiType> hi_type_of(std::string_view type, const boost::json::object& resource);
// The first full date or date-time among the resource's clinical dates (effective, issued,
// occurrence, authoredOn, recorded, onset, performed, period start, date, created).
std::optional<std::int64_t> care_date_of(std::string_view type,
                                         const boost::json::object& resource);
// The care context: the Encounter the record belongs to (the encounter itself for an Encounter),
// "" when it belongs to none.
std::string care_context_of(std::string_view type, std::string_view id,
                            const boost::json::object& resource);

}  // namespace kavach::consent
