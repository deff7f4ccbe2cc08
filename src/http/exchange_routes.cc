// The exchange over HTTP (exchange/*): at the CM, the patient's discovery and linking, the HIP's
// answers to them, the HIU's health-information/cm/request and the HIP's on-request and notify
// (each from a facility, by token or signature); at a HIP, the CM's discover, link and
// hip/request messages; at an HIU, the HIP's pushed pages, the CM's on-request and notices, and the
// API through which its professionals start a request and read what arrived. Handlers parse, call
// one service and map the result; ABDM routes answer errors in ABDM's shape.
#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/query_string.h"
#include "common/time_format.h"
#include "consent/consent_record_gate.h"
#include "consent/json_fields.h"
#include "exchange/health_information.h"
#include "exchange/patient_locker.h"
#include "exchange/peer_messages.h"
#include "http/api.h"
#include "http/problem.h"

namespace kavach::http {
namespace {

namespace json = boost::json;

// A professional of an HIU reading at their own node: a client with scope professional:<regno>.
constexpr std::string_view kProfessionalScopePrefix = "professional:";

std::string request_id_of(const json::object& body) {
  return consent::string_member(body, "requestId");
}

Response acknowledged(const json::object& body) {
  return json_response(202, {{"acknowledgement", {{"status", "OK"}}},
                             {"resp", {{"requestId", request_id_of(body)}}}});
}

Result<std::string> professional_of(const RouteContext& context) {
  const auto value = context.caller->scopes.opaque_value(kProfessionalScopePrefix);
  if (value.empty()) {
    return make_error(ErrorCode::kPermissionDenied,
                      "this needs a professional's client (scope professional:<registration>)");
  }
  return std::string(value);
}

json::object transfer_json(const exchange::HiuTransfer& transfer) {
  json::object out{{"transactionId", transfer.transaction_id},
                   {"consentId", transfer.consent_id},
                   {"hipId", transfer.hip_id},
                   {"status", transfer.status},
                   {"pagesReceived", transfer.pages_received},
                   {"pageCount", transfer.page_count}};
  if (!transfer.detail.empty()) out["detail"] = transfer.detail;
  return out;
}

void add_cm_routes(Router& router, exchange::HealthInformationRelay& relay,
                   exchange::RequestGuard& guard) {
  router.add("POST", std::string(exchange::kCmRequestPath), Access::kPeer,
             [&relay, &guard](const Request& request, const RouteContext& context) {
               auto message = peer_message(request, context, guard, consent::kHiuScope);
               if (!message) return abdm_error(message.error());
               auto transaction = relay.request(message->facility_id, message->body);
               if (!transaction) return abdm_error(transaction.error());
               // ABDM answers 202 and calls back on-request; Kavach also answers the id at once,
               // and the HIP with its registered URL: an HIU fetches link entries only there.
               return json_response(
                   202, {{"hiRequest",
                          {{"transactionId", transaction->id}, {"sessionStatus", "REQUESTED"}}},
                         {"hip", {{"id", transaction->hip_id}, {"url", transaction->hip_url}}},
                         {"resp", {{"requestId", request_id_of(message->body)}}}});
             });
  router.add("POST", std::string(exchange::kHipOnRequestPath), Access::kPeer,
             [&relay, &guard](const Request& request, const RouteContext& context) {
               auto message = peer_message(request, context, guard, exchange::kHipScope);
               if (!message) return abdm_error(message.error());
               auto recorded = relay.hip_acknowledged(message->facility_id, message->body);
               if (!recorded) return abdm_error(recorded.error());
               return acknowledged(message->body);
             });
  router.add("POST", std::string(exchange::kNotifyPath), Access::kPeer,
             [&relay, &guard](const Request& request, const RouteContext& context) {
               // From the transaction's HIP or its HIU; the relay checks which.
               const bool hip = context.caller->scopes.has(exchange::kHipScope);
               auto message = peer_message(request, context, guard,
                                           hip ? exchange::kHipScope : consent::kHiuScope);
               if (!message) return abdm_error(message.error());
               auto recorded = relay.notified(message->facility_id, message->body);
               if (!recorded) return abdm_error(recorded.error());
               return acknowledged(message->body);
             });
}

void add_hip_routes(Router& router, exchange::HipDataFlow& flow) {
  // Public: the one-time token in the path is the credential, and what it returns is ciphertext
  // only the HIU of the transaction can open.
  router.add("GET", std::string(exchange::kLinksPath) + "{token}", Access::kFromNode,
             [&flow](const Request&, const RouteContext& context) {
               auto content = flow.linked_content(context.param("token"));
               if (!content) return abdm_error(content.error());
               Response response;
               response.status = 200;
               response.body = std::move(*content);
               response.set_header("Content-Type", "text/plain; charset=us-ascii");
               response.set_header("Cache-Control", "no-store");
               return response;
             });
  // Public at the router: the body carries the CM's signature, checked in the domain.
  router.add("POST", std::string(exchange::kHipRequestPath), Access::kFromNode,
             [&flow](const Request& request, const RouteContext&) {
               auto body = body_object(request);
               if (!body) return abdm_error(body.error());
               auto accepted = flow.receive(*body, request.header(kPeerSignatureHeader));
               if (!accepted) return abdm_error(accepted.error());
               return acknowledged(*body);
             });
}

void add_hiu_routes(Router& router, exchange::HiuDataFlow& flow) {
  // Public: a page is accepted only for a transaction this node started, and only if it
  // decrypts with that transaction's key.
  router.add("POST", std::string(exchange::kTransferPath), Access::kFromNode,
             [&flow](const Request& request, const RouteContext&) {
               auto body = body_object(request);
               if (!body) return abdm_error(body.error());
               auto received = flow.receive_page(*body);
               if (!received) return abdm_error(received.error());
               return json_response(202, {{"acknowledgement", {{"status", "OK"}}}});
             });
  for (const std::string_view path : {exchange::kHiuOnRequestPath, exchange::kHiuNotifyPath}) {
    // Public at the router: the body carries the CM's signature, checked in the domain.
    router.add("POST", std::string(path), Access::kFromNode,
               [&flow](const Request& request, const RouteContext&) {
                 auto body = body_object(request);
                 if (!body) return abdm_error(body.error());
                 auto received =
                     flow.receive_cm_message(*body, request.header(kPeerSignatureHeader));
                 if (!received) return abdm_error(received.error());
                 return acknowledged(*body);
               });
  }
  router.add("POST", "/hiu/v1/consents/{id}/health-information", Access::kBearerToken,
             [&flow](const Request&, const RouteContext& context) {
               auto professional = professional_of(context);
               if (!professional) return problem_response(professional.error());
               auto transfer =
                   flow.request(context.caller->client_id, *professional, context.param("id"));
               if (!transfer) return problem_response(transfer.error());
               return json_response(202, transfer_json(*transfer));
             });
  router.add("GET", "/hiu/v1/consents/{id}/health-information", Access::kBearerToken,
             [&flow](const Request&, const RouteContext& context) {
               auto professional = professional_of(context);
               if (!professional) return problem_response(professional.error());
               auto received =
                   flow.records(context.caller->client_id, *professional, context.param("id"));
               if (!received) return problem_response(received.error());
               json::array transfers;
               for (const auto& transfer : received->transfers) {
                 transfers.push_back(transfer_json(transfer));
               }
               json::array documents;
               for (auto& document : received->documents) {
                 documents.push_back(json::object{{"careContextReference", document.care_context},
                                                  {"transactionId", document.transaction_id},
                                                  {"bundle", std::move(document.bundle)}});
               }
               return json_response(200, {{"consentId", received->consent_id},
                                          {"hipId", received->hip_id},
                                          {"eraseAt", format_instant_ms(received->erase_at_ms)},
                                          {"transfers", std::move(transfers)},
                                          {"documents", std::move(documents)}});
             });
}

json::object discovery_json(const exchange::Discovery& discovery) {
  json::object out{
      {"transactionId", discovery.id}, {"hipId", discovery.hip_id}, {"status", discovery.status}};
  if (!discovery.patient_reference.empty()) {
    json::array matched;
    for (const auto& by : discovery.matched_by) matched.emplace_back(by);
    out["patient"] = {{"referenceNumber", discovery.patient_reference},
                      {"display", discovery.display},
                      {"careContexts", exchange::care_contexts_to_json(discovery.care_contexts)},
                      {"matchedBy", std::move(matched)}};
  }
  if (!discovery.code_hint.empty()) out["codeSentTo"] = discovery.code_hint;
  if (!discovery.error.empty()) out["error"] = discovery.error;
  return out;
}

// The patient's side of discovery and linking, at the CM.
// The professional a caller speaks for: its professional:<registration> scope, and its name as
// hospital IT registered the client.
Result<exchange::Professional> desk_professional(const RouteContext& context,
                                                 auth::ClientRegistry& clients) {
  ASSIGN_OR_RETURN(auto registration, professional_of(context));
  ASSIGN_OR_RETURN(const auto client, clients.client(context.caller->client_id));
  return exchange::Professional{client.client_id, std::move(registration), client.name};
}

json::object asked_json(const exchange::AskedConsent& asked) {
  json::array hi_types;
  for (const auto& type : asked.hi_types) hi_types.emplace_back(type);
  json::array artefacts;
  for (const auto& id : asked.artefact_ids) artefacts.emplace_back(json::object{{"id", id}});
  json::object out{{"id", asked.id},
                   {"patient", {{"id", asked.patient_id}}},
                   {"purpose", {{"code", asked.purpose}}},
                   {"hiTypes", std::move(hi_types)},
                   {"dataEraseAt", format_instant_ms(asked.erase_at_ms)},
                   {"askedAt", format_instant_ms(asked.asked_at_ms)},
                   {"breakGlass", asked.break_glass},
                   {"status", asked.status},
                   {"consentArtefacts", std::move(artefacts)}};
  if (!asked.break_glass) {
    out["dateRange"] = {{"from", format_instant_ms(asked.from_ms)},
                        {"to", format_instant_ms(asked.to_ms)}};
  }
  if (!asked.hip_id.empty()) out["hip"] = {{"id", asked.hip_id}};
  if (!asked.reason.empty()) out["reason"] = asked.reason;
  return out;
}

// A professional's consent request, in the shape of ABDM's `consent` less what the node fills in
// (hiu, requester): {patient: {id}, purpose: {code}, hiTypes, dateRange, dataEraseAt,
// frequency?, hip?: {id}}. Access is VIEW; frequency defaults to once an hour.
Result<consent::ConsentTerms> desk_terms(const json::object& body,
                                         const exchange::Professional& who) {
  json::object permission{{"accessMode", "VIEW"},
                          {"frequency", {{"unit", "HOUR"}, {"value", 1}, {"repeats", 0}}}};
  for (const std::string_view name : {"dateRange", "dataEraseAt", "frequency"}) {
    if (const auto* value = body.if_contains(name)) permission[name] = *value;
  }
  json::object consent{
      {"hiu", {{"id", "-"}}},
      {"requester",
       {{"name", who.name}, {"identifier", {{"type", "REGNO"}, {"value", who.registration}}}}},
      {"permission", std::move(permission)}};
  for (const std::string_view name : {"patient", "purpose", "hiTypes", "hip"}) {
    if (const auto* value = body.if_contains(name)) consent[name] = *value;
  }
  return consent::parse_consent_terms(consent, unix_ms(std::chrono::system_clock::now()));
}

// A professional at their own HIU node: look a patient up, ask for consent, watch the requests,
// break the glass (exchange/hiu_consent_desk.h).
void add_hiu_desk_routes(Router& router, exchange::HiuConsentDesk& desk,
                         auth::ClientRegistry& clients) {
  router.add("GET", "/hiu/v1/patients/{healthId}", Access::kBearerToken,
             [&desk, &clients](const Request&, const RouteContext& context) {
               auto who = desk_professional(context, clients);
               if (!who) return problem_response(who.error());
               auto found = desk.find_patient(*who, context.param("healthId"));
               if (!found) return problem_response(found.error());
               return json_response(200, {{"id", found->address}, {"name", found->name}});
             });
  router.add("POST", "/hiu/v1/consent-requests", Access::kBearerToken,
             [&desk, &clients](const Request& request, const RouteContext& context) {
               auto who = desk_professional(context, clients);
               if (!who) return problem_response(who.error());
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto terms = desk_terms(*body, *who);
               if (!terms) return problem_response(terms.error());
               auto asked = desk.ask(*who, std::move(*terms));
               if (!asked) return problem_response(asked.error());
               return json_response(201, asked_json(*asked));
             });
  router.add("GET", "/hiu/v1/consent-requests", Access::kBearerToken,
             [&desk, &clients](const Request&, const RouteContext& context) {
               auto who = desk_professional(context, clients);
               if (!who) return problem_response(who.error());
               auto asked = desk.asked_by(*who);
               if (!asked) return problem_response(asked.error());
               json::array list;
               for (const auto& each : *asked) list.push_back(asked_json(each));
               return json_response(200, {{"requests", std::move(list)}});
             });
  router.add(
      "POST", "/hiu/v1/break-glass", Access::kBearerToken,
      [&desk, &clients](const Request& request, const RouteContext& context) {
        auto who = desk_professional(context, clients);
        if (!who) return problem_response(who.error());
        auto body = body_object(request);
        if (!body) return problem_response(body.error());
        auto patient = consent::required_id_object(*body, "patient");
        auto hip = consent::required_id_object(*body, "hip");
        auto reason = consent::required_string(*body, "reason", "");
        if (!patient || !hip || !reason) {
          return problem_response(!patient ? patient.error() : !hip ? hip.error() : reason.error());
        }
        exchange::EmergencyAsk emergency{*patient, *hip, *reason};
        if (body->contains("durationMinutes")) {
          auto minutes = consent::required_integer(*body, "durationMinutes", "", 1, 24 * 60);
          if (!minutes) return problem_response(minutes.error());
          emergency.duration = std::chrono::minutes(*minutes);
        }
        auto asked = desk.break_glass(*who, emergency);
        if (!asked) return problem_response(asked.error());
        return json_response(201, asked_json(*asked));
      });
}

void add_patient_link_routes(Router& router, exchange::PatientLinks& links) {
  const std::string base = "/cm/v1/patients/{patient}";
  router.add("POST", base + "/discoveries", Access::kPatientSession,
             [&links](const Request& request, const RouteContext& context) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto hip = consent::required_string(*body, "hipId", "");
               if (!hip) return problem_response(hip.error());
               auto started = links.discover(*context.patient, patient_subject(context), *hip);
               if (!started) return problem_response(started.error());
               return json_response(202, discovery_json(*started));
             });
  router.add("GET", base + "/discoveries/{id}", Access::kPatientSession,
             [&links](const Request&, const RouteContext& context) {
               auto found =
                   links.discovery(*context.patient, patient_subject(context), context.param("id"));
               if (!found) return problem_response(found.error());
               return json_response(200, discovery_json(*found));
             });
  router.add("POST", base + "/discoveries/{id}/link", Access::kPatientSession,
             [&links](const Request& request, const RouteContext& context) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               std::vector<std::string> references;
               const auto* chosen = body->if_contains("careContexts");
               if (chosen == nullptr || !chosen->is_array()) {
                 return problem_response(Error{ErrorCode::kInvalidArgument,
                                               "careContexts must list the visits to link"});
               }
               for (const auto& reference : chosen->as_array()) {
                 if (!reference.is_string()) {
                   return problem_response(
                       Error{ErrorCode::kInvalidArgument, "careContexts holds reference numbers"});
                 }
                 references.emplace_back(reference.as_string());
               }
               auto linking = links.link(*context.patient, patient_subject(context),
                                         context.param("id"), references);
               if (!linking) return problem_response(linking.error());
               return json_response(202, discovery_json(*linking));
             });
  router.add("POST", base + "/discoveries/{id}/confirm", Access::kPatientSession,
             [&links](const Request& request, const RouteContext& context) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto code = consent::required_string(*body, "code", "");
               if (!code) return problem_response(code.error());
               auto confirming = links.confirm(*context.patient, patient_subject(context),
                                               context.param("id"), *code);
               if (!confirming) return problem_response(confirming.error());
               return json_response(202, discovery_json(*confirming));
             });
  // Links a HIP proposed, waiting for the patient (HIP-initiated linking).
  router.add("GET", base + "/link-proposals", Access::kPatientSession,
             [&links](const Request&, const RouteContext& context) {
               auto proposed = links.proposals(*context.patient, patient_subject(context));
               if (!proposed) return problem_response(proposed.error());
               json::array list;
               for (const auto& proposal : *proposed) list.push_back(discovery_json(proposal));
               return json_response(200, {{"proposals", std::move(list)}});
             });
  router.add("POST", base + "/link-proposals/{id}/accept", Access::kPatientSession,
             [&links](const Request&, const RouteContext& context) {
               auto accepted =
                   links.accept(*context.patient, patient_subject(context), context.param("id"));
               if (!accepted) return problem_response(accepted.error());
               return json_response(200, discovery_json(*accepted));
             });
  router.add("GET", base + "/links", Access::kPatientSession,
             [&links](const Request&, const RouteContext& context) {
               auto linked = links.links(*context.patient, patient_subject(context));
               if (!linked) return problem_response(linked.error());
               json::array hips;
               for (const auto& hip : *linked) {
                 hips.push_back(json::object{
                     {"hip", {{"id", hip.hip_id}, {"name", hip.hip_name}}},
                     {"referenceNumber", hip.patient_reference},
                     {"display", hip.display},
                     {"careContexts", exchange::care_contexts_to_json(hip.care_contexts)}});
               }
               return json_response(200, {{"links", std::move(hips)}});
             });
}

