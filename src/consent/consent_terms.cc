#include "consent/consent_terms.h"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/time_format.h"
#include "consent/json_fields.h"

namespace kavach::consent {
namespace {

template <class Enum, std::size_t N>
std::optional<Enum> find_code(const std::array<std::pair<Enum, std::string_view>, N>& table,
                              std::string_view code) {
  for (const auto& [value, text] : table)
    if (text == code) return value;
  return std::nullopt;
}

template <class Enum, std::size_t N>
std::string_view code_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                         Enum value) {
  for (const auto& [candidate, text] : table)
    if (candidate == value) return text;
  return "?";
}

constexpr std::array<std::pair<Purpose, std::string_view>, 6> kPurposeCodes{{
    {Purpose::kCareManagement, "CAREMGT"},
    {Purpose::kBreakTheGlass, "BTG"},
    {Purpose::kPublicHealth, "PUBHLTH"},
    {Purpose::kHealthcarePayment, "HPAYMT"},
    {Purpose::kDiseaseSpecificResearch, "DSRCH"},
    {Purpose::kSelfRequested, "PATRQT"},
}};
constexpr std::array<std::pair<Purpose, std::string_view>, 6> kPurposeTexts{{
    {Purpose::kCareManagement, "Care Management"},
    {Purpose::kBreakTheGlass, "Break the Glass"},
    {Purpose::kPublicHealth, "Public Health"},
    {Purpose::kHealthcarePayment, "Healthcare Payment"},
    {Purpose::kDiseaseSpecificResearch, "Disease Specific Healthcare Research"},
    {Purpose::kSelfRequested, "Self Requested"},
}};
constexpr std::array<std::pair<HiType, std::string_view>, 8> kHiTypeCodes{{
    {HiType::kOpConsultation, "OPConsultation"},
    {HiType::kPrescription, "Prescription"},
    {HiType::kDischargeSummary, "DischargeSummary"},
    {HiType::kDiagnosticReport, "DiagnosticReport"},
    {HiType::kImmunizationRecord, "ImmunizationRecord"},
    {HiType::kHealthDocumentRecord, "HealthDocumentRecord"},
    {HiType::kWellnessRecord, "WellnessRecord"},
    {HiType::kInvoice, "Invoice"},
}};
constexpr std::array<std::pair<AccessMode, std::string_view>, 4> kAccessModeCodes{{
    {AccessMode::kView, "VIEW"},
    {AccessMode::kStore, "STORE"},
    {AccessMode::kQuery, "QUERY"},
    {AccessMode::kStream, "STREAM"},
}};
constexpr std::array<std::pair<FrequencyUnit, std::string_view>, 5> kFrequencyUnitCodes{{
    {FrequencyUnit::kHour, "HOUR"},
    {FrequencyUnit::kDay, "DAY"},
    {FrequencyUnit::kWeek, "WEEK"},
    {FrequencyUnit::kMonth, "MONTH"},
    {FrequencyUnit::kYear, "YEAR"},
}};
constexpr std::array<std::pair<ConsentStatus, std::string_view>, 5> kStatusCodes{{
    {ConsentStatus::kRequested, "REQUESTED"},
    {ConsentStatus::kGranted, "GRANTED"},
    {ConsentStatus::kDenied, "DENIED"},
    {ConsentStatus::kRevoked, "REVOKED"},
    {ConsentStatus::kExpired, "EXPIRED"},
}};

bool contains(const auto& range, const auto& value) {
  return std::find(range.begin(), range.end(), value) != range.end();
}

}  // namespace

std::string_view purpose_code(Purpose purpose) { return code_of(kPurposeCodes, purpose); }
std::string_view purpose_text(Purpose purpose) { return code_of(kPurposeTexts, purpose); }
std::optional<Purpose> parse_purpose(std::string_view code) {
  return find_code(kPurposeCodes, code);
}
std::string_view hi_type_code(HiType type) { return code_of(kHiTypeCodes, type); }
std::optional<HiType> parse_hi_type(std::string_view code) { return find_code(kHiTypeCodes, code); }
std::string_view access_mode_code(AccessMode mode) { return code_of(kAccessModeCodes, mode); }
std::optional<AccessMode> parse_access_mode(std::string_view code) {
  return find_code(kAccessModeCodes, code);
}
std::string_view frequency_unit_code(FrequencyUnit unit) {
  return code_of(kFrequencyUnitCodes, unit);
}
std::optional<FrequencyUnit> parse_frequency_unit(std::string_view code) {
  return find_code(kFrequencyUnitCodes, code);
}
std::string_view consent_status_code(ConsentStatus status) { return code_of(kStatusCodes, status); }
std::optional<ConsentStatus> parse_consent_status(std::string_view code) {
  return find_code(kStatusCodes, code);
}

