// kavach serve
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/backup_wiring.h"
#include "cli/consent_wiring.h"
#include "cli/node_flags.h"
#include "cli/node_status.h"
#include "cli/subcommands.h"
#include "common/log.h"
#include "common/periodic_task.h"
#include "common/time_format.h"
#include "config/serve_config.h"
#include "guard/access_guard.h"
#include "guard/scrubber.h"
#include "http/api.h"
#include "http/client.h"
#include "http/server.h"

namespace kavach::cli {
namespace {

struct ServeFlags {
  std::filesystem::path config_file;
  std::string data_dir;
  std::string key_file;
  std::string listen;
  std::string roles;
  std::string store_url;
  std::string tls_cert;
  std::string tls_key;
  std::string log_level;
  bool insecure_http = false;
  config::EmergencyOptions emergency;
};

// The file first, then every flag that was given on the command line.
Result<config::ServeConfig> resolve_config(const ServeFlags& flags) {
  config::ServeConfig config;
  if (!flags.config_file.empty())
    RETURN_IF_ERROR(config::load_toml_file(flags.config_file, config));
  if (!flags.data_dir.empty()) config.data_dir = flags.data_dir;
  if (!flags.key_file.empty()) config.key_file = flags.key_file;
  if (!flags.listen.empty()) {
    ASSIGN_OR_RETURN(config.listen, config::parse_listen_address(flags.listen));
  }
  if (!flags.roles.empty()) {
    ASSIGN_OR_RETURN(config.roles, config::parse_roles(flags.roles));
  }
  if (!flags.store_url.empty()) config.store_url = flags.store_url;
  if (!flags.tls_cert.empty()) config.tls_cert = flags.tls_cert;
  if (!flags.tls_key.empty()) config.tls_key = flags.tls_key;
  if (!flags.log_level.empty()) config.log_level = flags.log_level;
  if (flags.insecure_http) config.insecure_http = true;
  config.emergency = flags.emergency;
  RETURN_IF_ERROR(config::validate(config));
  return config;
}

// Asks the configured witnesses to cosign each new checkpoint; null when there are none.
Result<std::unique_ptr<audit::CosignatureCollector>> start_cosignature_collector(
    const config::AuditOptions& options, const audit::AuditLog& log) {
  if (options.witnesses.empty()) return nullptr;
  http::ClientOptions client_options;
  client_options.ca_file = options.ca_file;
  std::shared_ptr<http::HttpClient> client;
  {
    ASSIGN_OR_RETURN(auto created, http::HttpClient::create(client_options));
    client = std::move(created);
  }
  std::vector<audit::WitnessEndpoint> endpoints;
  for (const auto& peer : options.witnesses) {
    RETURN_IF_ERROR(http::parse_url(peer.url));
    endpoints.push_back({peer.url, peer.key});
  }
  auto transport = [client](const std::string& url,
                            const std::string& body) -> Result<audit::WitnessReply> {
    ASSIGN_OR_RETURN(auto reply, client->post(url, "text/plain; charset=utf-8", body));
    return audit::WitnessReply{reply.status, std::move(reply.body)};
  };
  ASSIGN_OR_RETURN(auto collector,
                   audit::CosignatureCollector::create(log, endpoints, std::move(transport)));
  collector->start(std::chrono::seconds(1));
  return collector;
}

Status serve(const config::ServeConfig& config) {
  log::Level level = log::Level::kInfo;
  log::parse_level(config.log_level, level);
  log::configure(level);

  Metrics metrics;
  NodeOptions node_options{config.data_dir,           config.key_file, config.store_url,
                           config.postgres_pool_size, &metrics,        config.emergency.read_only};
  if (!config.emergency.from_backup.empty()) {
    // Emergency: rebuild this node from the latest snapshot before serving it read-only.
    const RepositoryFlags repository{config.emergency.from_backup,
                                     config.emergency.backup_token_file,
                                     config.emergency.backup_key, config.emergency.backup_ca_file};
    ASSIGN_OR_RETURN(const auto restored, restore_node(repository, "", std::nullopt, node_options));
    log::warn("restored_from_backup",
              {{"snapshot", restored.report.snapshot},
               {"taken", format_instant_ms(restored.report.snapshot_created_at_ms)},
               {"record_versions", std::to_string(restored.report.record_versions)},
               {"seconds",
                fmt::format("{:.1f}", static_cast<double>(restored.elapsed.count()) / 1000.0)}});
  }
  ASSIGN_OR_RETURN(auto node, Node::open(node_options));
  ASSIGN_OR_RETURN(auto* audit_log, node->open_audit_log(config.audit.origin));
  audit_log->start();
  ASSIGN_OR_RETURN(auto* witness, node->open_witness(config.audit.witness_name));
  ASSIGN_OR_RETURN(auto collector, start_cosignature_collector(config.audit, *audit_log));

  http::Router router(node->tokens());
  http::Server* server_view = nullptr;

  // The anomaly guard (docs/guard.md): it sees every committed audit entry and every rewrite's
  // content, locks principals that cross a budget, and scrubs the store for changed records.
  guard::SpoolAlertNotifier alert_spool(config.data_dir / "alerts.jsonl");
  guard::AlertBook alerts(node->documents(), node->clock(), &metrics, &alert_spool);
  RETURN_IF_ERROR(alerts.refresh());
  guard::AccessGuard access_guard(config.guard, alerts, node->clock());
  node->watched_store().set_observer(
      [&access_guard](const audit::EntryFacts& entry) { access_guard.observe(entry); });
  node->resources().set_rewrite_inspector(
      [&access_guard](std::string_view principal, std::string_view type, std::string_view json) {
        return access_guard.inspect_rewrite(principal, type, json);
      });
  router.set_principal_check([&access_guard](std::string_view principal) {
    return access_guard.check_principal(principal);
  });
  guard::Scrubber scrubber(node->store(), node->sealer(), alerts);
  // Every 10 s: pick up locks released from the CLI, and scrub a slice of the store.
  PeriodicTask guard_task(std::chrono::seconds(10), [&] {
    if (auto refreshed = alerts.refresh(); !refreshed) {
      log::warn("guard_refresh_failed", {{"reason", refreshed.error().message}});
    }
    if (config.guard.scrub_records_per_minute == 0) return;
    if (auto scrubbed =
            scrubber.step(std::max<std::size_t>(1, config.guard.scrub_records_per_minute / 6));
        !scrubbed) {
      log::warn("scrub_failed", {{"reason", scrubbed.error().message}});
    }
  });

  ASSIGN_OR_RETURN(auto consent, wire_consent(config, *node, router));
  // Messages addressed (X-HIP-ID, X-HIU-ID, X-CM-ID) to a facility or CM this node is not are
  // refused, so a misrouted message is never taken for this node's.
  router.require_node_certificates(!config.tls_client_ca.empty());
  router.set_addressee(
      config.roles.contains(config::Role::kConsentManager) ? config.consent.cm_id : std::string(),
      config.consent.facility_id);
  fhir::AuditEventService audit_events(node->store(), *audit_log, node->clock());
  fhir::BulkExports exports(node->resources(), node->clock());
  std::optional<exchange::HipAuditView> hip_audit;
  if (consent->hip_consents) {
    hip_audit.emplace(*consent->hip_consents, node->resources(), audit_events);
  }
  std::optional<exchange::HiuAuditView> hiu_audit;
  if (consent->hiu_consents) {
    hiu_audit.emplace(consent->hiu_consents->verifier(), audit_events, node->clock());
  }
  http::ApiServices services{
      node->resources(),
      audit_events,
      node->clients(),
      node->tokens(),
      *audit_log,
      *witness,
      collector.get(),
      metrics,
      [&]() -> Status {
        if (server_view != nullptr && server_view->draining()) {
          return make_error(ErrorCode::kUnavailable, "the node is shutting down");
        }
        RETURN_IF_ERROR(node->store().read_key(std::string(vault::kNodeTokenKey)));
        return {};
      },
      consent->api ? &*consent->api : nullptr,
      consent->hip_consents.get(),
      consent->hiu_consents.get(),
      consent->sessions.get(),
      consent->relay.get(),
      consent->hip_data_flow.get(),
      consent->hiu_data_flow.get(),
      consent->patient_links.get(),
      consent->hip_links.get(),
      hip_audit ? &*hip_audit : nullptr,
      hiu_audit ? &*hiu_audit : nullptr,
      consent->audit_gatherer.get(),
      &exports,
      &alerts,
      consent->hiu_desk.get(),
      consent->patient_locker.get()};
  const std::int64_t started_at_ms = unix_ms(node->clock().now());
  services.status_report = [&] {
    return node_status(NodeStatusSources{config, *node, *audit_log, collector.get(),
                                         services.readiness, started_at_ms});
  };
  // The web app: its files, if built, and browser sessions (cookie and CSRF token).
  http::WebSessions web_sessions(node->web_session_key().clone());
  std::optional<http::WebAssets> web_assets;
  if (config.web.enabled) {
    const auto root = config.web.root.empty() ? http::default_web_root() : config.web.root;
    if (root.empty()) {
      log::warn("web_app_missing", {{"reason", "no built web app beside the binary; make build"}});
    } else {
      ASSIGN_OR_RETURN(web_assets, http::WebAssets::load(root));
      log::info("web_app",
                {{"root", root.string()}, {"files", std::to_string(web_assets->size())}});
    }
    services.web_assets = web_assets ? &*web_assets : nullptr;
    services.web_sessions = &web_sessions;
    router.set_web_sessions(&web_sessions);
  }
  http::add_all_routes(router, services);

  http::ServerOptions options;
  options.host = config.listen.host;
  options.port = config.listen.port;
  options.tls_cert = config.tls_cert;
  options.tls_key = config.tls_key;
  options.tls_client_ca = config.tls_client_ca;
  options.io_threads = config.http.io_threads;
  options.worker_threads = config.http.worker_threads;
  options.brief_handlers_inline =
      config.http.reads_on_io_threads && node->store().backend_name() == "sqlite";
  options.max_connections = config.http.max_connections;
  options.max_body_bytes = config.http.max_body_bytes;
  options.max_header_bytes = config.http.max_header_bytes;
  options.read_timeout = config.http.read_timeout;
  options.idle_timeout = config.http.idle_timeout;
  ASSIGN_OR_RETURN(auto server, http::Server::bind(options, router, metrics));
  server_view = server.get();

  const bool ipv6 = config.listen.host.find(':') != std::string::npos;
  const std::string url =
      fmt::format("{}://{}{}{}:{}", server->tls() ? "https" : "http", ipv6 ? "[" : "",
                  config.listen.host, ipv6 ? "]" : "", server->port());
  if (config.emergency.read_only) {
    log::warn("emergency_read_only", {{"writes", "refused"}, {"reads", "served and audited"}});
  }
  log::info("serving", {{"url", url},
                        {"roles", config::roles_text(config.roles)},
                        {"store", std::string(node->store().backend_name())},
                        {"audit_origin", audit_log->origin()}});
  std::cout << "listening on " << url << std::endl;
  server->run();
  consent->stop();
  log::info("stopped");
  return {};
}

}  // namespace

void add_serve_command(CLI::App& app, CommandOutcome& outcome) {
  auto* command = app.add_subcommand("serve", "Run a node: the HTTP API for its roles");
  auto flags = std::make_shared<ServeFlags>();
  command->add_option("--config", flags->config_file,
                      "A TOML configuration file; flags override it");
  command->add_option("--data", flags->data_dir, "The node's data directory");
  command->add_option("--key-file", flags->key_file,
                      "The node key file (outside --data, mode 0600)");
  command->add_option("--listen", flags->listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  command->add_option("--roles", flags->roles, "Comma-separated roles: cm, hip, hiu (default all)");
  command->add_option("--store", flags->store_url,
                      "Store URL: sqlite:PATH or postgresql://... (default: SQLite in --data)");
  command->add_option("--tls-cert", flags->tls_cert, "PEM certificate chain; enables HTTPS");
  command->add_option("--tls-key", flags->tls_key, "PEM private key for --tls-cert");
  command->add_option("--log-level", flags->log_level, "debug, info, warn or error");
  command->add_flag("--insecure-http", flags->insecure_http,
                    "Allow plain HTTP on a non-loopback address (only behind a TLS proxy)");
  command->add_flag("--read-only", flags->emergency.read_only,
                    "Emergency mode: serve and audit reads, refuse every write");
  command->add_option("--from-backup", flags->emergency.from_backup,
                      "With --read-only: first restore the latest snapshot of this repository "
                      "(backup server URL or directory) into the empty --data");
  command->add_option("--backup-key", flags->emergency.backup_key,
                      "The backup key file, for --from-backup");
  command->add_option("--backup-token-file", flags->emergency.backup_token_file,
                      "The backup server's client token, for --from-backup");
  command->add_option("--backup-ca-file", flags->emergency.backup_ca_file,
                      "The CA of the backup server's certificate, for --from-backup");
  command->callback([flags, &outcome] {
    auto config = resolve_config(*flags);
    if (!config) {
      outcome.status = tl::unexpected(config.error());
      outcome.usage_error = true;
      return;
    }
    outcome.status = serve(*config);
  });
}

}  // namespace kavach::cli