// A HIP's answers to the CM's discovery and linking messages, and its news of new visits.
void add_hip_link_answer_routes(Router& router, exchange::PatientLinks& links,
                                exchange::RequestGuard& guard) {
  using Answer = Status (exchange::PatientLinks::*)(std::string_view, const json::object&);
  const std::pair<std::string_view, Answer> answers[] = {
      {exchange::kOnDiscoverPath, &exchange::PatientLinks::on_discover},
      {exchange::kOnLinkInitPath, &exchange::PatientLinks::on_link_init},
      {exchange::kOnLinkConfirmPath, &exchange::PatientLinks::on_link_confirm},
      {exchange::kContextNotifyPath, &exchange::PatientLinks::context_notify},
      {exchange::kAddContextsPath, &exchange::PatientLinks::propose}};
  for (const auto& [path, answer] : answers) {
    // (Captured by copy under its own name: clang 14 cannot capture a structured binding.)
    router.add(
        "POST", std::string(path), Access::kPeer,
        [&links, &guard, handle = answer](const Request& request, const RouteContext& context) {
          auto message = peer_message(request, context, guard, exchange::kHipScope);
          if (!message) return abdm_error(message.error());
          auto recorded = (links.*handle)(message->facility_id, message->body);
          if (!recorded) return abdm_error(recorded.error());
          return acknowledged(message->body);
        });
  }
}

