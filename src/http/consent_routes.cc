// The consent manager over HTTP: the patient's API (/cm/v1/...), the HIU's ABDM calls
// (/v0.5/consent-requests/..., /v0.5/consents/fetch), the CM's public keys (/v0.5/certs and
// /.well-known/jwks.json), the registry's admin API, and a HIP's consent notices
// (/v0.5/consents/hip/notify). Handlers parse, call one service and map the result; consent rules
// live in src/consent/. Patient routes answer errors as OperationOutcomes; ABDM routes as ABDM's
// {"error": {"code", "message"}}.
#include <fmt/format.h>
#include <algorithm>
#include <cstdlib>

#include <boost/json.hpp>

#include "common/limits.h"
#include "common/time_format.h"
#include "consent/abha.h"
#include "consent/json_fields.h"
#include "http/api.h"
#include "http/name_cache.h"
#include "http/problem.h"

namespace kavach::http {
namespace {

namespace json = boost::json;
using consent::ConsentRequestRecord;

Result<std::string> text_field(const json::object& body, std::string_view name) {
  return consent::required_string(body, name, "");
}

std::string optional_text(const json::object& body, std::string_view name) {
  auto text = consent::optional_string(body, name, "");
  return text ? *text : std::string();
}

json::object account_json(const consent::Account& account) {
  return {{"abhaNumber", consent::format_abha_number(account.abha_number)},
          {"abhaNumberMasked", consent::mask_abha_number(account.abha_number)},
          {"abhaAddress", account.address},
          {"name", account.name},
          {"gender", account.gender},
          {"yearOfBirth", account.year_of_birth},
          {"dateOfBirth", account.date_of_birth},
          {"mobileMasked", account.mobile.empty() ? "" : "XXXXXX" + account.mobile.substr(6)},
          {"locked", account.locked},
          {"hasPassword", account.has_password},
          {"nominee", account.nominee},
          {"guardian", account.guardian}};
}

json::object session_json(const consent::PatientSession& session) {
  return {{"id", session.id},
          {"method", session.method},
          {"createdAt", format_instant_ms(session.created_at_ms)},
          {"expiresAt", format_instant_ms(session.expires_at_ms)},
          {"ended", session.ended}};
}

// Facilities by their display names (the id when the registry has none).
NameCache facility_names(consent::FacilityRegistry& registry) {
  return NameCache([&registry](const std::string& id) {
    auto facility = registry.facility(id);
    return facility ? facility->name : id;
  });
}

json::object request_json(const ConsentRequestRecord& record, NameCache& names) {
  const std::string& hiu_name = names(record.terms.hiu_id);
  json::object body = consent_terms_to_json(record.terms);
  body["id"] = record.id;
  body["status"] = consent::consent_status_code(record.status);
  body["createdAt"] = format_instant_ms(record.created_at_ms);
  body["expiresAt"] = format_instant_ms(record.expires_at_ms);
  body["summary"] = consent::describe_request(record, hiu_name);
  body["hiu"] = {{"id", record.terms.hiu_id}, {"name", hiu_name}};
  if (record.granted) body["granted"] = consent_terms_to_json(*record.granted);
  json::array artefacts;
  for (const auto& id : record.artefact_ids) artefacts.emplace_back(id);
  body["consentArtefacts"] = std::move(artefacts);
  return body;
}

json::object request_json(const ConsentRequestRecord& record, consent::FacilityRegistry& registry) {
  auto names = facility_names(registry);
  return request_json(record, names);
}

Result<consent::GrantChoice> parse_grant(const json::object& body) {
  consent::GrantChoice choice;
  if (const auto* types = body.if_contains("hiTypes")) {
    ASSIGN_OR_RETURN(choice.hi_types, consent::parse_hi_types(*types));
  }
  if (const auto* range = body.if_contains("dateRange")) {
    ASSIGN_OR_RETURN(choice.date_range, consent::parse_date_range(*range, "dateRange"));
  }
  if (body.contains("dataEraseAt")) {
    ASSIGN_OR_RETURN(choice.data_erase_at_ms, consent::required_instant(body, "dataEraseAt", ""));
  }
  if (const auto* frequency = body.if_contains("frequency")) {
    ASSIGN_OR_RETURN(const json::object& fields, consent::json_object(*frequency, "frequency"));
    ASSIGN_OR_RETURN(const std::string unit, consent::required_string(fields, "unit", "frequency"));
    const auto parsed_unit = consent::parse_frequency_unit(unit);
    if (!parsed_unit) {
      return make_error(ErrorCode::kInvalidArgument,
                        "frequency.unit is HOUR, DAY, WEEK, MONTH or YEAR");
    }
    consent::Frequency parsed{*parsed_unit, 1, 0};
    ASSIGN_OR_RETURN(parsed.value, consent::required_integer(fields, "value", "frequency", 1,
                                                             consent::kFrequencyValueMax));
    ASSIGN_OR_RETURN(parsed.repeats, consent::required_integer(fields, "repeats", "frequency", 0,
                                                               consent::kFrequencyRepeatsMax));
    choice.frequency = parsed;
  }
  if (const auto* contexts = body.if_contains("careContexts")) {
    ASSIGN_OR_RETURN(choice.care_contexts, consent::parse_care_contexts(contexts));
  }
  if (const auto* hips = body.if_contains("hips")) {
    ASSIGN_OR_RETURN(choice.hip_ids, consent::parse_hip_ids(*hips));
  }
  return choice;
}

Result<consent::EnrolmentForm> parse_enrolment(const json::object& body) {
  consent::EnrolmentForm form;
  ASSIGN_OR_RETURN(form.name, text_field(body, "name"));
  ASSIGN_OR_RETURN(const auto year, consent::required_integer(body, "yearOfBirth", "", 1, 9999));
  form.year_of_birth = static_cast<int>(year);
  form.date_of_birth = optional_text(body, "dateOfBirth");
  ASSIGN_OR_RETURN(form.gender, text_field(body, "gender"));
  form.mobile = optional_text(body, "mobile");
  form.address_name = optional_text(body, "abhaAddress");
  // "asha.devi@sbx" and "asha.devi" both name the same choice.
  if (const auto at = form.address_name.find('@'); at != std::string::npos) {
    form.address_name.resize(at);
  }
  return form;
}

// The patient in the path: "me" or a health ID the caller may act for.

Status require_admin(const RouteContext& context) {
  if (!context.caller->scopes.has(kAdminScope)) {
    return make_error(ErrorCode::kPermissionDenied, "the registry needs the kavach/admin scope");
  }
  return {};
}

json::object facility_json(const consent::Facility& f) {
  json::array roles;
  if (f.hip) roles.emplace_back("HIP");
  if (f.hiu) roles.emplace_back("HIU");
  return {{"id", f.id},
          {"name", f.name},
          {"roles", std::move(roles)},
          {"callbackUrl", f.callback_url},
          {"publicKey", f.public_key},
          {"active", f.active}};
}

Result<consent::Facility> parse_facility(const json::object& body, std::string id) {
  consent::Facility f;
  f.id = std::move(id);
  ASSIGN_OR_RETURN(f.name, text_field(body, "name"));
  if (const auto* roles = body.if_contains("roles"); roles != nullptr && roles->is_array()) {
    for (const auto& role : roles->as_array()) {
      if (role == "HIP")
        f.hip = true;
      else if (role == "HIU")
        f.hiu = true;
      else
        return make_error(ErrorCode::kInvalidArgument, "roles holds HIP and/or HIU");
    }
  }
  f.callback_url = optional_text(body, "callbackUrl");
  f.public_key = optional_text(body, "publicKey");
  if (const auto* active = body.if_contains("active"); active != nullptr && active->is_bool()) {
    f.active = active->as_bool();
  }
  return f;
}

json::object professional_json(const consent::Professional& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"facilityId", p.facility_id},
          {"registration",
           {{"type", p.registration_type},
            {"value", p.registration_value},
            {"system", p.registration_system}}},
          {"publicKey", p.public_key},
          {"active", p.active}};
}

