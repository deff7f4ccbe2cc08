#include "cli/consent_wiring.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/log.h"
#include "common/time_format.h"
#include "crypto/encoding.h"
#include "exchange/health_information.h"
#include "exchange/peer_messages.h"
#include "http/client.h"

namespace kavach::cli {
namespace {

// Delivers the node's signed messages: the CM's notices to facilities' registered callback URLs,
// and a facility's messages to its CM, which name the facility that signed them.
consent::OutboxTransport outbox_transport(std::shared_ptr<http::HttpClient> client,
                                          std::string facility_id) {
  return [client, facility_id](const std::string& url, const std::string& body,
                               const std::string& signature,
                               const consent::OutboxHeaders& route) -> Status {
    http::HttpClient::HeaderList headers{{std::string(consent::kSignatureHeader), signature}};
    if (!facility_id.empty()) headers.emplace_back(exchange::kFacilityHeader, facility_id);
    headers.insert(headers.end(), route.begin(), route.end());
    ASSIGN_OR_RETURN(auto reply, client->post(url, "application/json", body, headers));
    if (reply.status < 200 || reply.status >= 300) {
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("the receiver answered {}", reply.status));
    }
    return {};
  };
}

// How this node calls other nodes: trusting consent.ca_file, and presenting tls.client_cert
// where mutual TLS is configured.
http::ClientOptions node_client_options(const config::ServeConfig& config) {
  http::ClientOptions options;
  options.ca_file = config.consent.ca_file;
  options.cert_file = config.tls_client_cert;
  options.key_file = config.tls_client_key;
  return options;
}

// The consent manager keys a HIP trusts: its own when it is also the CM, and the configured one.
Result<consent::ArtefactVerifier> trusted_cm_keys(const config::ConsentOptions& options,
                                                  const consent::ArtefactSigner* own) {
  if (!options.cm_key.empty()) {
    auto key = crypto::from_base64url(options.cm_key);
    if (!key || key->size() != 32) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "config: consent.cm_key: must be the CM's 32-byte Ed25519 key in base64url");
    }
    std::array<std::uint8_t, 32> bytes{};
    std::copy(key->begin(), key->end(), bytes.begin());
    return consent::ArtefactVerifier::from_public_key(bytes);
  }
  if (own != nullptr) return consent::ArtefactVerifier::from_public_key(own->public_key());
  return make_error(ErrorCode::kInvalidArgument,
                    "config: consent.cm_key: a HIP whose consent manager runs elsewhere needs the "
                    "CM's key (`kavach consent key` on the CM prints it)");
}

// How a HIP asks its CM for a consent's status after a restart: directly when this node is the
// CM, otherwise over HTTP, checking the CM's signature on the answer.
Result<consent::StatusSource> cm_status_source(const config::ConsentOptions& options,
                                               http::ClientOptions client_options,
                                               consent::ConsentManager* local,
                                               const consent::ArtefactVerifier& verifier) {
  if (local != nullptr) {
    return consent::StatusSource(
        [local](std::string_view id) { return local->current_status(id); });
  }
  if (options.cm_url.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "config: consent.cm_url: a HIP whose consent manager runs elsewhere needs "
                      "its URL, to confirm consents after a restart");
  }
  RETURN_IF_ERROR(http::parse_url(options.cm_url));
  client_options.timeout = std::chrono::seconds(3);
  ASSIGN_OR_RETURN(auto created, http::HttpClient::create(client_options));
  std::shared_ptr<http::HttpClient> client(std::move(created));
  std::string url = options.cm_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/v0.5/consents/hip/status";
  return consent::StatusSource([client, url,
                                verifier](std::string_view id) -> Result<consent::ConsentStatus> {
    ASSIGN_OR_RETURN(auto reply,
                     client->post(url, "application/json",
                                  boost::json::serialize(boost::json::object{{"consentId", id}})));
    if (reply.status != 200) {
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("the consent manager answered {}", reply.status));
    }
    boost::system::error_code error;
    auto parsed = boost::json::parse(reply.body, error);
    if (error || !parsed.is_object()) {
      return make_error(ErrorCode::kUnavailable, "the consent manager's answer is not JSON");
    }
    return consent::verify_status_statement(verifier, parsed.as_object(), id,
                                            unix_ms(std::chrono::system_clock::now()));
  });
}

