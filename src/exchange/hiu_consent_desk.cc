#include "exchange/hiu_consent_desk.h"

#include <algorithm>

#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/time_format.h"
#include "consent/json_fields.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;
using consent::integer_member;
using consent::string_member;

vault::DocumentIndexValue by_professional(std::string_view registration) {
  return {"professional", std::string(registration), false};
}

json::array strings_to_json(const std::vector<std::string>& values) {
  json::array array;
  for (const auto& value : values) array.emplace_back(value);
  return array;
}

json::object asked_to_body(const AskedConsent& asked, std::string_view registration) {
  return {{"professional", registration},
          {"patient_id", asked.patient_id},
          {"purpose", asked.purpose},
          {"hi_types", strings_to_json(asked.hi_types)},
          {"hip_id", asked.hip_id},
          {"from_ms", asked.from_ms},
          {"to_ms", asked.to_ms},
          {"erase_at_ms", asked.erase_at_ms},
          {"asked_at_ms", asked.asked_at_ms},
          {"break_glass", asked.break_glass},
          {"reason", asked.reason},
          {"artefact_ids", strings_to_json(asked.artefact_ids)}};
}

AskedConsent asked_from(const vault::Document& document) {
  const auto& body = document.body;
  AskedConsent asked;
  asked.id = document.id;
  asked.patient_id = string_member(body, "patient_id");
  asked.purpose = string_member(body, "purpose");
  asked.hi_types = consent::string_array_member(body, "hi_types");
  asked.hip_id = string_member(body, "hip_id");
  asked.from_ms = integer_member(body, "from_ms");
  asked.to_ms = integer_member(body, "to_ms");
  asked.erase_at_ms = integer_member(body, "erase_at_ms");
  asked.asked_at_ms = integer_member(body, "asked_at_ms");
  asked.break_glass = consent::bool_member(body, "break_glass");
  asked.reason = string_member(body, "reason");
  asked.artefact_ids = consent::string_array_member(body, "artefact_ids");
  return asked;
}

audit::AuditEntry desk_entry(audit::Action action, const Professional& who, std::string_view hiu_id,
                             std::int64_t now_ms) {
  audit::AuditEntry entry;
  entry.time_ms = now_ms;
  entry.action = action;
  entry.basis =
      action == audit::Action::kBreakGlass ? audit::Basis::kBreakGlass : audit::Basis::kScope;
  entry.actor_kind = audit::ActorKind::kClient;
  entry.actor_id = who.client_id;
  entry.facility_id = std::string(hiu_id);
  return entry;
}

}  // namespace

Result<consent::FoundPatient> HiuConsentDesk::find_patient(const Professional& who,
                                                           std::string_view health_id) {
  ASSIGN_OR_RETURN(const auto answer,
                   cm_("/v0.5/patients/find",
                       json::object{{"query",
                                     {{"patient", {{"id", health_id}}},
                                      {"requester", {{"type", "HIU"}, {"id", hiu_id_}}}}}}));
  const auto* patient = answer.if_contains("patient");
  if (patient == nullptr || !patient->is_object()) {
    return make_error(ErrorCode::kUnavailable, "the CM's answer names no patient");
  }
  consent::FoundPatient found{string_member(patient->as_object(), "id"),
                              string_member(patient->as_object(), "name")};
  store::WriteBatch batch;
  RETURN_IF_ERROR(audit::append_entry(batch, desk_entry(audit::Action::kPatientFind, who, hiu_id_,
                                                        unix_ms(documents_.clock().now()))));
  RETURN_IF_ERROR(documents_.store().commit(std::move(batch)));
  return found;
}

Result<AskedConsent> HiuConsentDesk::ask(const Professional& who, consent::ConsentTerms terms) {
  terms.hiu_id = hiu_id_;
  terms.requester = consent::Requester{who.name, "REGNO", who.registration, ""};
  auto consent = consent::consent_terms_to_json(terms);
  consent["consentNotificationUrl"] = notification_url_;
  ASSIGN_OR_RETURN(const auto answer, cm_("/v0.5/consent-requests/init",
                                          json::object{{"consent", std::move(consent)}}));
  const auto* request = answer.if_contains("consentRequest");
  const std::string id = request != nullptr && request->is_object()
                             ? string_member(request->as_object(), "id")
                             : std::string();
  if (id.empty()) return make_error(ErrorCode::kUnavailable, "the CM's answer names no request");
  AskedConsent asked;
  asked.id = id;
  asked.patient_id = terms.patient_id;
  asked.purpose = std::string(consent::purpose_code(terms.purpose));
  for (const auto type : terms.hi_types) asked.hi_types.emplace_back(consent::hi_type_code(type));
  asked.hip_id = terms.hip_id.value_or("");
  asked.from_ms = terms.permission.date_range.from_ms;
  asked.to_ms = terms.permission.date_range.to_ms;
  asked.erase_at_ms = terms.permission.data_erase_at_ms;
  return keep(who, std::move(asked));
}