Result<consent::Professional> parse_professional(const json::object& body, std::string id) {
  consent::Professional p;
  p.id = std::move(id);
  ASSIGN_OR_RETURN(p.name, text_field(body, "name"));
  ASSIGN_OR_RETURN(p.facility_id, text_field(body, "facilityId"));
  const auto* registration = body.if_contains("registration");
  if (registration == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "registration {type, value} is required");
  }
  ASSIGN_OR_RETURN(const json::object& fields, consent::json_object(*registration, "registration"));
  ASSIGN_OR_RETURN(p.registration_type, consent::required_string(fields, "type", "registration"));
  ASSIGN_OR_RETURN(p.registration_value, consent::required_string(fields, "value", "registration"));
  ASSIGN_OR_RETURN(p.registration_system,
                   consent::optional_string(fields, "system", "registration"));
  p.public_key = optional_text(body, "publicKey");
  if (const auto* active = body.if_contains("active"); active != nullptr && active->is_bool()) {
    p.active = active->as_bool();
  }
  return p;
}

consent::RegistryActor registry_actor(const RouteContext& context) {
  return {audit::ActorKind::kClient, context.caller->client_id};
}

void add_patient_routes(Router& router, const ConsentApi& api) {
  auto& accounts = api.accounts;
  router.add("POST", "/cm/v1/enrolment", Access::kPublic,
             [&accounts](const Request& request, const RouteContext&) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto form = parse_enrolment(*body);
               if (!form) return problem_response(form.error());
               auto ticket = accounts.start_enrolment(*form, request.peer);
               if (!ticket) return problem_response(ticket.error());
               return json_response(202, {{"ticket", ticket->id},
                                          {"expiresAt", format_instant_ms(ticket->expires_at_ms)}});
             });
  router.add("POST", "/cm/v1/enrolment/confirm", Access::kPublic,
             [&accounts](const Request& request, const RouteContext&) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto ticket = text_field(*body, "ticket");
               auto code = text_field(*body, "code");
               if (!ticket || !code)
                 return problem_response(!ticket ? ticket.error() : code.error());
               auto outcome = accounts.confirm_enrolment(*ticket, *code, request.peer);
               if (!outcome) return problem_response(outcome.error());
               auto body_out = account_json(outcome->account);
               body_out["created"] = outcome->created;
               return json_response(outcome->created ? 201 : 200, body_out);
             });
  router.add("POST", "/cm/v1/sessions/otp", Access::kPublic,
             [&accounts](const Request& request, const RouteContext&) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto health_id = text_field(*body, "healthId");
               if (!health_id) return problem_response(health_id.error());
               auto ticket = accounts.start_sign_in(*health_id, request.peer);
               if (!ticket) return problem_response(ticket.error());
               return json_response(202, {{"ticket", ticket->id},
                                          {"expiresAt", format_instant_ms(ticket->expires_at_ms)}});
             });
  const auto session_created = [](const consent::NewSession& created) {
    return json_response(201,
                         {{"token", created.token},
                          {"abhaNumber", consent::format_abha_number(created.session.abha_number)},
                          {"expiresAt", format_instant_ms(created.session.expires_at_ms)}});
  };
  router.add("POST", "/cm/v1/sessions/otp/confirm", Access::kPublic,
             [&accounts, session_created](const Request& request, const RouteContext&) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto ticket = text_field(*body, "ticket");
               auto code = text_field(*body, "code");
               if (!ticket || !code)
                 return problem_response(!ticket ? ticket.error() : code.error());
               auto created = accounts.confirm_sign_in(*ticket, *code, request.peer);
               if (!created) return problem_response(created.error());
               return session_created(*created);
             });
  router.add("POST", "/cm/v1/sessions/password", Access::kPublic,
             [&accounts, session_created](const Request& request, const RouteContext&) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto health_id = text_field(*body, "healthId");
               auto password = text_field(*body, "password");
               if (!health_id || !password) {
                 return problem_response(!health_id ? health_id.error() : password.error());
               }
               auto created = accounts.sign_in_with_password(*health_id, *password, request.peer);
               if (!created) return problem_response(created.error());
               return session_created(*created);
             });

  router.add("GET", "/cm/v1/me", Access::kPatientSession,
             [&accounts](const Request&, const RouteContext& context) {
               auto account = accounts.account(context.patient->abha_number);
               if (!account) return problem_response(account.error());
               return json_response(200, account_json(*account));
             });
  router.add("GET", "/cm/v1/me/sessions", Access::kPatientSession,
             [&accounts](const Request&, const RouteContext& context) {
               auto sessions = accounts.sessions(*context.patient);
               if (!sessions) return problem_response(sessions.error());
               json::array list;
               for (const auto& session : *sessions) {
                 auto entry = session_json(session);
                 entry["current"] = session.id == context.patient->id;
                 list.push_back(std::move(entry));
               }
               return json_response(200, {{"sessions", std::move(list)}});
             });
  router.add("DELETE", "/cm/v1/me/sessions/{id}", Access::kPatientSession,
             [&accounts](const Request&, const RouteContext& context) {
               auto ended = accounts.end_session(*context.patient, context.param("id"));
               if (!ended) return problem_response(ended.error());
               return Response{204, {}, {}, {}, {}};
             });
  router.add("PUT", "/cm/v1/me/password", Access::kPatientSession,
             [&accounts](const Request& request, const RouteContext& context) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto password = text_field(*body, "password");
               if (!password) return problem_response(password.error());
               auto set = accounts.set_password(*context.patient, *password);
               if (!set) return problem_response(set.error());
               return Response{204, {}, {}, {}, {}};
             });
  for (const bool locked : {true, false}) {
    router.add("POST", locked ? "/cm/v1/me/lock" : "/cm/v1/me/unlock", Access::kPatientSession,
               [&accounts, locked](const Request&, const RouteContext& context) {
                 auto set = accounts.set_locked(*context.patient, locked);
                 if (!set) return problem_response(set.error());
                 return json_response(200, {{"locked", locked}});
               });
  }
  router.add("PUT", "/cm/v1/me/nominee", Access::kPatientSession,
             [&accounts](const Request& request, const RouteContext& context) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto set = accounts.set_nominee(*context.patient, optional_text(*body, "healthId"));
               if (!set) return problem_response(set.error());
               return Response{204, {}, {}, {}, {}};
             });
  router.add("POST", "/cm/v1/me/minors", Access::kPatientSession,
             [&accounts](const Request& request, const RouteContext& context) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto form = parse_enrolment(*body);
               if (!form) return problem_response(form.error());
               auto outcome = accounts.enrol_minor(*context.patient, *form);
               if (!outcome) return problem_response(outcome.error());
               auto out = account_json(outcome->account);
               out["created"] = outcome->created;
               return json_response(outcome->created ? 201 : 200, out);
             });
}

