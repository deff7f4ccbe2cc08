#include "fhir/search_parameters.h"

#include <array>

#include <boost/json.hpp>

namespace kavach::fhir {
namespace {

namespace json = boost::json;
using Kind = ParameterKind;

constexpr std::array kPatient = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"name", Kind::kString, "name"},
    ParameterDefinition{"family", Kind::kString, "name.family", "", false, "name"},
    ParameterDefinition{"given", Kind::kString, "name.given", "", false, "name"},
    ParameterDefinition{"birthdate", Kind::kDate, "birthDate"},
    ParameterDefinition{"gender", Kind::kToken, "gender"},
    ParameterDefinition{"phone", Kind::kPhone, "telecom"},
    ParameterDefinition{"active", Kind::kToken, "active"},
    ParameterDefinition{"general-practitioner", Kind::kReference, "generalPractitioner",
                        "Practitioner"},
    ParameterDefinition{"organization", Kind::kReference, "managingOrganization", "Organization"},
};
constexpr std::array kPractitioner = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"name", Kind::kString, "name"},
    ParameterDefinition{"family", Kind::kString, "name.family", "", false, "name"},
    ParameterDefinition{"given", Kind::kString, "name.given", "", false, "name"},
    ParameterDefinition{"gender", Kind::kToken, "gender"},
    ParameterDefinition{"phone", Kind::kPhone, "telecom"},
};
constexpr std::array kOrganization = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"name", Kind::kString, "name"},
    ParameterDefinition{"type", Kind::kToken, "type"},
    ParameterDefinition{"partof", Kind::kReference, "partOf", "Organization"},
};
constexpr std::array kEncounter = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"class", Kind::kToken, "class"},
    ParameterDefinition{"type", Kind::kToken, "type"},
    ParameterDefinition{"date", Kind::kDate, "period"},
    ParameterDefinition{"service-provider", Kind::kReference, "serviceProvider", "Organization"},
    ParameterDefinition{"practitioner", Kind::kReference, "participant.individual", "Practitioner",
                        true},
};
constexpr std::array kCondition = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"code", Kind::kToken, "code"},
    ParameterDefinition{"category", Kind::kToken, "category"},
    ParameterDefinition{"clinical-status", Kind::kToken, "clinicalStatus"},
    ParameterDefinition{"verification-status", Kind::kToken, "verificationStatus"},
    ParameterDefinition{"encounter", Kind::kReference, "encounter", "Encounter"},
    ParameterDefinition{"onset-date", Kind::kDate, "onset[x]"},
    ParameterDefinition{"recorded-date", Kind::kDate, "recordedDate"},
};
constexpr std::array kObservation = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"code", Kind::kToken, "code"},
    ParameterDefinition{"category", Kind::kToken, "category"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"date", Kind::kDate, "effective[x]"},
    ParameterDefinition{"encounter", Kind::kReference, "encounter", "Encounter"},
    ParameterDefinition{"performer", Kind::kReference, "performer", "Practitioner"},
};
constexpr std::array kDiagnosticReport = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"code", Kind::kToken, "code"},
    ParameterDefinition{"category", Kind::kToken, "category"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"date", Kind::kDate, "effective[x]"},
    ParameterDefinition{"issued", Kind::kDate, "issued"},
    ParameterDefinition{"encounter", Kind::kReference, "encounter", "Encounter"},
    ParameterDefinition{"result", Kind::kReference, "result", "Observation"},
    ParameterDefinition{"performer", Kind::kReference, "performer", "Practitioner"},
};
constexpr std::array kMedicationRequest = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"code", Kind::kToken, "medication[x]"},
    ParameterDefinition{"category", Kind::kToken, "category"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"intent", Kind::kToken, "intent"},
    ParameterDefinition{"authoredon", Kind::kDate, "authoredOn"},
    ParameterDefinition{"encounter", Kind::kReference, "encounter", "Encounter"},
    ParameterDefinition{"requester", Kind::kReference, "requester", "Practitioner"},
};
constexpr std::array kImmunization = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"patient", Kind::kReference, "patient", "Patient"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"vaccine-code", Kind::kToken, "vaccineCode"},
    ParameterDefinition{"date", Kind::kDate, "occurrence[x]"},
    ParameterDefinition{"encounter", Kind::kReference, "encounter", "Encounter"},
};
constexpr std::array kAllergyIntolerance = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"patient", Kind::kReference, "patient", "Patient"},
    ParameterDefinition{"code", Kind::kToken, "code"},
    ParameterDefinition{"category", Kind::kToken, "category"},
    ParameterDefinition{"clinical-status", Kind::kToken, "clinicalStatus"},
    ParameterDefinition{"criticality", Kind::kToken, "criticality"},
    ParameterDefinition{"date", Kind::kDate, "recordedDate"},
    ParameterDefinition{"encounter", Kind::kReference, "encounter", "Encounter"},
};
constexpr std::array kProcedure = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"code", Kind::kToken, "code"},
    ParameterDefinition{"category", Kind::kToken, "category"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"date", Kind::kDate, "performed[x]"},
    ParameterDefinition{"encounter", Kind::kReference, "encounter", "Encounter"},
};
constexpr std::array kDocumentReference = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"type", Kind::kToken, "type"},
    ParameterDefinition{"category", Kind::kToken, "category"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"date", Kind::kDate, "date"},
    ParameterDefinition{"encounter", Kind::kReference, "context.encounter", "Encounter"},
};
constexpr std::array kComposition = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"type", Kind::kToken, "type"},
    ParameterDefinition{"category", Kind::kToken, "category"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"date", Kind::kDate, "date"},
    ParameterDefinition{"encounter", Kind::kReference, "encounter", "Encounter"},
    ParameterDefinition{"author", Kind::kReference, "author", "Practitioner"},
};
constexpr std::array kBundle = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"type", Kind::kToken, "type"},
    ParameterDefinition{"timestamp", Kind::kDate, "timestamp"},
};