std::int64_t frequency_period_ms(FrequencyUnit unit, std::int64_t value) {
  constexpr std::int64_t kHourMs = 3'600'000;
  switch (unit) {
    case FrequencyUnit::kHour:
      return value * kHourMs;
    case FrequencyUnit::kDay:
      return value * 24 * kHourMs;
    case FrequencyUnit::kWeek:
      return value * 7 * 24 * kHourMs;
    case FrequencyUnit::kMonth:
      return value * 30 * 24 * kHourMs;
    case FrequencyUnit::kYear:
      return value * 365 * 24 * kHourMs;
  }
  return value * kHourMs;
}

boost::json::object purpose_to_json(Purpose purpose) {
  return {{"text", purpose_text(purpose)},
          {"code", purpose_code(purpose)},
          {"refUri", "http://terminology.hl7.org/ValueSet/v3-PurposeOfUse"}};
}

Result<Purpose> parse_purpose_object(const boost::json::value& value) {
  ASSIGN_OR_RETURN(const boost::json::object& object, json_object(value, "purpose"));
  ASSIGN_OR_RETURN(const std::string code, required_string(object, "code", "purpose"));
  auto purpose = parse_purpose(code);
  if (!purpose) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("purpose.code '{}' is not one of CAREMGT, BTG, PUBHLTH, HPAYMT, "
                                  "DSRCH, PATRQT",
                                  code));
  }
  return *purpose;
}

Result<DateRange> parse_date_range(const boost::json::value& value, std::string_view path) {
  ASSIGN_OR_RETURN(const boost::json::object& range, json_object(value, path));
  DateRange parsed;
  ASSIGN_OR_RETURN(parsed.from_ms, required_instant(range, "from", path));
  ASSIGN_OR_RETURN(parsed.to_ms, required_instant(range, "to", path));
  return parsed;
}

Result<std::vector<HiType>> parse_hi_types(const boost::json::value& value) {
  const auto* array = value.if_array();
  if (array == nullptr || array->empty() || array->size() > kHiTypesMax) {
    return make_error(ErrorCode::kInvalidArgument, "hiTypes is a list of 1 to 8 HI types");
  }
  std::vector<HiType> types;
  for (const auto& element : *array) {
    const auto* text = element.if_string();
    auto type = text ? parse_hi_type(*text) : std::nullopt;
    if (!type) {
      return make_error(ErrorCode::kInvalidArgument,
                        "hiTypes holds an unknown HI type (OPConsultation, Prescription, "
                        "DischargeSummary, DiagnosticReport, ImmunizationRecord, "
                        "HealthDocumentRecord, WellnessRecord, Invoice)");
    }
    if (contains(types, *type)) {
      return make_error(ErrorCode::kInvalidArgument, "hiTypes names a type twice");
    }
    types.push_back(*type);
  }
  return types;
}

boost::json::array hi_types_to_json(const std::vector<HiType>& types) {
  boost::json::array array;
  for (const HiType type : types) array.emplace_back(hi_type_code(type));
  return array;
}

Result<std::vector<CareContext>> parse_care_contexts(const boost::json::value* value) {
  std::vector<CareContext> contexts;
  if (value == nullptr || value->is_null()) return contexts;
  const auto* array = value->if_array();
  if (array == nullptr || array->size() > kCareContextsMax) {
    return make_error(ErrorCode::kInvalidArgument, "careContexts is a list of at most 500");
  }
  for (const auto& element : *array) {
    ASSIGN_OR_RETURN(const boost::json::object& object, json_object(element, "careContexts[]"));
    CareContext context;
    ASSIGN_OR_RETURN(context.patient_reference,
                     required_string(object, "patientReference", "careContexts[]"));
    ASSIGN_OR_RETURN(context.care_context_reference,
                     required_string(object, "careContextReference", "careContexts[]"));
    contexts.push_back(std::move(context));
  }
  return contexts;
}