// The CM's discovery and linking messages at a HIP (signed by the CM, checked in the domain), and
// hospital IT proposing to link a patient's visits (HIP-initiated linking).
void add_hip_link_routes(Router& router, exchange::HipLinks& links) {
  router.add("POST", "/hip/v1/patients/{id}/link-proposals", Access::kBearerToken,
             [&links](const Request&, const RouteContext& context) {
               if (!context.caller->scopes.has(kAdminScope)) {
                 return problem_response(Error{ErrorCode::kPermissionDenied,
                                               "proposing links needs the kavach/admin scope"});
               }
               auto proposed = links.propose_links(context.param("id"));
               if (!proposed) return problem_response(proposed.error());
               return json_response(202, {{"status", "PROPOSED"}});
             });
  using Handle = Status (exchange::HipLinks::*)(const json::object&, std::string_view);
  const std::pair<std::string_view, Handle> handlers[] = {
      {exchange::kDiscoverPath, &exchange::HipLinks::discover},
      {exchange::kLinkInitPath, &exchange::HipLinks::link_init},
      {exchange::kLinkConfirmPath, &exchange::HipLinks::link_confirm},
      {exchange::kOnAddContextsPath, &exchange::HipLinks::proposal_answered}};
  for (const auto& [path, handler] : handlers) {
    router.add("POST", std::string(path), Access::kFromNode,
               [&links, handle = handler](const Request& request, const RouteContext&) {
                 auto body = body_object(request);
                 if (!body) return abdm_error(body.error());
                 auto accepted = (links.*handle)(*body, request.header(kPeerSignatureHeader));
                 if (!accepted) return abdm_error(accepted.error());
                 return acknowledged(*body);
               });
  }
}