constexpr std::array kCarePlan = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"intent", Kind::kToken, "intent"},
    ParameterDefinition{"category", Kind::kToken, "category"},
    ParameterDefinition{"date", Kind::kDate, "period"},
    ParameterDefinition{"encounter", Kind::kReference, "encounter", "Encounter"},
};
constexpr std::array kCareTeam = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"category", Kind::kToken, "category"},
    ParameterDefinition{"date", Kind::kDate, "period"},
    ParameterDefinition{"encounter", Kind::kReference, "encounter", "Encounter"},
    ParameterDefinition{"participant", Kind::kReference, "participant.member", "Practitioner"},
};
constexpr std::array kClaim = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"patient", Kind::kReference, "patient", "Patient"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"use", Kind::kToken, "use"},
    ParameterDefinition{"created", Kind::kDate, "created"},
    ParameterDefinition{"provider", Kind::kReference, "provider", "Organization"},
    ParameterDefinition{"encounter", Kind::kReference, "item.encounter", "Encounter"},
};
constexpr std::array kDevice = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"patient", Kind::kReference, "patient", "Patient"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"type", Kind::kToken, "type"},
};
constexpr std::array kExplanationOfBenefit = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"patient", Kind::kReference, "patient", "Patient"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"created", Kind::kDate, "created"},
    ParameterDefinition{"claim", Kind::kReference, "claim", "Claim"},
    ParameterDefinition{"provider", Kind::kReference, "provider", "Organization"},
    ParameterDefinition{"encounter", Kind::kReference, "item.encounter", "Encounter"},
};
constexpr std::array kGroup = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"type", Kind::kToken, "type"},
    ParameterDefinition{"code", Kind::kToken, "code"},
    ParameterDefinition{"member", Kind::kReference, "member.entity", "Patient"},
};
constexpr std::array kImagingStudy = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"started", Kind::kDate, "started"},
    ParameterDefinition{"modality", Kind::kToken, "series.modality"},
    ParameterDefinition{"bodysite", Kind::kToken, "series.bodySite"},
    ParameterDefinition{"encounter", Kind::kReference, "encounter", "Encounter"},
};
constexpr std::array kLocation = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"name", Kind::kString, "name"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"type", Kind::kToken, "type"},
    ParameterDefinition{"address-city", Kind::kString, "address.city"},
    ParameterDefinition{"address-state", Kind::kString, "address.state"},
    ParameterDefinition{"organization", Kind::kReference, "managingOrganization", "Organization"},
};
constexpr std::array kMedication = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"code", Kind::kToken, "code"},
    ParameterDefinition{"status", Kind::kToken, "status"},
};
constexpr std::array kMedicationAdministration = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"subject", Kind::kReference, "subject", "Patient"},
    ParameterDefinition{"patient", Kind::kReference, "subject", "Patient", true, "subject"},
    ParameterDefinition{"code", Kind::kToken, "medication[x]"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"effective-time", Kind::kDate, "effective[x]"},
    ParameterDefinition{"context", Kind::kReference, "context", "Encounter"},
};
constexpr std::array kPractitionerRole = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"practitioner", Kind::kReference, "practitioner", "Practitioner"},
    ParameterDefinition{"organization", Kind::kReference, "organization", "Organization"},
    ParameterDefinition{"location", Kind::kReference, "location", "Location"},
    ParameterDefinition{"role", Kind::kToken, "code"},
    ParameterDefinition{"specialty", Kind::kToken, "specialty"},
    ParameterDefinition{"phone", Kind::kPhone, "telecom"},
};
constexpr std::array kProvenance = {
    ParameterDefinition{"target", Kind::kReference, "target", ""},
    ParameterDefinition{"patient", Kind::kReference, "target", "Patient", true},
    ParameterDefinition{"recorded", Kind::kDate, "recorded"},
    ParameterDefinition{"agent", Kind::kReference, "agent.who", "Practitioner"},
};
constexpr std::array kSupplyDelivery = {
    ParameterDefinition{"identifier", Kind::kToken, "identifier"},
    ParameterDefinition{"patient", Kind::kReference, "patient", "Patient"},
    ParameterDefinition{"status", Kind::kToken, "status"},
    ParameterDefinition{"supplier", Kind::kReference, "supplier", "Practitioner"},
};

