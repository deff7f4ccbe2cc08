// The FHIR R4 resource types this node stores, and the syntax rules for their ids.
#pragma once

#include <span>
#include <string_view>

namespace kavach::fhir {

bool is_supported_type(std::string_view type);
// Every type this server stores, in alphabetical order.
std::span<const std::string_view> supported_types();
// True for the types whose records are small by what they hold: clinical facts and
// organisations, with no Attachment element (AllergyIntolerance, Condition, Encounter,
// Immunization, MedicationRequest, Observation, Organization, Procedure). Work on one of them or
// on a page of them is bounded enough to run on a connection's I/O thread (http::Work::kBrief).
// Other types may hold documents, images or whole record sets (Binary, DocumentReference,
// DiagnosticReport's presentedForm, a document Bundle, a Patient's photos): a record of several
// megabytes to read, decrypt and encode would hold up every other connection on that thread, so
// it goes to a worker. A judgement by type, not a bound: any resource may carry a long narrative
// or contained resources, up to the request body limit.
bool has_small_records(std::string_view type);
// FHIR id: 1 to 64 of [A-Za-z0-9-.].
bool is_valid_id(std::string_view id);

}  // namespace kavach::fhir
