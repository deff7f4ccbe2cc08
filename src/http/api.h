// The node's HTTP API: which routes exist, who may call them, and which domain service answers.
// Handlers are thin: parse the request, call one service, map the result (errors through
// problem.h). Public routes are only the probes (/healthz, /readyz), the token endpoint (which
// authenticates by client secret itself), the FHIR CapabilityStatement and the audit log's hashes
// (checkpoints, hash tiles, proofs: see audit_routes.cc).
#pragma once

#include <functional>

#include "audit/audit_log.h"
#include "audit/cosignature_collector.h"
#include "audit/witness.h"
#include "auth/client_registry.h"
#include "auth/token_service.h"
#include "common/metrics.h"
#include "consent/consent_manager.h"
#include "consent/consent_record_gate.h"
#include "consent/facility_registry.h"
#include "consent/hip_consents.h"
#include "consent/hiu_consents.h"
#include "consent/patient_accounts.h"
#include "exchange/health_information_relay.h"
#include "exchange/hip_data_flow.h"
#include "exchange/hip_links.h"
#include "exchange/hiu_consent_desk.h"
#include "exchange/hiu_data_flow.h"
#include "exchange/patient_audit.h"
#include "exchange/patient_links.h"
#include "exchange/patient_locker.h"
#include "exchange/request_guard.h"
#include "exchange/session_tokens.h"
#include "fhir/audit_event_service.h"
#include "fhir/bulk_exports.h"
#include "fhir/resource_service.h"
#include "guard/alert_book.h"
#include "http/router.h"
#include "http/web_assets.h"
#include "http/web_session.h"

namespace kavach::http {

// The scope that lets a monitoring client read /metrics.
inline constexpr std::string_view kMetricsScope = "kavach/metrics";
// The scope that lets an auditor read audit entries.
inline constexpr std::string_view kAuditorScope = "kavach/audit";
// The scope of hospital IT administering the registry.
inline constexpr std::string_view kAdminScope = "kavach/admin";

// The consent manager's services, on a node with the cm role.
struct ConsentApi {
  consent::PatientAccounts& accounts;
  consent::ConsentManager& manager;
  consent::FacilityRegistry& registry;
  exchange::RequestGuard& guard;  // requestId once, timestamp in the window, on HIU calls
};

struct ApiServices {
  fhir::ResourceService& resources;
  fhir::AuditEventService& audit_events;
  auth::ClientRegistry& clients;
  const auth::TokenService& tokens;
  const audit::AuditLog& audit_log;
  audit::Witness& witness;
  const audit::CosignatureCollector* cosignatures;  // null when no witness is configured
  Metrics& metrics;
  std::function<Status()> readiness;  // ok when the node can serve (store reachable, not draining)
  const ConsentApi* consent = nullptr;           // null unless the node is a consent manager
  consent::HipConsents* hip_consents = nullptr;  // null unless the node is a HIP with an id
  consent::HiuConsents* hiu_consents = nullptr;  // null unless the node is an HIU with an id
  const exchange::SessionTokenIssuer* sessions = nullptr;    // the CM's gateway sessions
  exchange::HealthInformationRelay* relay = nullptr;         // the CM's part of the data flow
  exchange::HipDataFlow* hip_data_flow = nullptr;            // a HIP's
  exchange::HiuDataFlow* hiu_data_flow = nullptr;            // an HIU's
  exchange::PatientLinks* patient_links = nullptr;           // the CM's discovery and linking
  exchange::HipLinks* hip_links = nullptr;                   // a HIP's
  exchange::HipAuditView* hip_audit = nullptr;               // a HIP's entries, for the CM
  exchange::HiuAuditView* hiu_audit = nullptr;               // an HIU's entries, for the CM
  exchange::PatientAuditGatherer* audit_gatherer = nullptr;  // the CM's view across HIPs
  fhir::BulkExports* exports = nullptr;                      // $export jobs
  guard::AlertBook* alerts = nullptr;                        // the anomaly guard's alerts and locks
  exchange::HiuConsentDesk* hiu_desk = nullptr;              // an HIU's professionals' requests
  exchange::PatientLocker* patient_locker = nullptr;         // the CM's relay of own records
  const WebAssets* web_assets = nullptr;                     // the web app's files, when built
  const WebSessions* web_sessions = nullptr;                 // browser sessions of the web app
  // The node's status for hospital IT (cli/node_status.h); unset in tests that need none.
  std::function<boost::json::object()> status_report = {};
};

// An ABDM message from a facility: the facility the caller speaks for (it holds `role_scope`,
// abdm/hiu or abdm/hip, and facility:<id>) and the body, whose requestId must be new and whose
// timestamp must be inside the window (exchange/request_guard.h).
struct PeerMessage {
  std::string facility_id;
  boost::json::object body;
};
Result<PeerMessage> peer_message(const Request& request, const RouteContext& context,
                                 exchange::RequestGuard& guard, std::string_view role_scope);

// The health ID a patient route acts for: {patient} in the path, "me" for the signed-in patient.
std::string patient_subject(const RouteContext& context);

void add_system_routes(Router& router, const ApiServices& services);
void add_oauth_routes(Router& router, const ApiServices& services);
void add_fhir_routes(Router& router, const ApiServices& services);
void add_audit_routes(Router& router, const ApiServices& services);
// The consent manager's patient, HIU and admin APIs, and the HIP's consent notices; each only
// when the node has the services.
void add_consent_routes(Router& router, const ApiServices& services);
// The data flow: the CM's relay, the HIP's request endpoint, the HIU's push endpoint and its
// professionals' API; each only when the node has the service.
void add_exchange_routes(Router& router, const ApiServices& services);
// Hospital IT's view of the anomaly guard: alerts, locked principals and their release.
void add_guard_routes(Router& router, const ApiServices& services);
// The web app's files and its browser sessions (cookie and CSRF token).
void add_app_routes(Router& router, const ApiServices& services);
// The web app's files alone, under /app/.
void add_web_asset_routes(Router& router, const WebAssets& assets);

inline void add_all_routes(Router& router, const ApiServices& services) {
  add_system_routes(router, services);
  add_oauth_routes(router, services);
  add_fhir_routes(router, services);
  add_audit_routes(router, services);
  add_consent_routes(router, services);
  add_exchange_routes(router, services);
  add_guard_routes(router, services);
  add_app_routes(router, services);
}

}  // namespace kavach::http
