#include "fhir/resource_types.h"

#include <algorithm>
#include <array>

#include "common/limits.h"

namespace kavach::fhir {
namespace {

// The record types of ABDM's HI types and of what hospital systems (and Synthea's exports) send
// alongside them.
constexpr std::array<std::string_view, 28> kSupportedTypes = {"AllergyIntolerance",
                                                              "Binary",
                                                              "Bundle",
                                                              "CarePlan",
                                                              "CareTeam",
                                                              "Claim",
                                                              "Composition",
                                                              "Condition",
                                                              "Device",
                                                              "DiagnosticReport",
                                                              "DocumentReference",
                                                              "Encounter",
                                                              "ExplanationOfBenefit",
                                                              "Group",
                                                              "ImagingStudy",
                                                              "Immunization",
                                                              "Location",
                                                              "Medication",
                                                              "MedicationAdministration",
                                                              "MedicationRequest",
                                                              "Observation",
                                                              "Organization",
                                                              "Patient",
                                                              "Practitioner",
                                                              "PractitionerRole",
                                                              "Procedure",
                                                              "Provenance",
                                                              "SupplyDelivery"};

constexpr std::array<std::string_view, 8> kSmallRecordTypes = {
    "AllergyIntolerance", "Condition",   "Encounter",    "Immunization",
    "MedicationRequest",  "Observation", "Organization", "Procedure"};

}  // namespace

std::span<const std::string_view> supported_types() { return kSupportedTypes; }

bool is_supported_type(std::string_view type) {
  return std::find(kSupportedTypes.begin(), kSupportedTypes.end(), type) != kSupportedTypes.end();
}

bool has_small_records(std::string_view type) {
  return std::find(kSmallRecordTypes.begin(), kSmallRecordTypes.end(), type) !=
         kSmallRecordTypes.end();
}

bool is_valid_id(std::string_view id) {
  return !id.empty() && id.size() <= limits::kResourceIdBytesMax &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.';
         });
}

}  // namespace kavach::fhir