boost::json::array care_contexts_to_json(const std::vector<CareContext>& contexts) {
  boost::json::array array;
  for (const auto& context : contexts) {
    array.emplace_back(
        boost::json::object{{"patientReference", context.patient_reference},
                            {"careContextReference", context.care_context_reference}});
  }
  return array;
}

Result<Requester> parse_requester(const boost::json::value& value) {
  ASSIGN_OR_RETURN(const boost::json::object& object, json_object(value, "requester"));
  Requester requester;
  ASSIGN_OR_RETURN(requester.name, required_string(object, "name", "requester"));
  if (const auto* identifier = object.if_contains("identifier")) {
    ASSIGN_OR_RETURN(const boost::json::object& fields,
                     json_object(*identifier, "requester.identifier"));
    ASSIGN_OR_RETURN(requester.identifier_type,
                     required_string(fields, "type", "requester.identifier"));
    ASSIGN_OR_RETURN(requester.identifier_value,
                     required_string(fields, "value", "requester.identifier"));
    ASSIGN_OR_RETURN(requester.identifier_system,
                     optional_string(fields, "system", "requester.identifier"));
  }
  return requester;
}

boost::json::object requester_to_json(const Requester& requester) {
  boost::json::object object{{"name", requester.name}};
  if (!requester.identifier_type.empty()) {
    boost::json::object identifier{{"type", requester.identifier_type},
                                   {"value", requester.identifier_value}};
    if (!requester.identifier_system.empty()) identifier["system"] = requester.identifier_system;
    object["identifier"] = std::move(identifier);
  }
  return object;
}

Result<Permission> parse_permission(const boost::json::value& value) {
  ASSIGN_OR_RETURN(const boost::json::object& object, json_object(value, "permission"));
  Permission permission;
  ASSIGN_OR_RETURN(const std::string mode, required_string(object, "accessMode", "permission"));
  auto access_mode = parse_access_mode(mode);
  if (!access_mode) {
    return make_error(ErrorCode::kInvalidArgument,
                      "permission.accessMode is one of VIEW, STORE, QUERY, STREAM");
  }
  permission.access_mode = *access_mode;
  const auto* range_value = object.if_contains("dateRange");
  if (range_value == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "permission.dateRange is required");
  }
  ASSIGN_OR_RETURN(permission.date_range, parse_date_range(*range_value, "permission.dateRange"));
  if (permission.date_range.from_ms > permission.date_range.to_ms) {
    return make_error(ErrorCode::kInvalidArgument, "permission.dateRange.from is after its to");
  }
  ASSIGN_OR_RETURN(permission.data_erase_at_ms,
                   required_instant(object, "dataEraseAt", "permission"));
  const auto* frequency_value = object.if_contains("frequency");
  if (frequency_value == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "permission.frequency is required");
  }
  ASSIGN_OR_RETURN(const boost::json::object& frequency,
                   json_object(*frequency_value, "permission.frequency"));
  ASSIGN_OR_RETURN(const std::string unit,
                   required_string(frequency, "unit", "permission.frequency"));
  auto parsed_unit = parse_frequency_unit(unit);
  if (!parsed_unit) {
    return make_error(ErrorCode::kInvalidArgument,
                      "permission.frequency.unit is one of HOUR, DAY, WEEK, MONTH, YEAR");
  }
  permission.frequency.unit = *parsed_unit;
  ASSIGN_OR_RETURN(
      permission.frequency.value,
      required_integer(frequency, "value", "permission.frequency", 1, kFrequencyValueMax));
  ASSIGN_OR_RETURN(
      permission.frequency.repeats,
      required_integer(frequency, "repeats", "permission.frequency", 0, kFrequencyRepeatsMax));
  return permission;
}

boost::json::object permission_to_json(const Permission& permission) {
  return {{"accessMode", access_mode_code(permission.access_mode)},
          {"dateRange",
           {{"from", format_instant_ms(permission.date_range.from_ms)},
            {"to", format_instant_ms(permission.date_range.to_ms)}}},
          {"dataEraseAt", format_instant_ms(permission.data_erase_at_ms)},
          {"frequency",
           {{"unit", frequency_unit_code(permission.frequency.unit)},
            {"value", permission.frequency.value},
            {"repeats", permission.frequency.repeats}}}};
}