// The hospitals a patient can look for their records at: the registry's active HIPs, by name.
// Public knowledge (ABDM publishes its facility registry); ids and names only.
void add_hospital_directory_route(Router& router, consent::FacilityRegistry& registry) {
  router.add("GET", "/cm/v1/hospitals", Access::kPatientSession,
             [&registry](const Request&, const RouteContext&) {
               auto facilities = registry.facilities("", consent::kRegistryPageMax);
               if (!facilities) return problem_response(facilities.error());
               json::array list;
               for (const auto& facility : *facilities) {
                 if (facility.hip && facility.active) {
                   list.push_back(json::object{{"id", facility.id}, {"name", facility.name}});
                 }
               }
               return json_response(200, {{"hospitals", std::move(list)}});
             });
}

void add_patient_consent_routes(Router& router, const ConsentApi& api) {
  auto& manager = api.manager;
  auto& registry = api.registry;
  router.add("GET", "/cm/v1/patients/{patient}/consent-requests", Access::kPatientSession,
             [&manager, &registry](const Request&, const RouteContext& context) {
               auto requests = manager.requests(*context.patient, patient_subject(context));
               if (!requests) return problem_response(requests.error());
               json::array list;
               auto names = facility_names(registry);
               for (const auto& record : *requests) list.push_back(request_json(record, names));
               return json_response(200, {{"requests", std::move(list)}});
             });
  router.add(
      "POST", "/cm/v1/patients/{patient}/consent-requests/{id}/grant", Access::kPatientSession,
      [&manager, &registry](const Request& request, const RouteContext& context) {
        auto body =
            request.body.empty() ? Result<json::object>(json::object()) : body_object(request);
        if (!body) return problem_response(body.error());
        auto choice = parse_grant(*body);
        if (!choice) return problem_response(choice.error());
        auto granted =
            manager.grant(*context.patient, patient_subject(context), context.param("id"), *choice);
        if (!granted) return problem_response(granted.error());
        return json_response(200, request_json(*granted, registry));
      });
  for (const std::string_view action : {"deny", "revoke"}) {
    router.add(
        "POST", fmt::format("/cm/v1/patients/{{patient}}/consent-requests/{{id}}/{}", action),
        Access::kPatientSession,
        [&manager, &registry, action](const Request&, const RouteContext& context) {
          auto changed =
              action == "deny"
                  ? manager.deny(*context.patient, patient_subject(context), context.param("id"))
                  : manager.revoke(*context.patient, patient_subject(context), context.param("id"));
          if (!changed) return problem_response(changed.error());
          return json_response(200, request_json(*changed, registry));
        });
  }
  router.add(
      "GET", "/cm/v1/patients/{patient}/consents", Access::kPatientSession,
      [&manager](const Request&, const RouteContext& context) {
        auto artefacts = manager.artefacts(*context.patient, patient_subject(context));
        if (!artefacts) return problem_response(artefacts.error());
        json::array list;
        for (const auto& record : *artefacts) {
          list.push_back({{"requestId", record.request_id},
                          {"status", consent::consent_status_code(record.artefact.status)},
                          {"statusChangedAt", format_instant_ms(record.status_changed_at_ms)},
                          {"consentDetail", record.artefact.detail_json},
                          {"signature", record.artefact.signature}});
        }
        return json_response(200, {{"consents", std::move(list)}});
      });
  router.add("POST", "/cm/v1/patients/{patient}/self-consents", Access::kPatientSession,
             [&manager, &registry](const Request& request, const RouteContext& context) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto choice = parse_grant(*body);
               if (!choice) return problem_response(choice.error());
               if (!choice->date_range || !choice->data_erase_at_ms) {
                 return problem_response(
                     Error{ErrorCode::kInvalidArgument, "dateRange and dataEraseAt are required"});
               }
               consent::SelfRequest self{choice->hi_types, *choice->date_range,
                                         *choice->data_erase_at_ms, choice->hip_ids};
               auto created =
                   manager.self_request(*context.patient, patient_subject(context), self);
               if (!created) return problem_response(created.error());
               return json_response(201, request_json(*created, registry));
             });
}

