#include "exchange/patient_audit.h"

#include <algorithm>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "consent/consent_record_gate.h"
#include "consent/json_fields.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;

auth::AccessToken patient_reader() {
  // The HIP checking which patient the CM asks about: a logged read of that Patient record.
  return auth::AccessToken{"node:patient-audit", *auth::ScopeSet::parse("system/Patient.r"), 0};
}

}  // namespace

Result<fhir::AuditEventPage> HipAuditView::entries(const json::object& body,
                                                   std::string_view signature) {
  RETURN_IF_ERROR(consents_.verify_message(body, signature));
  const auto* patient_value = body.if_contains("patient");
  if (patient_value == nullptr)
    return make_error(ErrorCode::kInvalidArgument, "patient is required");
  ASSIGN_OR_RETURN(const json::object& patient, consent::json_object(*patient_value, "patient"));
  ASSIGN_OR_RETURN(const auto address, consent::required_string(patient, "id", "patient"));
  ASSIGN_OR_RETURN(const auto reference,
                   consent::required_string(patient, "referenceNumber", "patient"));
  const auto unknown = [] {
    return make_error(ErrorCode::kNotFound, "no patient here has that ABHA address");
  };
  auto record = resources_.read(patient_reader(), "Patient", reference);
  if (!record)
    return record.error().code == ErrorCode::kNotFound ? unknown() : tl::unexpected(record.error());
  const auto resource = json::parse(record->json).as_object();
  const auto* identifiers = resource.if_contains("identifier");
  const bool linked = identifiers != nullptr && identifiers->is_array() &&
                      std::any_of(identifiers->as_array().begin(), identifiers->as_array().end(),
                                  [&](const json::value& identifier) {
                                    const auto* fields = identifier.if_object();
                                    if (fields == nullptr) return false;
                                    const auto* system = fields->if_contains("system");
                                    const auto* value = fields->if_contains("value");
                                    return system != nullptr && system->is_string() &&
                                           value != nullptr && value->is_string() &&
                                           system->as_string() == consent::kAbhaAddressSystem &&
                                           value->as_string() == address;
                                  });
  if (!linked) return unknown();
  fhir::AuditEventQuery query;
  query.patient = reference;
  if (const auto* after = body.if_contains("after"); after != nullptr && after->is_int64()) {
    query.after = after->as_int64();
  }
  if (const auto* count = body.if_contains("count"); count != nullptr && count->is_int64()) {
    query.count = static_cast<std::size_t>(std::clamp<std::int64_t>(count->as_int64(), 1, 200));
  }
  return events_.search_as_patient(fmt::format("cm-for:{}", address), query);
}

Result<std::vector<HipAuditAnswer>> PatientAuditGatherer::gather(
    const consent::PatientSession& caller, std::string_view abha_number, std::size_t count) {
  ASSIGN_OR_RETURN(const auto linked, links_.links(caller, abha_number));
  // The address the HIPs know the patient by: the one they were linked with.
  ASSIGN_OR_RETURN(const auto subject, links_.subject(caller, abha_number));
  std::vector<HipAuditAnswer> answers;
  for (const auto& hip : linked) {
    HipAuditAnswer answer{hip.hip_id, hip.hip_name, {}, ""};
    auto facility = registry_.participant(hip.hip_id, consent::FacilityRole::kHip);
    if (!facility) {
      answer.error = facility.error().message;
      answers.push_back(std::move(answer));
      continue;
    }
    auto reply = call_(*facility, kPatientAuditPath,
                       {{"patient", {{"id", subject}, {"referenceNumber", hip.patient_reference}}},
                        {"count", static_cast<std::int64_t>(count)}});
    if (reply) {
      answer.bundle = std::move(*reply);
    } else {
      answer.error = reply.error().message;
    }
    answers.push_back(std::move(answer));
  }
  return answers;
}

}  // namespace kavach::exchange
