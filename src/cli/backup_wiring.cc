#include "cli/backup_wiring.h"

#include <cctype>
#include <iostream>

#include <fmt/format.h>

#include "audit/audit_log.h"
#include "audit/log_verifier.h"
#include "backup/backup_key.h"
#include "common/private_file.h"
#include "common/time_format.h"
#include "crypto/key_ring.h"
#include "http/backup_client.h"
#include "store/store_factory.h"

namespace kavach::cli {
Result<std::string> read_client_token(const std::filesystem::path& path) {
  if (path.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "a backup server needs --token-file");
  }
  ASSIGN_OR_RETURN(std::string token, read_private_file(path, "backup client token"));
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < 32) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("the token in {} is shorter than 32 characters", path.string()));
  }
  return token;
}

bool is_repository_url(std::string_view repo) {
  return repo.starts_with("http://") || repo.starts_with("https://");
}

Result<std::unique_ptr<backup::Repository>> open_repository(const RepositoryFlags& flags,
                                                            const Clock& clock) {
  if (!is_repository_url(flags.repo)) {
    ASSIGN_OR_RETURN(auto local, backup::DirectoryRepository::open(flags.repo, clock));
    return std::unique_ptr<backup::Repository>(std::move(local));
  }
  ASSIGN_OR_RETURN(auto token, read_client_token(flags.token_file));
  http::ClientOptions options;
  options.ca_file = flags.ca_file;
  options.timeout = std::chrono::seconds(60);
  ASSIGN_OR_RETURN(auto remote,
                   http::RemoteRepository::connect(flags.repo, std::move(token), options));
  return std::unique_ptr<backup::Repository>(std::move(remote));
}

Result<RestoredNode> restore_node(const RepositoryFlags& flags, const std::string& snapshot,
                                  std::optional<std::int64_t> at_ms, const NodeOptions& target) {
  const auto started = std::chrono::steady_clock::now();
  SystemClock clock;
  ASSIGN_OR_RETURN(const auto key, backup::BackupKey::load(flags.backup_key_file));
  ASSIGN_OR_RETURN(auto repository, open_repository(flags, clock));
  ASSIGN_OR_RETURN(const auto chosen, backup::choose_snapshot(*repository, snapshot, at_ms));
  std::error_code error;
  std::filesystem::create_directories(target.data_dir, error);
  // The restored node gets its own key file: the old one may be lost, or in an attacker's hands.
  auto ring = std::filesystem::exists(target.key_file) ? crypto::KeyRing::load(target.key_file)
                                                       : crypto::KeyRing::create(target.key_file);
  if (!ring) return tl::unexpected(ring.error());
  RestoredNode restored;
  {
    const std::string url =
        target.store_url.empty() ? store::default_store_url(target.data_dir) : target.store_url;
    ASSIGN_OR_RETURN(auto store, store::open_store(url));
    ASSIGN_OR_RETURN(restored.report,
                     backup::restore_snapshot(*repository, key, chosen, *store, *ring));
  }
  // The restored audit log must still carry the node's signatures, whole.
  NodeOptions options = target;
  options.read_only = false;
  ASSIGN_OR_RETURN(auto node, Node::open(options));
  ASSIGN_OR_RETURN(const auto signer, audit::node_audit_signer(node->keys(), ""));
  ASSIGN_OR_RETURN(const auto verifier, audit::NoteVerifier::parse(signer.verifier_key()));
  ASSIGN_OR_RETURN(const auto audit, audit::verify_log(node->store(), verifier));
  if (!audit.ok()) {
    return make_error(ErrorCode::kDataLoss,
                      fmt::format("the restored audit log failed verification: {}",
                                  audit.findings.front().message));
  }
  restored.audit_entries = audit.entries;
  restored.audit_checkpoint_size = audit.checkpoint_size;
  restored.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return restored;
}

void print_restore(const RestoredNode& restored) {
  const auto& report = restored.report;
  std::cout << fmt::format(
                   "restored snapshot {} (taken {}, a chain of {}): {} record versions, {} keys "
                   "({} erased, "
                   "{} of them erased after the snapshot), {} audit entries, {} tiles, {} "
                   "checkpoints; each "
                   "read back equal to the snapshot\n"
                   "audit log verified: {} entries against the checkpoint at size {}\n"
                   "recovery time: {:.1f} s (restore and verification)\n",
                   report.snapshot, format_instant_ms(report.snapshot_created_at_ms),
                   report.chain_length, report.record_versions, report.keys, report.erased_keys,
                   report.erased_since_snapshot, report.audit_entries, report.tiles,
                   report.checkpoints, restored.audit_entries, restored.audit_checkpoint_size,
                   static_cast<double>(restored.elapsed.count()) / 1000.0)
            << std::flush;
}

}  // namespace kavach::cli