// The patient's access log as each HIP they linked keeps it, gathered by the CM.
void add_patient_audit_routes(Router& router, exchange::PatientAuditGatherer& gatherer) {
  router.add("GET", "/cm/v1/patients/{patient}/audit-events/providers", Access::kPatientSession,
             [&gatherer](const Request& request, const RouteContext& context) {
               std::size_t count = 50;
               for (const auto& [name, value] : parse_query(request.query)) {
                 if (name == "_count") {
                   count = static_cast<std::size_t>(
                       std::clamp<long long>(std::strtoll(value.c_str(), nullptr, 10), 1, 200));
                 }
               }
               auto answers = gatherer.gather(*context.patient, patient_subject(context), count);
               if (!answers) return problem_response(answers.error());
               json::array providers;
               for (auto& answer : *answers) {
                 json::object provider{{"hip", {{"id", answer.hip_id}, {"name", answer.hip_name}}}};
                 if (answer.error.empty()) {
                   provider["bundle"] = std::move(answer.bundle);
                 } else {
                   provider["error"] = answer.error;
                 }
                 providers.push_back(std::move(provider));
               }
               auto users =
                   gatherer.gather_users(*context.patient, patient_subject(context), count);
               if (!users) return problem_response(users.error());
               json::array receivers;
               for (auto& user : *users) {
                 json::object receiver{{"hiu", {{"id", user.hiu_id}, {"name", user.hiu_name}}}};
                 if (!user.error.empty()) receiver["error"] = user.error;
                 json::array consents;
                 for (auto& [consent_id, bundle] : user.bundles) {
                   consents.push_back(
                       json::object{{"consentId", consent_id}, {"bundle", std::move(bundle)}});
                 }
                 receiver["consents"] = std::move(consents);
                 receivers.push_back(std::move(receiver));
               }
               return json_response(
                   200, {{"providers", std::move(providers)}, {"users", std::move(receivers)}});
             });
}