struct TypeParameters {
  std::string_view type;
  std::span<const ParameterDefinition> parameters;
};

// Binary has only _id and _lastUpdated.
constexpr std::array kTypes = {
    TypeParameters{"AllergyIntolerance", kAllergyIntolerance},
    TypeParameters{"Bundle", kBundle},
    TypeParameters{"CarePlan", kCarePlan},
    TypeParameters{"CareTeam", kCareTeam},
    TypeParameters{"Claim", kClaim},
    TypeParameters{"Composition", kComposition},
    TypeParameters{"Condition", kCondition},
    TypeParameters{"Device", kDevice},
    TypeParameters{"DiagnosticReport", kDiagnosticReport},
    TypeParameters{"DocumentReference", kDocumentReference},
    TypeParameters{"Encounter", kEncounter},
    TypeParameters{"ExplanationOfBenefit", kExplanationOfBenefit},
    TypeParameters{"Group", kGroup},
    TypeParameters{"ImagingStudy", kImagingStudy},
    TypeParameters{"Immunization", kImmunization},
    TypeParameters{"Location", kLocation},
    TypeParameters{"Medication", kMedication},
    TypeParameters{"MedicationAdministration", kMedicationAdministration},
    TypeParameters{"MedicationRequest", kMedicationRequest},
    TypeParameters{"Observation", kObservation},
    TypeParameters{"Organization", kOrganization},
    TypeParameters{"Patient", kPatient},
    TypeParameters{"Practitioner", kPractitioner},
    TypeParameters{"PractitionerRole", kPractitionerRole},
    TypeParameters{"Procedure", kProcedure},
    TypeParameters{"Provenance", kProvenance},
    TypeParameters{"SupplyDelivery", kSupplyDelivery},
};

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

void collect(const json::value& node, std::string_view path, std::vector<const json::value*>& out);

// Every value at `path` below the members of `object`, arrays flattened.
void collect_members(const json::object& object, std::string_view path,
                     std::vector<const json::value*>& out) {
  const auto dot = path.find('.');
  const auto step = path.substr(0, dot);
  const auto rest = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  if (step.ends_with("[x]")) {
    const auto stem = step.substr(0, step.size() - 3);
    for (const auto& member : object) {
      const std::string_view key = member.key();
      if (key.size() > stem.size() && key.starts_with(stem) && is_upper(key[stem.size()])) {
        collect(member.value(), rest, out);
      }
    }
  } else if (const auto* child = object.if_contains(step)) {
    collect(*child, rest, out);
  }
}

void collect(const json::value& node, std::string_view path, std::vector<const json::value*>& out) {
  if (node.is_array()) {
    for (const auto& item : node.get_array()) collect(item, path, out);
  } else if (path.empty()) {
    out.push_back(&node);
  } else if (node.is_object()) {
    collect_members(node.get_object(), path, out);
  }
}

std::vector<const json::value*> values_at(const ParameterDefinition& parameter,
                                          const json::object& resource) {
  std::vector<const json::value*> out;
  collect_members(resource, parameter.path, out);
  return out;
}

std::string_view string_member(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value && value->is_string() ? std::string_view(value->get_string()) : std::string_view();
}

void add_token(std::vector<Token>& out, std::string_view system, std::string_view code) {
  if (!code.empty()) out.push_back(Token{std::string(system), std::string(code)});
}

}  // namespace

std::span<const ParameterDefinition> parameters_of(std::string_view type) {
  for (const auto& entry : kTypes) {
    if (entry.type == type) return entry.parameters;
  }
  return {};
}

const ParameterDefinition kIdParameter{"_id", ParameterKind::kToken, "id"};
const ParameterDefinition kLastUpdatedParameter{"_lastUpdated", ParameterKind::kDate,
                                                "meta.lastUpdated"};

const ParameterDefinition* find_parameter(std::string_view type, std::string_view name) {
  if (name == kIdParameter.name) return &kIdParameter;
  if (name == kLastUpdatedParameter.name) return &kLastUpdatedParameter;
  for (const auto& parameter : parameters_of(type)) {
    if (parameter.name == name) return &parameter;
  }
  return nullptr;
}

