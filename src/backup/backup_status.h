// The backup's last word for hospital IT: `kavach backup` writes, beside the node's data, when it
// last completed a snapshot and how its last scheduled verification went; the node's status
// report (GET /admin/status, the web app's IT screen) reads it. The file holds no secret and
// nothing about a patient; it is written whole (renamed into place) so a reader never sees half.
// Thread-safety: functions over the file system; one backup process writes each file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/error.h"

namespace kavach::backup {

inline constexpr std::string_view kBackupStatusFile = "backup-status.json";

struct BackupStatus {
  std::string repository;
  std::string last_snapshot_id;
  std::int64_t last_snapshot_at_ms = 0;  // 0: none completed yet
  std::string last_error;                // the latest attempt's failure, "" when it succeeded
  std::int64_t last_error_at_ms = 0;
  std::int64_t last_verification_at_ms = 0;  // 0: none yet
  bool last_verification_ok = false;
  std::string last_verification_detail;
};

Status write_backup_status(const std::filesystem::path& data_dir, const BackupStatus& status);
// nullopt when no backup has written one.
Result<std::optional<BackupStatus>> read_backup_status(const std::filesystem::path& data_dir);

}  // namespace kavach::backup
