// How a HIP packages released records for the exchange: one FHIR document Bundle per care
// context and HI type (ABDM's unit of transfer), led by a Composition of the NRCeS document type
// for that HI type, then the Patient, then the records the Composition's section lists.
//
// The records given here have already passed the consent check where they were read
// (fhir/record_gate.h); grouping only drops what cannot be classified or lies outside the dates the
// HIU asked for, never adds. Groups come out in a stable order (care context, then HI type), and
// records within a group by type and id, so a transfer is planned the same way every time.
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "consent/consent_terms.h"

namespace kavach::exchange {

struct ReleasedRecord {
  std::string type;
  std::string id;
  boost::json::object resource;
};

struct DocumentGroup {
  std::string care_context;  // the Encounter id, "" for records of no visit
  consent::HiType hi_type = consent::HiType::kHealthDocumentRecord;
  std::vector<ReleasedRecord> records;
};

// Groups `records` (the Patient among them is left out) whose date of care lies in `dates`.
std::vector<DocumentGroup> group_for_transfer(std::vector<ReleasedRecord> records,
                                              const consent::DateRange& dates);

struct BundleContext {
  std::string bundle_id;  // a UUID
  std::string base_url;   // the HIP's FHIR base, for absolute fullUrls
  std::string hip_name;   // the Composition's author
  std::int64_t now_ms = 0;
};

// The document Bundle of one group for `patient`.
boost::json::object document_bundle(const DocumentGroup& group, const ReleasedRecord& patient,
                                    const BundleContext& context);

}  // namespace kavach::exchange
