#include "backup/verifier.h"

#include <charconv>
#include <map>
#include <set>

#include <fmt/format.h>

#include "audit/audit_log.h"
#include "audit/log_verifier.h"
#include "backup/backup_writer.h"
#include "backup/restorer.h"
#include "backup/snapshot_format.h"
#include "crypto/sodium.h"
#include "store/sqlite/sqlite_store.h"

namespace kavach::backup {
namespace {

// Decodes an object by what the manifest says it is, so a readable object of the wrong kind or
// with a damaged framing is found too.
Status decode_as(std::string_view kind, std::span<const std::uint8_t> plaintext) {
  if (kind == "records") return decode_records(plaintext).map([](auto&&) {});
  if (kind == "keys") return decode_keys(plaintext).map([](auto&&) {});
  if (kind == "audit") return decode_audit_entries(plaintext).map([](auto&&) {});
  if (kind == "tiles") return decode_tiles(plaintext).map([](auto&&) {});
  return decode_checkpoints(plaintext).map([](auto&&) {});
}

// The audit verifier the snapshot's own keys give (when the operator names none).
Result<std::string> verifier_key_from_snapshot(Repository& repository, const BackupKey& key,
                                               const Manifest& manifest) {
  for (const auto& chunk : manifest.key_chunks) {
    ASSIGN_OR_RETURN(Bytes plaintext, fetch_object(repository, key, chunk));
    auto keys = decode_keys(plaintext);
    crypto::wipe(plaintext);
    if (!keys) return tl::unexpected(keys.error());
    for (const auto& entry : *keys) {
      if (entry.name != audit::kAuditSigningKey || entry.key.empty()) continue;
      ASSIGN_OR_RETURN(const auto signer, audit::node_audit_signer_from_seed(entry.key, ""));
      return signer.verifier_key();
    }
  }
  return make_error(ErrorCode::kNotFound, "the snapshot holds no audit signing key");
}

}  // namespace

bool ReadShare::contains(std::string_view object_id) const {
  if (of <= 1) return true;
  std::uint32_t prefix = 0;
  std::from_chars(object_id.data(), object_id.data() + std::min<std::size_t>(8, object_id.size()),
                  prefix, 16);
  // The id is a hash, so its leading bits spread objects evenly over the slices.
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(prefix) * of) >> 32) == index - 1;
}

Result<ReadShare> parse_read_share(std::string_view text) {
  ReadShare share;
  const auto slash = text.find('/');
  const auto parse = [](std::string_view part, std::uint32_t& out) {
    const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), out);
    return error == std::errc() && end == part.data() + part.size();
  };
  if (slash == std::string_view::npos || !parse(text.substr(0, slash), share.index) ||
      !parse(text.substr(slash + 1), share.of) || share.of == 0 || share.index == 0 ||
      share.index > share.of) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--read-data-subset takes n/m with 1 <= n <= m, not {}", text));
  }
  return share;
}

Result<RepositoryVerifyReport> verify_repository(Repository& repository, const BackupKey& key,
                                                 const RepositoryVerifyOptions& options) {
  RepositoryVerifyReport report;
  ASSIGN_OR_RETURN(const auto snapshots, repository.snapshots());
  report.snapshots = snapshots.size();
  if (snapshots.empty()) {
    report.problems.push_back("the repository holds no snapshot");
    return report;
  }

  // Manifests and the chain: each opens, extends a snapshot listed before it, and grows.
  std::map<std::string, std::string> kind_of;  // object id -> what the manifest says it is
  std::map<std::string, Manifest> manifests;
  for (const auto& snapshot : snapshots) {
    auto chain = snapshot_chain(repository, key, snapshot.id);
    if (!chain) {
      report.problems.push_back(fmt::format("snapshot {}: {}", snapshot.id, chain.error().message));
      continue;
    }
    const Manifest& manifest = chain->back().second;
    if (!manifest.parent.empty() && !manifests.contains(manifest.parent)) {
      report.problems.push_back(fmt::format("snapshot {} extends {}, which is not listed before it",
                                            snapshot.id, manifest.parent));
    }
    for (const auto& id : manifest.record_segments) kind_of[id] = "records";
    for (const auto& id : manifest.key_chunks) kind_of[id] = "keys";
    for (const auto& id : manifest.audit_segments) kind_of[id] = "audit";
    for (const auto& id : manifest.tile_segments) kind_of[id] = "tiles";
    for (const auto& id : manifest.checkpoint_segments) kind_of[id] = "checkpoints";
    manifests.emplace(snapshot.id, manifest);
  }
  report.objects = kind_of.size();

  // Objects: all present; this run's share read whole.
  std::vector<std::string> ids;
  for (const auto& [id, kind] : kind_of) ids.push_back(id);
  ASSIGN_OR_RETURN(const auto missing, repository.missing_objects(ids));
  const std::set<std::string> absent(missing.begin(), missing.end());
  for (const auto& id : missing) report.problems.push_back(fmt::format("object {} is missing", id));
  for (const auto& [id, kind] : kind_of) {
    if (absent.contains(id) || !options.share.contains(id)) continue;
    ++report.objects_read;
    auto plaintext = fetch_object(repository, key, id);
    if (!plaintext) {
      report.problems.push_back(plaintext.error().message);
      continue;
    }
    const auto decoded = decode_as(kind, *plaintext);
    crypto::wipe(*plaintext);
    if (!decoded)
      report.problems.push_back(fmt::format("object {}: {}", id, decoded.error().message));
  }

  // The latest snapshot's audit log, rebuilt and checked against the node's signatures.
  const auto& latest_id = snapshots.back().id;
  const auto latest = manifests.find(latest_id);
  if (latest == manifests.end()) return report;  // its chain failed, reported above
  std::string verifier_key = options.audit_verifier_key;
  if (verifier_key.empty()) {
    auto derived = verifier_key_from_snapshot(repository, key, latest->second);
    if (!derived && latest->second.checkpoints_through_size == 0) {
      return report;  // the node never signed a checkpoint: there is nothing to check against
    }
    if (!derived) {
      report.problems.push_back(fmt::format("audit log: {}", derived.error().message));
      return report;
    }
    verifier_key = *derived;
  }
  ASSIGN_OR_RETURN(const auto verifier, audit::NoteVerifier::parse(verifier_key));
  std::error_code error;
  std::filesystem::remove_all(options.scratch_dir, error);
  std::filesystem::create_directories(options.scratch_dir, error);
  {
    ASSIGN_OR_RETURN(auto scratch,
                     store::sqlite::SqliteStore::open(options.scratch_dir / "audit.db"));
    auto restored = restore_audit_log(repository, key, latest_id, *scratch);
    if (!restored) {
      report.problems.push_back(fmt::format("audit log: {}", restored.error().message));
    } else {
      report.audit_entries = restored->audit_entries;
      audit::VerifyOptions verify_options;
      verify_options.trusted_checkpoint = options.trusted_checkpoint;
      auto checked = audit::verify_log(*scratch, verifier, verify_options);
      if (!checked) {
        report.problems.push_back(fmt::format("audit log: {}", checked.error().message));
      } else {
        report.audit_checkpoint_size = checked->checkpoint_size;
        for (const auto& finding : checked->findings) {
          report.problems.push_back(fmt::format("audit log: {}", finding.message));
        }
      }
    }
  }
  std::filesystem::remove_all(options.scratch_dir, error);
  return report;
}

}  // namespace kavach::backup