// A signed, synchronous call to another node: `body` gets a fresh requestId and timestamp and
// this node's signature; the answer's JSON, or the refusal the other node gave (ABDM's
// {"error": {"message"}}) as an error of the matching kind.
Result<boost::json::object> signed_call(http::HttpClient& client,
                                        const consent::ArtefactSigner& signer,
                                        const std::string& url, boost::json::object body,
                                        http::HttpClient::HeaderList headers) {
  body["requestId"] = consent::random_uuid();
  body["timestamp"] = format_instant_ms(unix_ms(std::chrono::system_clock::now()));
  ASSIGN_OR_RETURN(const auto signature, signer.sign_object(body));
  headers.emplace_back(consent::kSignatureHeader, signature);
  ASSIGN_OR_RETURN(auto reply,
                   client.post(url, "application/json", boost::json::serialize(body), headers));
  boost::system::error_code error;
  auto parsed = boost::json::parse(reply.body, error);
  if (error || !parsed.is_object()) {
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("{} answered {} without JSON", url, reply.status));
  }
  if (reply.status >= 200 && reply.status < 300) return std::move(parsed.as_object());
  const auto* refusal = parsed.as_object().if_contains("error");
  const auto* message =
      refusal && refusal->is_object() ? refusal->as_object().if_contains("message") : nullptr;
  const std::string text = message && message->is_string()
                               ? std::string(message->as_string())
                               : fmt::format("it answered {}", reply.status);
  const auto code = reply.status == 404   ? ErrorCode::kNotFound
                    : reply.status == 403 ? ErrorCode::kPermissionDenied
                    : reply.status == 400 ? ErrorCode::kInvalidArgument
                    : reply.status == 401 ? ErrorCode::kUnauthenticated
                    : reply.status == 429 ? ErrorCode::kResourceExhausted
                                          : ErrorCode::kUnavailable;
  return make_error(code, "refused: " + text);
}

// Runs `pass` every `interval` on its own thread, logging a failed pass under `event`.
template <class Pass>
std::unique_ptr<PeriodicTask> start_worker(std::chrono::milliseconds interval, std::string event,
                                           Pass pass) {
  return std::make_unique<PeriodicTask>(interval, [event = std::move(event), pass] {
    auto done = pass();
    if (!done) log::warn(event, {{"error", std::string(error_code_name(done.error().code))}});
  });
}