void add_hiu_routes(Router& router, const ConsentApi& api) {
  auto& manager = api.manager;
  auto& guard = api.guard;
  router.add("POST", "/v0.5/consent-requests/init", Access::kPeer,
             [&manager, &guard](const Request& request, const RouteContext& context) {
               auto message = peer_message(request, context, guard, consent::kHiuScope);
               if (!message) return abdm_error(message.error());
               const json::object* body = &message->body;
               const std::string* hiu = &message->facility_id;
               const std::string request_id = optional_text(*body, "requestId");
               const auto* consent_value = body->if_contains("consent");
               if (consent_value == nullptr || !consent_value->is_object()) {
                 return abdm_error(Error{ErrorCode::kInvalidArgument, "consent is required"});
               }
               auto terms = consent::parse_consent_terms(consent_value->as_object(),
                                                         unix_ms(std::chrono::system_clock::now()));
               if (!terms) return abdm_error(terms.error());
               auto created = manager.request(*hiu, request_id, *terms);
               if (!created) return abdm_error(created.error());
               // ABDM answers 202 and calls back on-init; Kavach also returns the id at once.
               return json_response(202, {{"consentRequest", {{"id", created->id}}},
                                          {"resp", {{"requestId", request_id}}}});
             });
  // ABDM answers 202 and calls back patients/on-find; Kavach answers at once with the on-find
  // body's patient.
  router.add("POST", "/v0.5/patients/find", Access::kPeer,
             [&manager, &guard](const Request& request, const RouteContext& context) {
               auto message = peer_message(request, context, guard, consent::kHiuScope);
               if (!message) return abdm_error(message.error());
               const auto* query = message->body.if_contains("query");
               if (query == nullptr || !query->is_object()) {
                 return abdm_error(Error{ErrorCode::kInvalidArgument, "query is required"});
               }
               auto patient = consent::required_id_object(query->as_object(), "patient");
               if (!patient) return abdm_error(patient.error());
               auto found = manager.find_patient(message->facility_id, *patient);
               if (!found) return abdm_error(found.error());
               return json_response(
                   200, {{"patient", {{"id", found->address}, {"name", found->name}}},
                         {"resp", {{"requestId", optional_text(message->body, "requestId")}}}});
             });
  // Kavach's emergency access (ABDM defines the BTG purpose but no flow for it).
  router.add(
      "POST", "/v0.5/break-glass", Access::kPeer,
      [&manager, &guard](const Request& request, const RouteContext& context) {
        auto message = peer_message(request, context, guard, consent::kHiuScope);
        if (!message) return abdm_error(message.error());
        const json::object* body = &message->body;
        const std::string* hiu = &message->facility_id;
        consent::BreakGlassRequest emergency;
        auto patient = consent::required_id_object(*body, "patient");
        auto hip = consent::required_id_object(*body, "hip");
        auto reason = text_field(*body, "reason");
        if (!patient || !hip || !reason) {
          return abdm_error(!patient ? patient.error() : !hip ? hip.error() : reason.error());
        }
        emergency.patient_id = *patient;
        emergency.hip_id = *hip;
        emergency.reason = *reason;
        const auto* requester = body->if_contains("requester");
        auto parsed_requester = requester
                                    ? consent::parse_requester(*requester)
                                    : Result<consent::Requester>(tl::unexpected(Error{
                                          ErrorCode::kInvalidArgument, "requester is required"}));
        if (!parsed_requester) return abdm_error(parsed_requester.error());
        emergency.registration_value = parsed_requester->identifier_value;
        if (body->contains("durationMinutes")) {
          auto minutes = consent::required_integer(*body, "durationMinutes", "", 1, 24 * 60);
          if (!minutes) return abdm_error(minutes.error());
          emergency.duration = std::chrono::minutes(*minutes);
        }
        auto granted = manager.break_glass(*hiu, emergency);
        if (!granted) return abdm_error(granted.error());
        json::array artefacts;
        for (const auto& id : granted->artefact_ids)
          artefacts.emplace_back(json::object{{"id", id}});
        return json_response(
            201, {{"consentRequest", {{"id", granted->id}, {"status", "GRANTED"}}},
                  {"consentArtefacts", std::move(artefacts)},
                  {"expiresAt", format_instant_ms(granted->terms.permission.data_erase_at_ms)}});
      });
  router.add("POST", "/v0.5/consent-requests/status", Access::kPeer,
             [&manager, &guard](const Request& request, const RouteContext& context) {
               auto message = peer_message(request, context, guard, consent::kHiuScope);
               if (!message) return abdm_error(message.error());
               const std::string* hiu = &message->facility_id;
               auto id = text_field(message->body, "consentRequestId");
               if (!id) return abdm_error(id.error());
               auto record = manager.request_status(*hiu, *id);
               if (!record) return abdm_error(record.error());
               json::array artefacts;
               for (const auto& artefact : record->artefact_ids) {
                 artefacts.emplace_back(json::object{{"id", artefact}});
               }
               const json::object status{{"id", record->id},
                                         {"status", consent::consent_status_code(record->status)},
                                         {"consentArtefacts", std::move(artefacts)}};
               // The answer now, and ABDM's on-status callback as well.
               auto queued = manager.call_back(
                   *hiu, consent::kOnStatusPath,
                   {{"consentRequest", status},
                    {"resp", {{"requestId", optional_text(message->body, "requestId")}}}});
               if (!queued) return abdm_error(queued.error());
               return json_response(202, {{"consentRequest", status}});
             });
  router.add("POST", "/v0.5/consents/fetch", Access::kPeer,
             [&manager, &guard](const Request& request, const RouteContext& context) {
               auto message = peer_message(request, context, guard, consent::kHiuScope);
               if (!message) return abdm_error(message.error());
               const std::string* hiu = &message->facility_id;
               auto id = text_field(message->body, "consentId");
               if (!id) return abdm_error(id.error());
               auto record = manager.fetch(*hiu, *id);
               if (!record) return abdm_error(record.error());
               const auto artefact = signed_artefact_to_json(record->artefact);
               // The answer now, and ABDM's on-fetch callback as well.
               auto queued = manager.call_back(
                   *hiu, consent::kOnFetchPath,
                   {{"consent", artefact},
                    {"resp", {{"requestId", optional_text(message->body, "requestId")}}}});
               if (!queued) return abdm_error(queued.error());
               return json_response(202, {{"consent", artefact}});
             });
}

