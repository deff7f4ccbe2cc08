// kavach backup [key | admin-key | list | verify | prune | retention] | backup-server | restore
// (issue 7; docs/backup.md).
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "audit/signed_note.h"
#include "backup/admin_request.h"
#include "backup/backup_status.h"
#include "backup/backup_writer.h"
#include "backup/verifier.h"
#include "cli/backup_wiring.h"
#include "cli/node_flags.h"
#include "cli/subcommands.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/time_format.h"
#include "guard/alert_book.h"
#include "http/backup_client.h"
#include "http/backup_routes.h"
#include "http/server.h"

namespace kavach::cli {
namespace {

// `required`: false on `kavach backup` itself, whose subcommands take their own flags.
void add_repository_flags(CLI::App& command, RepositoryFlags& flags, bool needs_backup_key,
                          bool required = true) {
  auto* repo = command.add_option("--repo", flags.repo,
                                  "The backup server's URL, or a repository directory");
  command.add_option("--token-file", flags.token_file,
                     "The backup server's client token (a file, mode 0600); with a URL");
  command.add_option("--ca-file", flags.ca_file,
                     "The CA that signed the backup server's certificate (default: system)");
  CLI::Option* key = nullptr;
  if (needs_backup_key) {
    key = command.add_option("--backup-key", flags.backup_key_file,
                             "The backup key file (mode 0600)");
  }
  if (required) {
    repo->required();
    if (key != nullptr) key->required();
  }
}

// Blocks SIGINT and SIGTERM so a loop can wait for them with a timeout (sigtimedwait).
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  }
  ~StopSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  // Waits up to `timeout`; true once a stop signal arrived.
  bool wait(std::chrono::milliseconds timeout) const {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    timespec wait_for{static_cast<time_t>(seconds.count()),
                      static_cast<long>((timeout - seconds).count() * 1'000'000)};
    return sigtimedwait(&set_, nullptr, &wait_for) > 0;
  }

 private:
  sigset_t set_{};
  sigset_t previous_{};
};

struct BackupFlags {
  NodeOptions node;
  RepositoryFlags repository;
  bool full = false;
  bool continuous = false;
  std::int64_t interval_ms = 5000;
  std::int64_t verify_every_ms = 0;
  std::uint32_t verify_shares = 24;
};

void print_snapshot(const backup::SnapshotSummary& summary) {
  if (summary.unchanged) {
    std::cout << fmt::format("nothing changed since snapshot {}\n", summary.id) << std::flush;
    return;
  }
  std::cout << fmt::format(
                   "snapshot {}{}: {} new record versions, {} new audit entries, {} keys; {} "
                   "objects sent ({} bytes), {} already in the repository\n",
                   summary.id, summary.manifest.parent.empty() ? " (full)" : "",
                   summary.new_record_versions, summary.new_audit_entries, summary.manifest.keys,
                   summary.objects_sent, summary.bytes_sent, summary.objects_reused)
            << std::flush;
}