void add_hiu_audit_routes(Router& router, exchange::HiuAuditView& view) {
  // The CM's signed request, checked in the domain.
  router.add("POST", std::string(exchange::kConsentAuditPath), Access::kFromNode,
             [&view](const Request& request, const RouteContext&) {
               auto body = body_object(request);
               if (!body) return abdm_error(body.error());
               auto pages = view.entries(*body, request.header(kPeerSignatureHeader));
               if (!pages) return abdm_error(pages.error());
               json::array consents;
               for (auto& [consent_id, bundle] : *pages) {
                 consents.push_back(
                     json::object{{"consentId", consent_id}, {"bundle", std::move(bundle)}});
               }
               return json_response(200, {{"consents", std::move(consents)}});
             });
}

void add_hip_audit_routes(Router& router, exchange::HipAuditView& view) {
  // The CM's signed request, checked in the domain.
  router.add("POST", std::string(exchange::kPatientAuditPath), Access::kFromNode,
             [&view](const Request& request, const RouteContext&) {
               auto body = body_object(request);
               if (!body) return abdm_error(body.error());
               auto page = view.entries(*body, request.header(kPeerSignatureHeader));
               if (!page) return abdm_error(page.error());
               return json_response(
                   200, {{"bundle", std::move(page->bundle)}, {"nextAfter", page->next_after}});
             });
}

}  // namespace