// The admin API of one kind of registry entry: list, create (POST) and replace (PUT .../{id}).
template <class Entry>
struct RegistryResource {
  std::string path;  // "/cm/v1/admin/facilities"
  std::string list_name;
  std::function<Result<std::vector<Entry>>()> list;
  std::function<Status(const Entry&, const consent::RegistryActor&)> add;
  std::function<Status(const Entry&, const consent::RegistryActor&)> update;
  std::function<Result<Entry>(const json::object&, std::string id)> parse;
  std::function<json::object(const Entry&)> to_json;
};

template <class Entry>
void add_registry_resource_routes(Router& router, const RegistryResource<Entry>& resource) {
  router.add("GET", resource.path, Access::kBearerToken,
             [resource](const Request&, const RouteContext& context) {
               if (auto admin = require_admin(context); !admin) {
                 return problem_response(admin.error());
               }
               auto entries = resource.list();
               if (!entries) return problem_response(entries.error());
               json::array list;
               for (const auto& entry : *entries) list.push_back(resource.to_json(entry));
               return json_response(200, {{resource.list_name, std::move(list)}});
             });
  for (const bool create : {true, false}) {
    router.add(create ? "POST" : "PUT", create ? resource.path : resource.path + "/{id}",
               Access::kBearerToken,
               [resource, create](const Request& request, const RouteContext& context) {
                 if (auto admin = require_admin(context); !admin) {
                   return problem_response(admin.error());
                 }
                 auto body = body_object(request);
                 if (!body) return problem_response(body.error());
                 auto entry = resource.parse(
                     *body, create ? optional_text(*body, "id") : context.param("id"));
                 if (!entry) return problem_response(entry.error());
                 auto saved = create ? resource.add(*entry, registry_actor(context))
                                     : resource.update(*entry, registry_actor(context));
                 if (!saved) return problem_response(saved.error());
                 return json_response(create ? 201 : 200, resource.to_json(*entry));
               });
  }
}

