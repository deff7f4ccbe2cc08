#include "exchange/patient_audit.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "consent/consent_record_gate.h"
#include "consent/json_fields.h"
#include "exchange/hiu_data_flow.h"

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
    if (!reply) {
      answer.error = reply.error().message;
    } else if (const auto* bundle = reply->if_contains("bundle"); bundle && bundle->is_object()) {
      answer.bundle = bundle->as_object();
    } else {
      answer.error = "the provider's answer holds no Bundle";
    }
    answers.push_back(std::move(answer));
  }
  return answers;
}

Result<std::vector<std::pair<std::string, json::object>>> HiuAuditView::entries(
    const json::object& body, std::string_view signature) {
  RETURN_IF_ERROR(consent::verify_cm_message(cm_, body, signature, unix_ms(clock_.now())));
  const auto* ids = body.if_contains("consentIds");
  if (ids == nullptr || !ids->is_array() || ids->as_array().size() > kConsentsAskedMax) {
    return make_error(ErrorCode::kInvalidArgument, "consentIds is a list of up to 50 ids");
  }
  std::size_t count = 50;
  if (const auto* asked = body.if_contains("count"); asked != nullptr && asked->is_int64()) {
    count = static_cast<std::size_t>(std::clamp<std::int64_t>(asked->as_int64(), 1, 200));
  }
  std::vector<std::pair<std::string, json::object>> out;
  for (const auto& id : ids->as_array()) {
    if (!id.is_string() || id.as_string().empty() || id.as_string().size() > 64) {
      return make_error(ErrorCode::kInvalidArgument, "consentIds holds consent ids");
    }
    const std::string consent_id(id.as_string());
    ASSIGN_OR_RETURN(auto page,
                     events_.search_as_patient("cm-for-consent",
                                               {received_data_partition(consent_id), -1, count}));
    out.emplace_back(consent_id, std::move(page.bundle));
  }
  return out;
}

Result<std::vector<HiuAuditAnswer>> PatientAuditGatherer::gather_users(
    const consent::PatientSession& caller, std::string_view abha_number, std::size_t count) {
  ASSIGN_OR_RETURN(const auto artefacts, manager_.artefacts(caller, abha_number));
  std::map<std::string, std::vector<std::string>> by_hiu;
  for (const auto& record : artefacts) {
    auto& ids = by_hiu[record.artefact.detail.hiu_id];
    if (ids.size() < kConsentsAskedMax) ids.push_back(record.artefact.detail.consent_id);
  }
  std::vector<HiuAuditAnswer> answers;
  for (const auto& [hiu_id, ids] : by_hiu) {
    HiuAuditAnswer answer{hiu_id, hiu_id, {}, ""};
    auto facility = registry_.participant(hiu_id, consent::FacilityRole::kHiu);
    if (!facility) {
      answer.error = facility.error().message;
      answers.push_back(std::move(answer));
      continue;
    }
    answer.hiu_name = facility->name;
    json::array asked;
    for (const auto& id : ids) asked.emplace_back(id);
    auto reply =
        call_(*facility, kConsentAuditPath,
              {{"consentIds", std::move(asked)}, {"count", static_cast<std::int64_t>(count)}});
    if (!reply) {
      answer.error = reply.error().message;
    } else if (const auto* consents = reply->if_contains("consents");
               consents != nullptr && consents->is_array()) {
      for (auto& item : consents->as_array()) {
        const auto* fields = item.if_object();
        if (fields == nullptr || !fields->contains("consentId") ||
            !fields->at("consentId").is_string() || !fields->contains("bundle") ||
            !fields->at("bundle").is_object()) {
          continue;
        }
        answer.bundles.emplace_back(std::string(fields->at("consentId").as_string()),
                                    fields->at("bundle").as_object());
      }
    }
    answers.push_back(std::move(answer));
  }
  return answers;
}

}  // namespace kavach::exchange