Status run_backup(const BackupFlags& flags) {
  // Blocked before any thread starts (the store's writer and readers), so every thread inherits
  // the mask and a stop signal waits for sigtimedwait instead of killing the process mid-snapshot.
  std::optional<StopSignals> stop;
  if (flags.continuous) stop.emplace();
  ASSIGN_OR_RETURN(auto node, Node::open(flags.node));
  ASSIGN_OR_RETURN(const auto key, backup::BackupKey::load(flags.repository.backup_key_file));
  ASSIGN_OR_RETURN(auto repository, open_repository(flags.repository, node->clock()));
  backup::BackupWriter writer(node->store(), node->key_ring(), key, *repository, node->clock());
  backup::SnapshotOptions options;
  options.full = flags.full;
  // What hospital IT sees of the backup (backup/backup_status.h): kept beside the node's data.
  backup::BackupStatus status;
  if (auto earlier = backup::read_backup_status(flags.node.data_dir); earlier && *earlier) {
    status = **earlier;
  }
  status.repository = flags.repository.repo;
  const auto record_snapshot = [&](const Result<backup::SnapshotSummary>& summary) {
    const std::int64_t now_ms = unix_ms(node->clock().now());
    if (summary) {
      status.last_snapshot_id = summary->id;
      status.last_snapshot_at_ms = now_ms;
      status.last_error.clear();
    } else {
      status.last_error = summary.error().message;
      status.last_error_at_ms = now_ms;
    }
    if (auto written = backup::write_backup_status(flags.node.data_dir, status); !written) {
      log::warn("backup_status_not_written", {{"reason", written.error().message}});
    }
  };
  if (!flags.continuous) {
    auto summary = writer.take_snapshot(options);
    record_snapshot(summary);
    if (!summary) return tl::unexpected(summary.error());
    print_snapshot(*summary);
    return {};
  }
  // Continuous: a snapshot whenever something changed, every interval, so the recovery point
  // stays within about one interval. A failed snapshot is logged and retried; the node keeps
  // running either way.
  guard::SpoolAlertNotifier alert_spool(flags.node.data_dir / "alerts.jsonl");
  guard::AlertBook alerts(node->documents(), node->clock(), nullptr, &alert_spool);
  const std::chrono::milliseconds interval(flags.interval_ms);
  const std::chrono::milliseconds verify_every(flags.verify_every_ms);
  auto next_verify = std::chrono::steady_clock::now() + verify_every;
  std::uint32_t share = 1;
  std::cout << fmt::format("backing up every {} ms; stop with SIGINT or SIGTERM\n",
                           interval.count())
            << std::flush;
  do {
    auto summary = writer.take_snapshot(options);
    record_snapshot(summary);
    if (!summary) {
      log::error("backup_failed", {{"reason", summary.error().message}});
    } else if (!summary->unchanged) {
      print_snapshot(*summary);
    }
    options.full = false;
    if (verify_every.count() > 0 && std::chrono::steady_clock::now() >= next_verify) {
      backup::RepositoryVerifyOptions verify;
      verify.share = backup::ReadShare{share, flags.verify_shares};
      verify.scratch_dir = flags.node.data_dir / "backup-verify.tmp";
      const auto report = backup::verify_repository(*repository, key, verify);
      status.last_verification_at_ms = unix_ms(node->clock().now());
      status.last_verification_ok = report && report->ok();
      status.last_verification_detail = !report ? report.error().message
                                        : report->ok()
                                            ? fmt::format("share {}/{}", share, flags.verify_shares)
                                            : report->problems.front();
      if (auto written = backup::write_backup_status(flags.node.data_dir, status); !written) {
        log::warn("backup_status_not_written", {{"reason", written.error().message}});
      }
      if (!report || !report->ok()) {
        // An alert like the guard's (docs/guard.md): logged, stored with the node's alerts, and
        // spooled for the pager.
        const std::string reason = !report ? report.error().message : report->problems.front();
        if (auto raised = alerts.raise(guard::Rule::kBackupVerification, "", flags.repository.repo,
                                       fmt::format("backup verification (share {}/{}) failed: {}",
                                                   share, flags.verify_shares, reason),
                                       false);
            !raised) {
          log::error("alert_not_stored", {{"reason", raised.error().message}});
        }
      } else {
        log::info("backup_verified", {{"share", fmt::format("{}/{}", share, flags.verify_shares)},
                                      {"objects_read", std::to_string(report->objects_read)}});
      }
      share = share % flags.verify_shares + 1;
      next_verify = std::chrono::steady_clock::now() + verify_every;
    }
  } while (!stop->wait(interval));
  return {};
}

struct VerifyFlags {
  RepositoryFlags repository;
  std::string share = "1/1";
  std::string audit_key;
  std::filesystem::path checkpoint_file;
  std::filesystem::path scratch_dir;
};

Status run_verify(const VerifyFlags& flags) {
  SystemClock clock;
  ASSIGN_OR_RETURN(const auto key, backup::BackupKey::load(flags.repository.backup_key_file));
  ASSIGN_OR_RETURN(auto repository, open_repository(flags.repository, clock));
  backup::RepositoryVerifyOptions options;
  ASSIGN_OR_RETURN(options.share, backup::parse_read_share(flags.share));
  options.audit_verifier_key = flags.audit_key;
  if (!flags.checkpoint_file.empty()) {
    std::ifstream in(flags.checkpoint_file);
    if (!in) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("cannot read {}", flags.checkpoint_file.string()));
    }
    options.trusted_checkpoint.assign(std::istreambuf_iterator<char>(in), {});
  }
  options.scratch_dir = flags.scratch_dir.empty()
                            ? std::filesystem::temp_directory_path() /
                                  fmt::format("kavach-backup-verify-{}", ::getpid())
                            : flags.scratch_dir;
  ASSIGN_OR_RETURN(const auto report, backup::verify_repository(*repository, key, options));
  std::cout << fmt::format(
      "{} snapshots, {} objects ({} read whole in share {}); audit log: {} entries, checked "
      "against the checkpoint at size {}\n",
      report.snapshots, report.objects, report.objects_read, flags.share, report.audit_entries,
      report.audit_checkpoint_size);
  if (report.ok()) {
    std::cout << "OK: every object is present; those read hash to their ids, authenticate and "
                 "decode; the audit log matches the node's signatures\n";
    return {};
  }
  for (const auto& problem : report.problems) std::cout << "  PROBLEM: " << problem << "\n";
  return make_error(ErrorCode::kDataLoss,
                    fmt::format("the backup repository failed verification ({} problems)",
                                report.problems.size()));
}