Result<AskedConsent> HiuConsentDesk::break_glass(const Professional& who,
                                                 const EmergencyAsk& emergency) {
  ASSIGN_OR_RETURN(
      const auto answer,
      cm_("/v0.5/break-glass",
          json::object{{"patient", {{"id", emergency.patient_id}}},
                       {"hip", {{"id", emergency.hip_id}}},
                       {"requester",
                        {{"name", who.name},
                         {"identifier", {{"type", "REGNO"}, {"value", who.registration}}}}},
                       {"reason", emergency.reason},
                       {"durationMinutes", emergency.duration.count()}}));
  const auto* request = answer.if_contains("consentRequest");
  const auto* artefacts = answer.if_contains("consentArtefacts");
  AskedConsent asked;
  asked.id = request != nullptr && request->is_object() ? string_member(request->as_object(), "id")
                                                        : std::string();
  if (asked.id.empty() || artefacts == nullptr || !artefacts->is_array()) {
    return make_error(ErrorCode::kUnavailable, "the CM's answer names no emergency artefact");
  }
  for (const auto& artefact : artefacts->as_array()) {
    if (artefact.is_object())
      asked.artefact_ids.push_back(string_member(artefact.as_object(), "id"));
  }
  asked.patient_id = emergency.patient_id;
  asked.purpose = std::string(consent::purpose_code(consent::Purpose::kBreakTheGlass));
  asked.hip_id = emergency.hip_id;
  asked.break_glass = true;
  asked.reason = emergency.reason;
  asked.to_ms = unix_ms(documents_.clock().now());
  const auto expires_at_ms = parse_instant_ms(string_member(answer, "expiresAt"));
  if (!expires_at_ms) return make_error(ErrorCode::kUnavailable, "the CM's answer has no expiry");
  asked.erase_at_ms = *expires_at_ms;
  return keep(who, std::move(asked));
}

Result<AskedConsent> HiuConsentDesk::keep(const Professional& who, AskedConsent asked) {
  const std::int64_t now_ms = unix_ms(documents_.clock().now());
  asked.asked_at_ms = now_ms;
  vault::Document document{std::string(kHiuAskType), asked.id, "", 0, 0, {}};
  document.body = asked_to_body(asked, who.registration);
  auto entry =
      desk_entry(asked.break_glass ? audit::Action::kBreakGlass : audit::Action::kConsentRequest,
                 who, hiu_id_, now_ms);
  entry.resource_type = std::string(kHiuAskType);
  entry.resource_id = asked.id;
  entry.purpose = asked.purpose;
  entry.consent_id = asked.id;
  store::WriteBatch batch;
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  RETURN_IF_ERROR(
      documents_.write(document, {by_professional(who.registration)}, std::move(batch)));
  return with_status(std::move(asked));
}

AskedConsent HiuConsentDesk::with_status(AskedConsent asked) {
  // Until the CM's first notice arrives the request stands as asked.
  asked.status = asked.break_glass ? "GRANTED" : "REQUESTED";
  if (auto held = consents_.request(asked.id)) {
    asked.status = std::string(consent::consent_status_code(held->status));
    if (!held->artefact_ids.empty()) asked.artefact_ids = held->artefact_ids;
  }
  return asked;
}

Result<std::vector<AskedConsent>> HiuConsentDesk::asked_by(const Professional& who) {
  ASSIGN_OR_RETURN(
      const auto documents,
      documents_.find_documents(kHiuAskType, by_professional(who.registration), kAsksListedMax));
  std::vector<AskedConsent> asked;
  asked.reserve(documents.size());
  for (const auto& document : documents) {
    // The index is a keyed hash; the body says whose request it really is.
    if (string_member(document.body, "professional") != who.registration) continue;
    asked.push_back(with_status(asked_from(document)));
  }
  std::sort(asked.begin(), asked.end(), [](const AskedConsent& a, const AskedConsent& b) {
    return a.asked_at_ms > b.asked_at_ms;
  });
  return asked;
}

}  // namespace kavach::exchange