// This node's URL as other nodes reach it.
std::string public_url(const config::ServeConfig& config) {
  std::string url = config.consent.public_url;
  if (url.empty()) {
    const bool ipv6 = config.listen.host.find(':') != std::string::npos;
    url = fmt::format("{}://{}{}{}:{}", config.tls_enabled() ? "https" : "http", ipv6 ? "[" : "",
                      config.listen.host, ipv6 ? "]" : "", config.listen.port);
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// Where a facility node's messages to its CM go: the configured CM, or itself when it is the CM.
std::string cm_base_url(const config::ServeConfig& config) {
  std::string url = config.consent.cm_url.empty() ? public_url(config) : config.consent.cm_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// Fetches a page's `link` entry (a document too large for one message) from its HIP.
Result<exchange::LinkFetch> link_fetch(const config::ServeConfig& config) {
  // Link entries carry whole documents: a larger answer is allowed than for messages.
  http::ClientOptions link_options = node_client_options(config);
  link_options.max_response_bytes = exchange::kFideliusCiphertextMax / 3 * 4 + 4;
  link_options.timeout = std::chrono::seconds(60);
  ASSIGN_OR_RETURN(auto link_client, http::HttpClient::create(link_options));
  return [link = std::shared_ptr<http::HttpClient>(std::move(link_client))](
             const std::string& url) -> Result<std::string> {
    ASSIGN_OR_RETURN(auto reply, link->get(url));
    if (reply.status != 200) {
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("the provider answered {}", reply.status));
    }
    return std::move(reply.body);
  };
}

// The consent manager with its outbox dispatcher, expiry sweeper and patient sign-in.
Status wire_consent_manager(const config::ServeConfig& config, Node& node, http::Router& router,
                            ConsentWiring& wiring) {
  ASSIGN_OR_RETURN(wiring.cm, node.open_consent_manager(config.consent));
  auto* cm = wiring.cm;
  wiring.sweeper = start_worker(std::chrono::seconds(1), "consent.sweep_failed",
                                [manager = cm->manager.get()] { return manager->sweep(); });
  router.set_patient_authenticator([accounts = cm->accounts.get()](std::string_view token) {
    return accounts->authenticate(token);
  });
  wiring.request_guard = std::make_unique<exchange::RequestGuard>(node.clock());
  wiring.api.emplace(
      http::ConsentApi{*cm->accounts, *cm->manager, node.registry(), *wiring.request_guard});
  wiring.sessions = std::make_unique<exchange::SessionTokenIssuer>(
      *cm->signer, config.consent.cm_id, node.clock());
  wiring.relay = std::make_unique<exchange::HealthInformationRelay>(node.documents(), *cm->manager,
                                                                    node.registry(), node.clock());
  wiring.patient_links = std::make_unique<exchange::PatientLinks>(node.documents(), *cm->accounts,
                                                                  node.registry(), node.clock());
  // The patient's access log at each HIP they linked: a signed call to the HIP's registered URL.
  http::ClientOptions audit_options = node_client_options(config);
  audit_options.timeout = std::chrono::seconds(5);
  audit_options.max_response_bytes = 8 * 1024 * 1024;
  ASSIGN_OR_RETURN(auto audit_client, http::HttpClient::create(audit_options));
  exchange::FacilityCall call =
      [client = std::shared_ptr<http::HttpClient>(std::move(audit_client)), &signer = *cm->signer](
          const consent::Facility& facility, std::string_view path,
          boost::json::object body) -> Result<boost::json::object> {
    std::string url = facility.callback_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    return signed_call(*client, signer, url + std::string(path), std::move(body),
                       {{facility.hip ? "X-HIP-ID" : "X-HIU-ID", facility.id}});
  };
  wiring.audit_gatherer = std::make_unique<exchange::PatientAuditGatherer>(
      *wiring.patient_links, *cm->manager, node.registry(), std::move(call));
  // The patient's own records, relayed to their browser as ciphertext.
  ASSIGN_OR_RETURN(auto fetch_link, link_fetch(config));
  exchange::PatientLockerOptions locker_options;
  locker_options.push_url = public_url(config) + std::string(exchange::kLockerTransferPath);
  wiring.patient_locker = std::make_unique<exchange::PatientLocker>(
      node.documents(), *cm->manager, *cm->accounts, node.registry(), *wiring.patient_links,
      *wiring.relay, std::move(fetch_link), node.clock(), std::move(locker_options));
  // Facilities' nodes sign their messages to the CM with their registered keys.
  router.set_peer_authenticator([&registry = node.registry()](const http::Request& request) {
    return exchange::authenticate_peer_message(
        registry, request.header(http::kPeerFacilityHeader), request.body,
        request.header(http::kPeerSignatureHeader), unix_ms(std::chrono::system_clock::now()));
  });
  return {};
}

// One dispatcher for every signed message the node sends: the CM's notices to facilities (by the
// registry) and a facility's messages to its CM.
Status start_outbox(const config::ServeConfig& config, Node& node, ConsentWiring& wiring) {
  http::ClientOptions client_options = node_client_options(config);
  ASSIGN_OR_RETURN(auto client, http::HttpClient::create(client_options));
  auto by_registry = consent::registry_destination(node.registry());
  const bool is_cm = wiring.cm != nullptr;
  consent::OutboxDestination destination =
      [by_registry, is_cm, cm_id = config.consent.cm_id,
       cm_url = cm_base_url(config)](std::string_view facility_id) -> Result<consent::OutboxRoute> {
    if (facility_id == cm_id) return consent::OutboxRoute{cm_url, {{"X-CM-ID", cm_id}}};
    if (is_cm) return by_registry(facility_id);
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("this node sends messages only to its CM, not {}", facility_id));
  };
  wiring.dispatcher = std::make_unique<consent::OutboxDispatcher>(
      node.documents(), std::move(destination), wiring.signer(),
      outbox_transport(std::shared_ptr<http::HttpClient>(std::move(client)),
                       config.consent.facility_id),
      node.clock());
  const auto wake = [view = wiring.dispatcher.get()] { view->notify(); };
  if (wiring.cm) wiring.cm->manager->on_messages_queued(wake);
  if (wiring.relay) wiring.relay->on_messages_queued(wake);
  if (wiring.patient_links) wiring.patient_links->on_messages_queued(wake);
  if (wiring.hip_links) wiring.hip_links->on_messages_queued(wake);
  if (wiring.hip_data_flow) wiring.hip_data_flow->on_messages_queued(wake);
  if (wiring.hiu_data_flow) wiring.hiu_data_flow->on_messages_queued(wake);
  wiring.dispatcher->start();
  return {};
}

// A HIP's data flow: pages pushed by a worker, straight to the HIU's data push URL.
Status wire_hip_data_flow(const config::ServeConfig& config, Node& node, ConsentWiring& wiring) {
  http::ClientOptions client_options = node_client_options(config);
  client_options.timeout = std::chrono::seconds(30);
  ASSIGN_OR_RETURN(auto created, http::HttpClient::create(client_options));
  std::shared_ptr<http::HttpClient> client(std::move(created));
  exchange::PushTransport push = [client](const std::string& url,
                                          const std::string& body) -> Result<int> {
    ASSIGN_OR_RETURN(auto reply, client->post(url, "application/json", body));
    return reply.status;
  };
  exchange::HipDataFlowOptions options;
  options.cm_id = config.consent.cm_id;
  options.base_url = public_url(config);
  options.hip_name = config.consent.facility_id;
  options.link_threshold_bytes = config.consent.link_entry_bytes;
  wiring.hip_data_flow = std::make_unique<exchange::HipDataFlow>(
      node.documents(), *wiring.hip_consents, *wiring.record_gate, node.resources(),
      std::move(push), node.clock(), std::move(options));
  // Link codes go to the patient's mobile through the node's notifier (the CM's, if it is one).
  consent::OneTimeCodes* codes = wiring.cm ? wiring.cm->codes.get() : nullptr;
  if (codes == nullptr) {
    const auto outbox = config.consent.notification_outbox.empty()
                            ? config.data_dir / "notifications.jsonl"
                            : config.consent.notification_outbox;
    wiring.hip_notifier = std::make_unique<consent::OutboxFileNotifier>(outbox, node.clock());
    wiring.hip_codes = std::make_unique<consent::OneTimeCodes>(node.documents(), node.keys(),
                                                               *wiring.hip_notifier, node.clock());
    codes = wiring.hip_codes.get();
  }
  wiring.hip_links = std::make_unique<exchange::HipLinks>(
      *wiring.hip_consents, node.resources(), node.documents(), *codes, config.consent.cm_id,
      config.consent.facility_id);
  wiring.context_notifier =
      start_worker(std::chrono::seconds(2), "exchange.context_notify_failed",
                   [links = wiring.hip_links.get()] { return links->notify_new_contexts(); });
  wiring.pusher = start_worker(std::chrono::milliseconds(250), "exchange.push_pass_failed",
                               [flow = wiring.hip_data_flow.get()] { return flow->push_due(); });
  wiring.hip_data_flow->on_pages_queued([pusher = wiring.pusher.get()] { pusher->wake(); });
  return {};
}

// An HIU's data flow: signed calls to the CM, and the sweeper that erases what consent no longer
// allows.
Status wire_hiu_data_flow(const config::ServeConfig& config, Node& node, ConsentWiring& wiring) {
  http::ClientOptions client_options = node_client_options(config);
  ASSIGN_OR_RETURN(auto created, http::HttpClient::create(client_options));
  std::shared_ptr<http::HttpClient> client(std::move(created));
  exchange::PeerCall cm = [client, &signer = wiring.signer(), base = cm_base_url(config),
                           facility = config.consent.facility_id, cm_id = config.consent.cm_id](
                              std::string_view path,
                              boost::json::object body) -> Result<boost::json::object> {
    return signed_call(*client, signer, base + std::string(path), std::move(body),
                       {{std::string(exchange::kFacilityHeader), facility}, {"X-CM-ID", cm_id}});
  };
  exchange::HiuDataFlowOptions options;
  options.hiu_id = config.consent.facility_id;
  options.cm_id = config.consent.cm_id;
  options.push_url = public_url(config) + std::string(exchange::kTransferPath);
  ASSIGN_OR_RETURN(auto fetch_link, link_fetch(config));
  wiring.hiu_desk = std::make_unique<exchange::HiuConsentDesk>(
      node.documents(), *wiring.hiu_consents, cm, config.consent.facility_id, public_url(config));
  wiring.hiu_data_flow = std::make_unique<exchange::HiuDataFlow>(
      node.documents(), node.keys(), *wiring.hiu_consents, std::move(cm), std::move(fetch_link),
      node.clock(), std::move(options));
  wiring.eraser = start_worker(std::chrono::seconds(1), "exchange.erase_pass_failed",
                               [flow = wiring.hiu_data_flow.get()] { return flow->sweep(); });
  return {};
}

}  // namespace

