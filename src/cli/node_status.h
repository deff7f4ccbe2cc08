// The node's status for hospital IT (GET /admin/status, the web app's IT screen): whether it
// serves, its roles and store, its last backup and verification (backup/backup_status.h), the
// audit log's checkpoint and whether the witnesses cosigned it, free space beside its data, and
// its key-encryption keys (ids only). Nothing in it is secret or about a patient.
#pragma once

#include <cstdint>
#include <functional>

#include <boost/json/object.hpp>

#include "audit/audit_log.h"
#include "audit/cosignature_collector.h"
#include "cli/node.h"
#include "config/serve_config.h"

namespace kavach::cli {

struct NodeStatusSources {
  const config::ServeConfig& config;
  Node& node;
  const audit::AuditLog& log;
  const audit::CosignatureCollector* cosignatures;  // null without witnesses
  std::function<Status()> readiness;
  std::int64_t started_at_ms = 0;
};

// A last backup older than this is shown as needing attention.
inline constexpr std::int64_t kBackupStaleMs = 60 * 60 * 1000;

boost::json::object node_status(const NodeStatusSources& sources);

}  // namespace kavach::cli
