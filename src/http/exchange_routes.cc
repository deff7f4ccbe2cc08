// The data flow over HTTP (exchange/*): at the CM, the HIU's health-information/cm/request and
// the HIP's on-request and notify (each from a facility, by token or signature); at a HIP, the CM's
// hip/request; at an HIU, the HIP's pushed pages, the CM's on-request and notices, and the API
// through which its professionals start a request and read what arrived. Handlers parse, call one
// service and map the result; ABDM routes answer errors in ABDM's shape.
#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/time_format.h"
#include "consent/consent_record_gate.h"
#include "consent/json_fields.h"
#include "exchange/health_information.h"
#include "exchange/peer_messages.h"
#include "http/api.h"
#include "http/problem.h"

namespace kavach::http {
namespace {

namespace json = boost::json;

// A professional of an HIU reading at their own node: a client with scope professional:<regno>.
constexpr std::string_view kProfessionalScopePrefix = "professional:";

std::string request_id_of(const json::object& body) {
  const auto* value = body.if_contains("requestId");
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
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
               // ABDM answers 202 and calls back on-request; Kavach also answers the id at once.
               return json_response(
                   202, {{"hiRequest",
                          {{"transactionId", transaction->id}, {"sessionStatus", "REQUESTED"}}},
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
  // Public at the router: the body carries the CM's signature, checked in the domain.
  router.add("POST", std::string(exchange::kHipRequestPath), Access::kPublic,
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
  router.add("POST", std::string(exchange::kTransferPath), Access::kPublic,
             [&flow](const Request& request, const RouteContext&) {
               auto body = body_object(request);
               if (!body) return abdm_error(body.error());
               auto received = flow.receive_page(*body);
               if (!received) return abdm_error(received.error());
               return json_response(202, {{"acknowledgement", {{"status", "OK"}}}});
             });
  for (const std::string_view path : {exchange::kHiuOnRequestPath, exchange::kHiuNotifyPath}) {
    // Public at the router: the body carries the CM's signature, checked in the domain.
    router.add("POST", std::string(path), Access::kPublic,
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
  RETURN_IF_ERROR(guard.admit(request_id_of(message.body), [&] {
    const auto* value = message.body.if_contains("timestamp");
    return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
  }()));
  return message;
}

void add_exchange_routes(Router& router, const ApiServices& services) {
  if (services.relay != nullptr && services.consent != nullptr) {
    add_cm_routes(router, *services.relay, services.consent->guard);
  }
  if (services.hip_data_flow != nullptr) add_hip_routes(router, *services.hip_data_flow);
  if (services.hiu_data_flow != nullptr) add_hiu_routes(router, *services.hiu_data_flow);
}

}  // namespace kavach::http