void add_registry_routes(Router& router, consent::FacilityRegistry& registry) {
  using consent::Facility;
  using consent::Professional;
  using consent::RegistryActor;
  add_registry_resource_routes<Facility>(
      router, {"/cm/v1/admin/facilities", "facilities",
               [&registry] { return registry.facilities("", consent::kRegistryPageMax); },
               [&registry](const Facility& f, const RegistryActor& by) {
                 return registry.add_facility(f, by);
               },
               [&registry](const Facility& f, const RegistryActor& by) {
                 return registry.update_facility(f, by);
               },
               parse_facility, facility_json});
  add_registry_resource_routes<Professional>(
      router, {"/cm/v1/admin/professionals", "professionals",
               [&registry] { return registry.professionals("", consent::kRegistryPageMax); },
               [&registry](const Professional& p, const RegistryActor& by) {
                 return registry.add_professional(p, by);
               },
               [&registry](const Professional& p, const RegistryActor& by) {
                 return registry.update_professional(p, by);
               },
               parse_professional, professional_json});
}

void add_hiu_notice_routes(Router& router, consent::HiuConsents& hiu) {
  // Public at the router: the body carries the CM's signature, checked in the domain.
  for (const std::string_view path : {consent::kOnInitPath, consent::kHiuNotifyPath,
                                      consent::kOnStatusPath, consent::kOnFetchPath}) {
    router.add("POST", std::string(path), Access::kFromNode,
               [&hiu](const Request& request, const RouteContext&) {
                 auto body = body_object(request);
                 if (!body) return abdm_error(body.error());
                 auto status = hiu.receive(*body, request.header("x-kavach-signature"));
                 if (!status) return abdm_error(status.error());
                 return json_response(
                     202, {{"acknowledgement", {{"status", "OK"}}},
                           {"resp", {{"requestId", optional_text(*body, "requestId")}}}});
               });
  }
  // Hospital IT's view of a request this HIU made.
  router.add("GET", "/hiu/v1/consent-requests/{id}", Access::kBearerToken,
             [&hiu](const Request&, const RouteContext& context) {
               if (auto admin = require_admin(context); !admin)
                 return problem_response(admin.error());
               auto held = hiu.request(context.param("id"));
               if (!held) return problem_response(held.error());
               json::array artefacts;
               for (const auto& id : held->artefact_ids) artefacts.emplace_back(id);
               return json_response(200, {{"id", held->id},
                                          {"status", consent::consent_status_code(held->status)},
                                          {"consentArtefacts", std::move(artefacts)},
                                          {"updatedAt", format_instant_ms(held->updated_at_ms)}});
             });
}

}  // namespace

