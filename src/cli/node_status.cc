#include "cli/node_status.h"

#include <sys/statvfs.h>

#include <boost/json.hpp>

#include "backup/backup_status.h"
#include "common/time_format.h"

namespace kavach::cli {
namespace {

namespace json = boost::json;

json::object backup_json(const std::filesystem::path& data_dir, std::int64_t now_ms) {
  auto read = backup::read_backup_status(data_dir);
  if (!read) return {{"error", read.error().message}};
  if (!*read) return {};
  const auto& status = **read;
  json::object out{{"repository", status.repository},
                   {"lastSnapshotId", status.last_snapshot_id},
                   {"stale", status.last_snapshot_at_ms == 0 ||
                                 now_ms - status.last_snapshot_at_ms > kBackupStaleMs}};
  if (status.last_snapshot_at_ms != 0) {
    out["lastSnapshotAt"] = format_instant_ms(status.last_snapshot_at_ms);
  }
  if (!status.last_error.empty()) {
    out["lastError"] = {{"at", format_instant_ms(status.last_error_at_ms)},
                        {"detail", status.last_error}};
  }
  if (status.last_verification_at_ms != 0) {
    out["lastVerification"] = {{"at", format_instant_ms(status.last_verification_at_ms)},
                               {"ok", status.last_verification_ok},
                               {"detail", status.last_verification_detail}};
  }
  return out;
}

}  // namespace

json::object node_status(const NodeStatusSources& sources) {
  const auto& config = sources.config;
  const std::int64_t now_ms = unix_ms(sources.node.clock().now());
  const auto ready = sources.readiness();
  json::array roles;
  for (const auto role : config.roles) roles.emplace_back(config::roles_text({role}));
  json::object node{{"ready", ready.has_value()},
                    {"roles", std::move(roles)},
                    {"store", sources.node.store().backend_name()},
                    {"readOnly", config.emergency.read_only},
                    {"startedAt", format_instant_ms(sources.started_at_ms)}};
  if (!ready) node["reason"] = ready.error().message;

  const auto checkpoint = sources.log.latest_checkpoint();
  json::array witnesses;
  for (const auto& witness : config.audit.witnesses) witnesses.emplace_back(witness.url);
  const bool cosigned = checkpoint && sources.cosignatures != nullptr &&
                        sources.cosignatures->cosigned_note().starts_with(checkpoint->note) &&
                        sources.cosignatures->cosigned_note().size() > checkpoint->note.size();
  json::object audit{{"treeSize", checkpoint ? checkpoint->size : 0},
                     {"witnesses", std::move(witnesses)},
                     {"cosigned", cosigned}};

  json::object storage;
  struct statvfs space {};
  if (::statvfs(config.data_dir.c_str(), &space) == 0) {
    storage["freeBytes"] = static_cast<std::uint64_t>(space.f_bavail) * space.f_frsize;
    storage["totalBytes"] = static_cast<std::uint64_t>(space.f_blocks) * space.f_frsize;
  }
  const auto& ring = sources.node.key_ring();
  json::object keys{{"keyEncryptionKeys", ring.keys().size()}, {"activeKek", ring.active().id}};

  return {{"node", std::move(node)},
          {"backup", backup_json(config.data_dir, now_ms)},
          {"audit", std::move(audit)},
          {"storage", std::move(storage)},
          {"keys", std::move(keys)}};
}

}  // namespace kavach::cli
