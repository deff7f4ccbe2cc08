#include "backup/backup_status.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/json_members.h"
#include "common/private_file.h"

namespace kavach::backup {
namespace {

namespace json = boost::json;

}  // namespace

Status write_backup_status(const std::filesystem::path& data_dir, const BackupStatus& status) {
  const json::object body{{"repository", status.repository},
                          {"last_snapshot_id", status.last_snapshot_id},
                          {"last_snapshot_at_ms", status.last_snapshot_at_ms},
                          {"last_error", status.last_error},
                          {"last_error_at_ms", status.last_error_at_ms},
                          {"last_verification_at_ms", status.last_verification_at_ms},
                          {"last_verification_ok", status.last_verification_ok},
                          {"last_verification_detail", status.last_verification_detail}};
  return write_private_file(data_dir / kBackupStatusFile, json::serialize(body) + "\n", false,
                            "backup status");
}

Result<std::optional<BackupStatus>> read_backup_status(const std::filesystem::path& data_dir) {
  const auto path = data_dir / kBackupStatusFile;
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return std::nullopt;
  ASSIGN_OR_RETURN(const auto text, read_private_file(path, "backup status"));
  boost::system::error_code parse_error;
  const auto parsed = json::parse(text, parse_error);
  if (parse_error || !parsed.is_object()) {
    return make_error(ErrorCode::kDataLoss, fmt::format("{} is not valid JSON", path.string()));
  }
  const auto& body = parsed.as_object();
  BackupStatus status;
  status.repository = string_member(body, "repository");
  status.last_snapshot_id = string_member(body, "last_snapshot_id");
  status.last_snapshot_at_ms = integer_member(body, "last_snapshot_at_ms");
  status.last_error = string_member(body, "last_error");
  status.last_error_at_ms = integer_member(body, "last_error_at_ms");
  status.last_verification_at_ms = integer_member(body, "last_verification_at_ms");
  status.last_verification_ok = bool_member(body, "last_verification_ok");
  status.last_verification_detail = string_member(body, "last_verification_detail");
  return status;
}

}  // namespace kavach::backup