Status run_list(const RepositoryFlags& flags) {
  SystemClock clock;
  ASSIGN_OR_RETURN(auto repository, open_repository(flags, clock));
  ASSIGN_OR_RETURN(const auto snapshots, repository->snapshots());
  for (const auto& snapshot : snapshots) {
    std::cout << fmt::format("{} {} {}\n", format_instant_ms(snapshot.registered_at_ms),
                             snapshot.id, snapshot.parent.empty() ? "full" : "incremental");
  }
  return {};
}

struct AdminFlags {
  RepositoryFlags repository;
  std::filesystem::path admin_key_file;
  std::string before;
  int days = -1;
};

Status run_admin(const AdminFlags& flags, backup::AdminOperation operation) {
  SystemClock clock;
  if (!is_repository_url(flags.repository.repo)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "admin requests go to a backup server (--repo https://...)");
  }
  ASSIGN_OR_RETURN(const auto signer, backup::load_admin_key(flags.admin_key_file));
  backup::AdminRequest request;
  request.operation = operation;
  request.issued_ms = unix_ms(clock.now());
  if (operation == backup::AdminOperation::kPrune) {
    const auto before = parse_instant_ms(flags.before);
    if (!before) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--before takes a date or date-time (2026-01-31, 2026-01-31T00:00:00Z)");
    }
    request.argument = *before;
  } else {
    request.argument = flags.days;
  }
  ASSIGN_OR_RETURN(const auto note, backup::sign_admin_request(signer, request));
  http::ClientOptions options;
  options.ca_file = flags.repository.ca_file;
  ASSIGN_OR_RETURN(auto remote,
                   http::RemoteRepository::connect(flags.repository.repo, "", options));
  ASSIGN_OR_RETURN(const auto answer, remote->send_admin_request(note, operation));
  std::cout << answer << "\n";
  return {};
}

struct ServerFlags {
  std::filesystem::path repo;
  std::string listen = "127.0.0.1:8480";
  std::filesystem::path token_file;
  std::string admin_verifier_key;
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
};

Status run_server(const ServerFlags& flags) {
  log::configure(log::Level::kInfo);
  SystemClock clock;
  ASSIGN_OR_RETURN(auto repository, backup::DirectoryRepository::open(flags.repo, clock));
  ASSIGN_OR_RETURN(auto token, read_client_token(flags.token_file));
  std::optional<backup::AdminRequestGate> admin;
  if (!flags.admin_verifier_key.empty()) {
    ASSIGN_OR_RETURN(auto verifier, audit::NoteVerifier::parse(flags.admin_verifier_key));
    admin.emplace(std::move(verifier), clock);
  }
  const auto colon = flags.listen.rfind(':');
  if (colon == std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument, "--listen takes HOST:PORT");
  }
  http::ServerOptions options;
  options.host = flags.listen.substr(0, colon);
  options.port = static_cast<std::uint16_t>(std::stoi(flags.listen.substr(colon + 1)));
  options.tls_cert = flags.tls_cert;
  options.tls_key = flags.tls_key;
  options.max_body_bytes = 64 * 1024 * 1024;
  if (options.tls_cert.empty() && options.host != "127.0.0.1" && options.host != "::1" &&
      options.host != "localhost") {
    return make_error(ErrorCode::kInvalidArgument,
                      "a backup server off loopback needs --tls-cert and --tls-key");
  }
  // The router authenticates node tokens for kBearerToken routes; this server has none of those
  // (its routes check the backup client token themselves), so its token key is a throw-away.
  const auth::TokenService unused_tokens(crypto::SecretBytes::random(32), clock,
                                         std::chrono::seconds(1));
  http::Router router(unused_tokens);
  http::add_backup_server_routes(router, *repository,
                                 http::BackupServerAuth{token, admin ? &*admin : nullptr});
  Metrics metrics;
  ASSIGN_OR_RETURN(auto server, http::Server::bind(options, router, metrics));
  std::cout << fmt::format("backup server for {} listening on {}://{}:{}\n", flags.repo.string(),
                           server->tls() ? "https" : "http", options.host, server->port())
            << std::flush;
  server->run();
  return {};
}

