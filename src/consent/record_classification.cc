#include "consent/record_classification.h"

#include <array>
#include <utility>

#include <boost/json.hpp>

#include "common/time_format.h"

namespace kavach::consent {
namespace {

namespace json = boost::json;

std::string_view text_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string_view(value->get_string())
                                                : std::string_view();
}

const json::object* object_at(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? &value->get_object() : nullptr;
}

// Calls `visit(system, code)` for every coding of a CodeableConcept (or a list of them).
template <class Visit>
void for_each_coding(const json::value* concept_value, Visit&& visit) {
  if (concept_value == nullptr) return;
  const auto visit_concept = [&](const json::value& concept_) {
    const auto* fields = concept_.if_object();
    const auto* codings = fields ? fields->if_contains("coding") : nullptr;
    if (codings == nullptr || !codings->is_array()) return;
    for (const auto& coding : codings->get_array()) {
      if (const auto* c = coding.if_object()) visit(text_at(*c, "system"), text_at(*c, "code"));
    }
  };
  if (concept_value->is_array()) {
    for (const auto& element : concept_value->get_array()) visit_concept(element);
  } else {
    visit_concept(*concept_value);
  }
}

constexpr std::array<std::pair<HiType, DocumentType>, 8> kDocumentTypes{{
    {HiType::kOpConsultation, {"371530004", "Clinical consultation report"}},
    {HiType::kPrescription, {"440545006", "Prescription record"}},
    {HiType::kDischargeSummary, {"373942005", "Discharge summary"}},
    {HiType::kDiagnosticReport, {"721981007", "Diagnostic studies report"}},
    {HiType::kImmunizationRecord, {"41000179103", "Immunization record"}},
    {HiType::kHealthDocumentRecord, {"419891008", "Record artifact"}},
    {HiType::kWellnessRecord, {"", "Wellness Record"}},
    {HiType::kInvoice, {"", "Invoice"}},
}};

std::optional<HiType> composition_type(const json::object& resource) {
  std::optional<HiType> found;
  for_each_coding(resource.if_contains("type"),
                  [&](std::string_view system, std::string_view code) {
                    if (system != "http://snomed.info/sct") return;
                    for (const auto& [type, document] : kDocumentTypes)
                      if (!document.snomed_code.empty() && code == document.snomed_code)
                        found = type;
                  });
  if (!found) {
    if (const auto* type = object_at(resource, "type");
        type && text_at(*type, "text") == "Wellness Record") {
      found = HiType::kWellnessRecord;
    }
  }
  return found;
}

std::optional<HiType> observation_type(const json::object& resource) {
  std::optional<HiType> found;
  for_each_coding(resource.if_contains("category"), [&](std::string_view, std::string_view code) {
    if (code == "vital-signs" || code == "social-history" || code == "activity" ||
        code == "survey") {
      found = HiType::kWellnessRecord;
    } else if (code == "laboratory" || code == "imaging" || code == "procedure" || code == "exam") {
      found = HiType::kDiagnosticReport;
    }
  });
  return found;
}

HiType encounter_type(const json::object& resource) {
  const auto* klass = object_at(resource, "class");
  const auto code = klass ? text_at(*klass, "code") : std::string_view();
  return code == "IMP" || code == "ACUTE" || code == "NONAC" ? HiType::kDischargeSummary
                                                             : HiType::kOpConsultation;
}

// A full date or date-time; partial dates are not enough to place a record in a range.
std::optional<std::int64_t> full_date(std::string_view text) {
  if (text.size() < 10) return std::nullopt;
  return parse_instant_ms(text);
}

}  // namespace

DocumentType document_type_of(HiType type) {
  for (const auto& [known, document] : kDocumentTypes)
    if (known == type) return document;
  return {"", "Record"};
}

std::optional<HiType> hi_type_of(std::string_view type, const json::object& resource) {
  if (type == "Composition") return composition_type(resource);
  if (type == "Observation") return observation_type(resource);
  if (type == "Encounter") return encounter_type(resource);
  if (type == "MedicationRequest" || type == "MedicationStatement" ||
      type == "MedicationAdministration") {
    return HiType::kPrescription;
  }
  if (type == "DiagnosticReport" || type == "ImagingStudy" || type == "Specimen") {
    return HiType::kDiagnosticReport;
  }
  if (type == "Immunization" || type == "ImmunizationRecommendation") {
    return HiType::kImmunizationRecord;
  }
  if (type == "DocumentReference") return HiType::kHealthDocumentRecord;
  if (type == "Condition" || type == "Procedure" || type == "AllergyIntolerance" ||
      type == "CarePlan" || type == "ServiceRequest" || type == "FamilyMemberHistory") {
    return HiType::kOpConsultation;
  }
  if (type == "Claim" || type == "ExplanationOfBenefit" || type == "Invoice") {
    return HiType::kInvoice;
  }
  return std::nullopt;
}

std::optional<std::int64_t> care_date_of(std::string_view, const json::object& resource) {
  for (const std::string_view key :
       {"effectiveDateTime", "issued", "occurrenceDateTime", "authoredOn", "recordedDate",
        "onsetDateTime", "performedDateTime", "date", "created"}) {
    if (const auto date = text_at(resource, key); !date.empty()) return full_date(date);
  }
  for (const std::string_view key :
       {"effectivePeriod", "performedPeriod", "period", "billablePeriod"}) {
    if (const auto* period = object_at(resource, key)) {
      if (const auto start = text_at(*period, "start"); !start.empty()) return full_date(start);
    }
  }
  return std::nullopt;
}

std::string care_context_of(std::string_view type, std::string_view id,
                            const json::object& resource) {
  if (type == "Encounter") return std::string(id);
  const auto encounter_of = [](const json::object& reference) {
    const auto target = text_at(reference, "reference");
    return target.starts_with("Encounter/") && target.size() > 10 ? std::string(target.substr(10))
                                                                  : std::string();
  };
  // encounter on most records; context on MedicationAdministration.
  for (const std::string_view key : {"encounter", "context"}) {
    if (const auto* reference = object_at(resource, key)) {
      if (auto found = encounter_of(*reference); !found.empty()) return found;
    }
  }
  // DocumentReference: context.encounter, a list (the first names the visit).
  if (const auto* context = object_at(resource, "context")) {
    const auto* encounters = context->if_contains("encounter");
    if (encounters != nullptr && encounters->is_array() && !encounters->get_array().empty() &&
        encounters->get_array().front().is_object()) {
      return encounter_of(encounters->get_array().front().get_object());
    }
  }
  return "";
}

}  // namespace kavach::consent