void ConsentWiring::stop() {
  eraser.reset();
  context_notifier.reset();
  pusher.reset();
  sweeper.reset();
  if (dispatcher) dispatcher->stop();
}

Result<std::unique_ptr<ConsentWiring>> wire_consent(const config::ServeConfig& config, Node& node,
                                                    http::Router& router) {
  auto wiring = std::make_unique<ConsentWiring>();
  if (config.roles.contains(config::Role::kConsentManager)) {
    RETURN_IF_ERROR(wire_consent_manager(config, node, router, *wiring));
  }
  const consent::ArtefactSigner* own_signer = wiring->cm ? wiring->cm->signer.get() : nullptr;
  // Gateway sessions are accepted by every node that knows the CM's key.
  if (own_signer != nullptr || !config.consent.cm_key.empty()) {
    ASSIGN_OR_RETURN(auto keys, trusted_cm_keys(config.consent, own_signer));
    router.set_session_verifier([keys, issuer = config.consent.cm_id](std::string_view token) {
      return exchange::verify_session_token(token, keys, issuer,
                                            unix_ms(std::chrono::system_clock::now()) / 1000);
    });
  }
  if (config.consent.facility_id.empty()) {
    if (wiring->cm) RETURN_IF_ERROR(start_outbox(config, node, *wiring));
    return wiring;
  }
  if (!wiring->cm) {
    ASSIGN_OR_RETURN(auto signer, consent::consent_signer(node.keys()));
    wiring->node_signer = std::make_unique<consent::ArtefactSigner>(std::move(signer));
  }
  if (config.roles.contains(config::Role::kUser)) {
    ASSIGN_OR_RETURN(auto verifier, trusted_cm_keys(config.consent, own_signer));
    wiring->hiu_consents = std::make_unique<consent::HiuConsents>(node.documents(), verifier);
  }
  if (config.roles.contains(config::Role::kProvider)) {
    ASSIGN_OR_RETURN(auto verifier, trusted_cm_keys(config.consent, own_signer));
    ASSIGN_OR_RETURN(auto status_source,
                     cm_status_source(config.consent, node_client_options(config),
                                      wiring->cm ? wiring->cm->manager.get() : nullptr, verifier));
    wiring->hip_consents = std::make_unique<consent::HipConsents>(
        node.documents(), std::move(verifier), config.consent.facility_id,
        std::move(status_source));
    wiring->record_gate = std::make_unique<consent::ConsentRecordGate>(
        *wiring->hip_consents, node.store(), node.sealer(), node.clock());
    node.resources().set_record_gate(wiring->record_gate.get());
    RETURN_IF_ERROR(wire_hip_data_flow(config, node, *wiring));
  }
  if (wiring->hiu_consents) RETURN_IF_ERROR(wire_hiu_data_flow(config, node, *wiring));
  RETURN_IF_ERROR(start_outbox(config, node, *wiring));
  return wiring;
}

}  // namespace kavach::cli