struct RestoreFlags {
  RepositoryFlags repository;
  std::string snapshot;
  std::string at;
  std::filesystem::path to;
  std::filesystem::path key_file;
  std::string store_url;
};

Status run_restore(const RestoreFlags& flags) {
  std::optional<std::int64_t> at_ms;
  if (!flags.at.empty()) {
    at_ms = parse_instant_ms(flags.at);
    if (!at_ms) return make_error(ErrorCode::kInvalidArgument, "--at takes a date or date-time");
  }
  ASSIGN_OR_RETURN(const auto restored,
                   restore_node(flags.repository, flags.snapshot, at_ms,
                                NodeOptions{flags.to, flags.key_file, flags.store_url}));
  print_restore(restored);
  return {};
}

}  // namespace

void add_backup_commands(CLI::App& app, CommandOutcome& outcome) {
  auto* backup = app.add_subcommand(
      "backup",
      "Take a snapshot of the node into a backup repository (or, with --continuous, keep taking "
      "them); manage the repository with the subcommands");
  backup->require_subcommand(0, 1);
  auto flags = std::make_shared<BackupFlags>();
  backup->add_option("--data", flags->node.data_dir, "The node's data directory");
  backup->add_option("--key-file", flags->node.key_file, "The node key file");
  backup->add_option("--store", flags->node.store_url, "Store URL (default: SQLite in --data)");
  add_repository_flags(*backup, flags->repository, /*needs_backup_key=*/true,
                       /*required=*/false);
  backup->add_flag("--full", flags->full, "Start a new chain with a full snapshot");
  backup->add_flag("--continuous", flags->continuous,
                   "Keep taking snapshots every --interval until SIGINT or SIGTERM");
  // Durations with a unit: 500ms, 5s, 10min, 1h.
  const auto duration = CLI::AsNumberWithUnit(
      std::map<std::string, std::int64_t>{
          {"ms", 1}, {"s", 1000}, {"min", 60'000}, {"h", 3'600'000}},
      CLI::AsNumberWithUnit::UNIT_REQUIRED);
  backup->add_option("--interval", flags->interval_ms, "Time between snapshots (default 5s)")
      ->transform(duration);
  backup
      ->add_option("--verify-every", flags->verify_every_ms,
                   "With --continuous: verify one share of the repository this often (default: "
                   "never)")
      ->transform(duration);
  backup->add_option("--verify-shares", flags->verify_shares,
                     "Shares a full read of the repository is spread over (default 24)");
  backup->callback([backup, flags, &outcome] {
    if (!backup->get_subcommands().empty()) return;
    if (flags->node.data_dir.empty() || flags->node.key_file.empty() ||
        flags->repository.repo.empty() || flags->repository.backup_key_file.empty()) {
      outcome.status = make_error(ErrorCode::kInvalidArgument,
                                  "backup needs --data, --key-file, --repo and --backup-key");
      outcome.usage_error = true;
      return;
    }
    outcome.status = run_backup(*flags);
  });

  auto* key = backup->add_subcommand("key", "Create a backup key (keep a copy offline)");
  auto key_path = std::make_shared<std::filesystem::path>();
  key->add_option("--out", *key_path, "Where to write it (never overwrites)")->required();
  key->callback([key_path, &outcome] {
    auto created = backup::BackupKey::create(*key_path);
    if (!created) {
      outcome.status = tl::unexpected(created.error());
      return;
    }
    std::cout << fmt::format(
        "created backup key {}; keep a copy off this machine: without it no backup can be "
        "restored\n",
        key_path->string());
  });

  auto* admin_key = backup->add_subcommand(
      "admin-key", "Create the offline admin key that alone can prune a backup server");
  auto admin_path = std::make_shared<std::filesystem::path>();
  admin_key->add_option("--out", *admin_path, "Where to write it (never overwrites)")->required();
  admin_key->callback([admin_path, &outcome] {
    auto signer = backup::create_admin_key(*admin_path);
    if (!signer) {
      outcome.status = tl::unexpected(signer.error());
      return;
    }
    std::cout << signer->verifier_key() << "\n";
  });

  auto* list = backup->add_subcommand("list", "List the repository's snapshots");
  auto list_flags = std::make_shared<RepositoryFlags>();
  add_repository_flags(*list, *list_flags, /*needs_backup_key=*/false);
  list->callback([list_flags, &outcome] { outcome.status = run_list(*list_flags); });

  auto* verify =
      backup->add_subcommand("verify", "Check every snapshot, object and the backed-up audit log");
  auto verify_flags = std::make_shared<VerifyFlags>();
  add_repository_flags(*verify, verify_flags->repository, /*needs_backup_key=*/true);
  verify->add_option("--read-data-subset", verify_flags->share,
                     "Read only share n/m of the objects whole (default 1/1: all)");
  verify->add_option("--audit-key", verify_flags->audit_key,
                     "The node's audit verifier key (kavach audit key); default: from the backup");
  verify->add_option("--checkpoint", verify_flags->checkpoint_file,
                     "A checkpoint a witness holds, which the backed-up log must match");
  verify->add_option("--scratch", verify_flags->scratch_dir,
                     "A scratch directory for the rebuilt audit log");
  verify->callback([verify_flags, &outcome] { outcome.status = run_verify(*verify_flags); });

  auto admin_flags = std::make_shared<AdminFlags>();
  auto* prune = backup->add_subcommand(
      "prune", "Remove snapshots listed before a time (needs the admin key)");
  add_repository_flags(*prune, admin_flags->repository, /*needs_backup_key=*/false);
  prune->add_option("--admin-key", admin_flags->admin_key_file, "The admin key file")->required();
  prune->add_option("--before", admin_flags->before, "Remove snapshots listed before this")
      ->required();
  prune->callback([admin_flags, &outcome] {
    outcome.status = run_admin(*admin_flags, backup::AdminOperation::kPrune);
  });
  auto* retention = backup->add_subcommand(
      "retention", "Set how many days snapshots are kept before pruning (needs the admin key)");
  add_repository_flags(*retention, admin_flags->repository, /*needs_backup_key=*/false);
  retention->add_option("--admin-key", admin_flags->admin_key_file, "The admin key file")
      ->required();
  retention->add_option("--days", admin_flags->days, "Days")->required();
  retention->callback([admin_flags, &outcome] {
    outcome.status = run_admin(*admin_flags, backup::AdminOperation::kRetention);
  });

  auto* server = app.add_subcommand(
      "backup-server", "Serve a backup repository to nodes: append-only, on another machine");
  auto server_flags = std::make_shared<ServerFlags>();
  server->add_option("--repo", server_flags->repo, "The repository directory")->required();
  server->add_option("--listen", server_flags->listen, "HOST:PORT (default 127.0.0.1:8480)");
  server
      ->add_option("--token-file", server_flags->token_file,
                   "The client token nodes present (a file, mode 0600)")
      ->required();
  server->add_option("--admin-verifier-key", server_flags->admin_verifier_key,
                     "The admin key's verifier key (kavach backup admin-key); none: no pruning");
  server->add_option("--tls-cert", server_flags->tls_cert, "TLS certificate chain (PEM)");
  server->add_option("--tls-key", server_flags->tls_key, "TLS private key (PEM)");
  server->callback([server_flags, &outcome] { outcome.status = run_server(*server_flags); });

  auto* restore = app.add_subcommand(
      "restore", "Rebuild a node from a backup snapshot into a new data directory, and verify it");
  auto restore_flags = std::make_shared<RestoreFlags>();
  add_repository_flags(*restore, restore_flags->repository, /*needs_backup_key=*/true);
  restore->add_option("--snapshot", restore_flags->snapshot,
                      "The snapshot id or a unique prefix (default: the latest)");
  restore->add_option("--at", restore_flags->at,
                      "Instead: the latest snapshot listed at or before this date-time");
  restore->add_option("--to", restore_flags->to, "The new node's data directory")->required();
  restore
      ->add_option("--key-file", restore_flags->key_file,
                   "The new node's key file (created if absent)")
      ->required();
  restore->add_option("--store", restore_flags->store_url,
                      "Restore into this store URL instead of SQLite in --to (must be empty)");
  restore->callback([restore_flags, &outcome] { outcome.status = run_restore(*restore_flags); });
}

}  // namespace kavach::cli