Result<PeerMessage> peer_message(const Request& request, const RouteContext& context,
                                 exchange::RequestGuard& guard, std::string_view role_scope) {
  const auth::ScopeSet& scopes = context.caller->scopes;
  const auto facility = scopes.opaque_value(consent::kFacilityScopePrefix);
  if (!scopes.has(role_scope) || facility.empty()) {
    return make_error(ErrorCode::kPermissionDenied,
                      fmt::format("this call needs a facility client (scopes {} and "
                                  "facility:<id>) or a message signed by the facility",
                                  role_scope));
  }
  PeerMessage message;
  message.facility_id = std::string(facility);
  ASSIGN_OR_RETURN(message.body, body_object(request));
  RETURN_IF_ERROR(
      guard.admit(request_id_of(message.body), consent::string_member(message.body, "timestamp")));
  return message;
}

json::object locker_json(const exchange::LockerRequest& request) {
  json::array transfers;
  for (const auto& transfer : request.transfers) {
    json::object out{{"hip", {{"id", transfer.hip_id}, {"name", transfer.hip_name}}},
                     {"status", transfer.status},
                     {"pageCount", transfer.page_count},
                     {"pages", json::value_from(transfer.pages)}};
    if (!transfer.transaction_id.empty()) out["transactionId"] = transfer.transaction_id;
    if (!transfer.detail.empty()) out["detail"] = transfer.detail;
    transfers.push_back(std::move(out));
  }
  return {{"id", request.id},
          {"createdAt", format_instant_ms(request.created_at_ms)},
          {"eraseAt", format_instant_ms(request.erase_at_ms)},
          {"transfers", std::move(transfers)}};
}