std::vector<Token> tokens_of(const ParameterDefinition& parameter, const json::object& resource) {
  std::vector<Token> out;
  for (const auto* value : values_at(parameter, resource)) {
    if (value->is_string()) {
      add_token(out, "", value->get_string());
    } else if (value->is_bool()) {
      add_token(out, "", value->get_bool() ? "true" : "false");
    } else if (value->is_object()) {
      const auto& object = value->get_object();
      if (const auto* codings = object.if_contains("coding"); codings && codings->is_array()) {
        for (const auto& coding : codings->get_array()) {
          if (!coding.is_object()) continue;
          add_token(out, string_member(coding.get_object(), "system"),
                    string_member(coding.get_object(), "code"));
        }
      } else if (object.contains("code")) {  // a Coding
        add_token(out, string_member(object, "system"), string_member(object, "code"));
      } else {  // an Identifier or a ContactPoint
        if (parameter.kind == Kind::kPhone) {
          if (string_member(object, "system") != "phone") continue;
          const auto digits = phone_digits(string_member(object, "value"));
          add_token(out, "", digits);
          // A number matches with or without its country code: "+91 98765 43210" is found by
          // 919876543210 and by 9876543210 (Indian numbers have ten digits after it).
          constexpr std::size_t kNationalNumberDigits = 10;
          if (digits.size() > kNationalNumberDigits) {
            add_token(out, "", digits.substr(digits.size() - kNationalNumberDigits));
          }
          continue;
        }
        add_token(out, string_member(object, "system"), string_member(object, "value"));
      }
    }
  }
  return out;
}

std::vector<std::string> strings_of(const ParameterDefinition& parameter,
                                    const json::object& resource) {
  std::vector<std::string> out;
  const auto add = [&out](const json::value& value) {
    if (value.is_string() && !value.get_string().empty()) out.emplace_back(value.get_string());
  };
  for (const auto* value : values_at(parameter, resource)) {
    if (value->is_string()) {
      add(*value);
    } else if (value->is_object()) {  // a HumanName: each of its parts
      const auto& name = value->get_object();
      for (const auto* part : {"family", "text"}) {
        if (const auto* found = name.if_contains(part)) add(*found);
      }
      for (const auto* parts : {"given", "prefix", "suffix"}) {
        const auto* found = name.if_contains(parts);
        if (found == nullptr || !found->is_array()) continue;
        for (const auto& item : found->get_array()) add(item);
      }
    }
  }
  return out;
}

std::vector<std::string> references_of(const ParameterDefinition& parameter,
                                       const json::object& resource) {
  std::vector<std::string> out;
  for (const auto* value : values_at(parameter, resource)) {
    if (!value->is_object()) continue;
    auto reference = normalise_reference(string_member(value->get_object(), "reference"), "");
    if (reference.empty()) continue;
    if (parameter.target_only &&
        !(reference.starts_with(parameter.target) && reference.size() > parameter.target.size() &&
          reference[parameter.target.size()] == '/')) {
      continue;
    }
    out.push_back(std::move(reference));
  }
  return out;
}

std::vector<DateRange> dates_of(const ParameterDefinition& parameter,
                                const json::object& resource) {
  std::vector<DateRange> out;
  for (const auto* value : values_at(parameter, resource)) {
    if (value->is_string()) {
      if (auto range = parse_date_range(value->get_string())) out.push_back(*range);
    } else if (value->is_object()) {  // a Period; a missing bound is open
      const auto& period = value->get_object();
      const auto start = parse_date_range(string_member(period, "start"));
      const auto end = parse_date_range(string_member(period, "end"));
      if (!start && !end) continue;
      out.push_back(DateRange{start ? start->low_ms : kUnboundedBefore,
                              end ? end->high_ms : kUnboundedAfter});
    }
  }
  return out;
}

std::string normalise_reference(std::string_view reference, std::string_view default_type) {
  if (reference.empty() || reference.starts_with('#') || reference.starts_with("urn:")) return "";
  if (const auto history = reference.find("/_history/"); history != std::string_view::npos) {
    reference = reference.substr(0, history);
  }
  const auto last = reference.rfind('/');
  if (last == std::string_view::npos) {
    return default_type.empty() ? "" : std::string(default_type) + "/" + std::string(reference);
  }
  const auto head = reference.substr(0, last);
  const auto id = reference.substr(last + 1);
  const auto type_start = head.rfind('/');
  const auto type = type_start == std::string_view::npos ? head : head.substr(type_start + 1);
  if (type.empty() || id.empty() || !is_upper(type.front())) return "";
  return std::string(type) + "/" + std::string(id);
}

std::string fold_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  return out;
}

std::string phone_digits(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= '0' && c <= '9') out += c;
  }
  return out;
}

}  // namespace kavach::fhir
