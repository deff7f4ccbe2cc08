#include "fhir/resource_types.h"

#include <algorithm>
#include <array>

#include "common/limits.h"

namespace kavach::fhir {
namespace {

constexpr std::array<std::string_view, 15> kSupportedTypes = {"AllergyIntolerance",
                                                              "Binary",
                                                              "Bundle",
                                                              "Composition",
                                                              "Condition",
                                                              "DiagnosticReport",
                                                              "DocumentReference",
                                                              "Encounter",
                                                              "Immunization",
                                                              "MedicationRequest",
                                                              "Observation",
                                                              "Organization",
                                                              "Patient",
                                                              "Practitioner",
                                                              "Procedure"};

}  // namespace

bool is_supported_type(std::string_view type) {
  return std::find(kSupportedTypes.begin(), kSupportedTypes.end(), type) != kSupportedTypes.end();
}

bool is_valid_id(std::string_view id) {
  return !id.empty() && id.size() <= limits::kResourceIdBytesMax &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.';
         });
}

}  // namespace kavach::fhir