Result<ConsentTerms> parse_consent_terms(const boost::json::object& consent, std::int64_t now_ms) {
  ConsentTerms terms;
  const auto* purpose = consent.if_contains("purpose");
  if (purpose == nullptr) return make_error(ErrorCode::kInvalidArgument, "purpose is required");
  ASSIGN_OR_RETURN(terms.purpose, parse_purpose_object(*purpose));
  ASSIGN_OR_RETURN(terms.patient_id, required_id_object(consent, "patient"));
  if (consent.contains("hip") && !consent.at("hip").is_null()) {
    ASSIGN_OR_RETURN(terms.hip_id, required_id_object(consent, "hip"));
  }
  ASSIGN_OR_RETURN(terms.care_contexts, parse_care_contexts(consent.if_contains("careContexts")));
  ASSIGN_OR_RETURN(terms.hiu_id, required_id_object(consent, "hiu"));
  const auto* requester = consent.if_contains("requester");
  if (requester == nullptr) return make_error(ErrorCode::kInvalidArgument, "requester is required");
  ASSIGN_OR_RETURN(terms.requester, parse_requester(*requester));
  const auto* hi_types = consent.if_contains("hiTypes");
  if (hi_types == nullptr) return make_error(ErrorCode::kInvalidArgument, "hiTypes is required");
  ASSIGN_OR_RETURN(terms.hi_types, parse_hi_types(*hi_types));
  const auto* permission = consent.if_contains("permission");
  if (permission == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "permission is required");
  }
  ASSIGN_OR_RETURN(terms.permission, parse_permission(*permission));
  if (terms.permission.data_erase_at_ms <= now_ms) {
    return make_error(ErrorCode::kInvalidArgument, "permission.dataEraseAt must be in the future");
  }
  if (!terms.care_contexts.empty() && !terms.hip_id) {
    return make_error(ErrorCode::kInvalidArgument, "careContexts need the hip they belong to");
  }
  return terms;
}

boost::json::object consent_terms_to_json(const ConsentTerms& terms) {
  boost::json::object object{{"purpose", purpose_to_json(terms.purpose)},
                             {"patient", {{"id", terms.patient_id}}}};
  if (terms.hip_id) object["hip"] = {{"id", *terms.hip_id}};
  if (!terms.care_contexts.empty())
    object["careContexts"] = care_contexts_to_json(terms.care_contexts);
  object["hiu"] = {{"id", terms.hiu_id}};
  object["requester"] = requester_to_json(terms.requester);
  object["hiTypes"] = hi_types_to_json(terms.hi_types);
  object["permission"] = permission_to_json(terms.permission);
  return object;
}

bool within(const ConsentTerms& narrower, const ConsentTerms& wider, std::string* why) {
  const auto fail = [why](std::string_view reason) {
    if (why != nullptr) *why = std::string(reason);
    return false;
  };
  if (narrower.purpose != wider.purpose) return fail("the purpose cannot change");
  if (narrower.patient_id != wider.patient_id) return fail("the patient cannot change");
  if (narrower.hiu_id != wider.hiu_id) return fail("the requesting facility cannot change");
  if (narrower.requester != wider.requester) return fail("the requester cannot change");
  if (narrower.permission.access_mode != wider.permission.access_mode)
    return fail("the access mode cannot change");
  if (wider.hip_id && narrower.hip_id != wider.hip_id) return fail("the HIP cannot change");
  for (const HiType type : narrower.hi_types)
    if (!contains(wider.hi_types, type)) return fail("a grant cannot add HI types");
  if (narrower.hi_types.empty()) return fail("a grant needs at least one HI type");
  if (!wider.care_contexts.empty()) {
    if (narrower.care_contexts.empty()) return fail("a grant cannot drop the care-context limit");
    for (const auto& context : narrower.care_contexts)
      if (!contains(wider.care_contexts, context)) return fail("a grant cannot add care contexts");
  }
  const auto& n = narrower.permission;
  const auto& w = wider.permission;
  if (n.date_range.from_ms < w.date_range.from_ms || n.date_range.to_ms > w.date_range.to_ms ||
      n.date_range.from_ms > n.date_range.to_ms) {
    return fail("a grant cannot widen the date range");
  }
  if (n.data_erase_at_ms > w.data_erase_at_ms) return fail("a grant cannot last longer");
  if (frequency_period_ms(n.frequency.unit, n.frequency.value) <
          frequency_period_ms(w.frequency.unit, w.frequency.value) ||
      n.frequency.repeats > w.frequency.repeats) {
    return fail("a grant cannot allow more frequent access");
  }
  return true;
}

}  // namespace kavach::consent