// The patient's own records through the CM (exchange/patient_locker.h): their browser asks with
// its public key, the HIPs push ciphertext for it here, and the browser fetches the pages.
void add_locker_routes(Router& router, exchange::PatientLocker& locker) {
  const std::string base = "/cm/v1/patients/{patient}/records-requests";
  router.add("POST", base, Access::kPatientSession,
             [&locker](const Request& request, const RouteContext& context) {
               auto body = body_object(request);
               if (!body) return problem_response(body.error());
               auto ask = exchange::parse_locker_ask(*body);
               if (!ask) return problem_response(ask.error());
               auto asked = locker.request(*context.patient, patient_subject(context), *ask);
               if (!asked) return problem_response(asked.error());
               return json_response(201, locker_json(*asked));
             });
  router.add("GET", base + "/{id}", Access::kPatientSession,
             [&locker](const Request&, const RouteContext& context) {
               auto found =
                   locker.status(*context.patient, patient_subject(context), context.param("id"));
               if (!found) return problem_response(found.error());
               return json_response(200, locker_json(*found));
             });
  router.add("GET", base + "/{id}/transfers/{transaction}/pages/{page}", Access::kPatientSession,
             [&locker](const Request&, const RouteContext& context) {
               const std::string number = context.param("page");
               std::int64_t page = 0;
               const auto parsed =
                   std::from_chars(number.data(), number.data() + number.size(), page);
               if (parsed.ec != std::errc() || parsed.ptr != number.data() + number.size()) {
                 return problem_response(Error{ErrorCode::kNotFound, "no such page is held"});
               }
               auto found = locker.page(*context.patient, patient_subject(context),
                                        context.param("id"), context.param("transaction"), page);
               if (!found) return problem_response(found.error());
               Response response = json_response(200, *found);
               response.set_header("Cache-Control", "no-store");
               return response;
             });
  // Public: a page is kept only for a transaction the locker holds, and is ciphertext for the
  // patient's browser.
  router.add("POST", std::string(exchange::kLockerTransferPath), Access::kFromNode,
             [&locker](const Request& request, const RouteContext&) {
               auto body = body_object(request);
               if (!body) return abdm_error(body.error());
               auto received = locker.receive_page(*body);
               if (!received) return abdm_error(received.error());
               return json_response(202, {{"acknowledgement", {{"status", "OK"}}}});
             });
}

void add_exchange_routes(Router& router, const ApiServices& services) {
  if (services.relay != nullptr && services.consent != nullptr) {
    add_cm_routes(router, *services.relay, services.consent->guard);
  }
  if (services.patient_links != nullptr && services.consent != nullptr) {
    add_patient_link_routes(router, *services.patient_links);
    add_hip_link_answer_routes(router, *services.patient_links, services.consent->guard);
  }
  if (services.hip_links != nullptr) add_hip_link_routes(router, *services.hip_links);
  if (services.audit_gatherer != nullptr)
    add_patient_audit_routes(router, *services.audit_gatherer);
  if (services.hip_audit != nullptr) add_hip_audit_routes(router, *services.hip_audit);
  if (services.hiu_audit != nullptr) add_hiu_audit_routes(router, *services.hiu_audit);
  if (services.hip_data_flow != nullptr) add_hip_routes(router, *services.hip_data_flow);
  if (services.hiu_data_flow != nullptr) add_hiu_routes(router, *services.hiu_data_flow);
  if (services.hiu_desk != nullptr)
    add_hiu_desk_routes(router, *services.hiu_desk, services.clients);
  if (services.patient_locker != nullptr) add_locker_routes(router, *services.patient_locker);
}

}  // namespace kavach::http