std::string patient_subject(const RouteContext& context) {
  const auto& patient = context.param("patient");
  return patient == "me" ? context.patient->abha_number : patient;
}

void add_consent_routes(Router& router, const ApiServices& services) {
  if (services.hiu_consents != nullptr) add_hiu_notice_routes(router, *services.hiu_consents);
  if (services.consent != nullptr) {
    const ConsentApi& api = *services.consent;
    const auto keys = [&api](const Request&, const RouteContext&) {
      Response response = json_response(200, api.manager.signer().jwks());
      response.set_header("Cache-Control", "public, max-age=300");
      return response;
    };
    router.add("GET", "/v0.5/certs", Access::kPublic, keys);
    router.add("GET", "/.well-known/jwks.json", Access::kPublic, keys);
    // A HIP confirming a consent after a restart: the CM's signed word on its status. Public:
    // consent ids are unguessable, and the answer is only a status.
    router.add("POST", "/v0.5/consents/hip/status", Access::kFromNode,
               [&api](const Request& request, const RouteContext&) {
                 auto body = body_object(request);
                 if (!body) return abdm_error(body.error());
                 auto id = text_field(*body, "consentId");
                 if (!id) return abdm_error(id.error());
                 auto status = api.manager.current_status(*id);
                 if (!status) return abdm_error(status.error());
                 const auto statement = consent::status_statement(
                     *id, *status, unix_ms(std::chrono::system_clock::now()));
                 auto signature = api.manager.signer().sign_object(statement);
                 if (!signature) return abdm_error(signature.error());
                 return json_response(200, {{"statement", statement}, {"signature", *signature}});
               });
    add_patient_routes(router, api);
    add_patient_consent_routes(router, api);
    add_hospital_directory_route(router, api.registry);
    // The patient's access log at the CM: every consent decision, emergency access and read of
    // their log, each with its inclusion proof (break-the-glass entries are tagged for review).
    router.add("GET", "/cm/v1/patients/{patient}/audit-events", Access::kPatientSession,
               [&api, &events = services.audit_events](const Request& request,
                                                       const RouteContext& context) {
                 auto subject = api.accounts.acting_for(*context.patient, patient_subject(context));
                 if (!subject) return problem_response(subject.error());
                 fhir::AuditEventQuery query;
                 query.patient = subject->id;
                 for (const auto& [name, value] : parse_query(request.query)) {
                   if (name == "_count") {
                     query.count = static_cast<std::size_t>(
                         std::clamp<long long>(std::strtoll(value.c_str(), nullptr, 10), 1, 200));
                   }
                   if (name == "_cursor") query.after = std::strtoll(value.c_str(), nullptr, 10);
                 }
                 auto page = events.search_as_patient(context.patient->account_id, query);
                 if (!page) return problem_response(page.error());
                 if (page->next_after >= 0) {
                   page->bundle["link"] = json::array{json::object{
                       {"relation", "next"},
                       {"url", fmt::format("/cm/v1/patients/{}/audit-events?_cursor={}",
                                           context.param("patient"), page->next_after)}}};
                 }
                 Response response = json_response(200, page->bundle);
                 response.set_header("Content-Type", std::string(kFhirJson));
                 return response;
               });
    add_hiu_routes(router, api);
    add_registry_routes(router, api.registry);
  }
  if (services.hip_consents != nullptr) {
    // Public at the router: the body carries the CM's signature, checked in the domain.
    router.add("POST", "/v0.5/consents/hip/notify", Access::kFromNode,
               [hip = services.hip_consents](const Request& request, const RouteContext&) {
                 auto body = body_object(request);
                 if (!body) return abdm_error(body.error());
                 auto status = hip->receive(*body, request.header("x-kavach-signature"));
                 if (!status) return abdm_error(status.error());
                 const auto& notification = body->at("notification").as_object();
                 return json_response(
                     202,
                     {{"acknowledgement",
                       {{"status", "OK"}, {"consentId", optional_text(notification, "consentId")}}},
                      {"resp", {{"requestId", optional_text(*body, "requestId")}}}});
               });
    // Hospital IT's view of a consent this HIP holds.
    router.add("GET", "/hip/v1/consents/{id}", Access::kBearerToken,
               [hip = services.hip_consents](const Request&, const RouteContext& context) {
                 if (auto admin = require_admin(context); !admin)
                   return problem_response(admin.error());
                 auto held = hip->consent(context.param("id"));
                 if (!held) return problem_response(held.error());
                 return json_response(
                     200, {{"status", consent::consent_status_code(held->status)},
                           {"statusChangedAt", format_instant_ms(held->status_changed_at_ms)},
                           {"consentDetail", held->artefact.artefact().detail_json}});
               });
  }
}

}  // namespace kavach::http
