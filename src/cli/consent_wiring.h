// The consent and exchange services of `kavach serve`, by the node's roles: the consent manager
// (accounts, consent, the data-flow relay, discovery and linking, the patient's access log across
// nodes), a HIP (its consents and record gate, data flow, linking) and an HIU (its consents and
// received data), with the one outbox that carries every signed message the node sends and the
// workers that sweep, push and erase.
#pragma once

#include <memory>
#include <optional>

#include "cli/node.h"
#include "common/periodic_task.h"
#include "config/serve_config.h"
#include "consent/consent_outbox.h"
#include "consent/consent_record_gate.h"
#include "consent/hip_consents.h"
#include "consent/hiu_consents.h"
#include "exchange/health_information_relay.h"
#include "exchange/hip_data_flow.h"
#include "exchange/hip_links.h"
#include "exchange/hiu_data_flow.h"
#include "exchange/patient_audit.h"
#include "exchange/patient_links.h"
#include "exchange/patient_locker.h"
#include "exchange/request_guard.h"
#include "exchange/session_tokens.h"
#include "http/api.h"
#include "http/router.h"

namespace kavach::cli {

// The consent and exchange services of the node's roles, owned for as long as the server runs.
// Members are destroyed in reverse order: workers stop before the services they call.
struct ConsentWiring {
  cli::ConsentManagerServices* cm = nullptr;             // owned by the Node
  std::unique_ptr<consent::ArtefactSigner> node_signer;  // a facility node's key, when not the CM
  std::unique_ptr<consent::OutboxDispatcher> dispatcher;
  std::unique_ptr<exchange::RequestGuard> request_guard;
  std::optional<http::ConsentApi> api;
  std::unique_ptr<exchange::SessionTokenIssuer> sessions;
  std::unique_ptr<consent::HiuConsents> hiu_consents;
  std::unique_ptr<consent::HipConsents> hip_consents;
  std::unique_ptr<consent::ConsentRecordGate> record_gate;
  std::unique_ptr<exchange::HealthInformationRelay> relay;
  std::unique_ptr<exchange::HipDataFlow> hip_data_flow;
  std::unique_ptr<exchange::HiuDataFlow> hiu_data_flow;
  std::unique_ptr<exchange::HiuConsentDesk> hiu_desk;
  std::unique_ptr<exchange::PatientLinks> patient_links;
  std::unique_ptr<exchange::PatientLocker> patient_locker;
  std::unique_ptr<consent::Notifier> hip_notifier;  // a HIP's link codes, when not the CM's
  std::unique_ptr<consent::OneTimeCodes> hip_codes;
  std::unique_ptr<exchange::HipLinks> hip_links;
  std::unique_ptr<exchange::PatientAuditGatherer> audit_gatherer;
  std::unique_ptr<PeriodicTask> sweeper;
  std::unique_ptr<PeriodicTask> pusher;
  std::unique_ptr<PeriodicTask> context_notifier;
  std::unique_ptr<PeriodicTask> eraser;

  const consent::ArtefactSigner& signer() const { return cm ? *cm->signer : *node_signer; }
  // Stops the workers and the outbox, before the server's services go away.
  void stop();
};

// Opens the services of `config`'s roles, registers the CM's authenticators on `router`, and
// starts the workers and the outbox.
Result<std::unique_ptr<ConsentWiring>> wire_consent(const config::ServeConfig& config, Node& node,
                                                    http::Router& router);

}  // namespace kavach::cli
