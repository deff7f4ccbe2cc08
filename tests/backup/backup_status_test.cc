// The backup's last word for hospital IT, written beside the node's data and read back.
#include "backup/backup_status.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace kavach::backup {
namespace {

TEST(BackupStatus, NoneUntilABackupWritesOneThenReadBackWhole) {
  kavach::testing::TempDir dir;
  EXPECT_FALSE(*read_backup_status(dir.path()));
  BackupStatus status;
  status.repository = "https://backup.example:8443";
  status.last_snapshot_id = "a1b2";
  status.last_snapshot_at_ms = 1'800'000'000'000;
  status.last_verification_at_ms = 1'800'000'060'000;
  status.last_verification_ok = false;
  status.last_verification_detail = "object 3f2a fails authentication";
  ASSERT_TRUE(write_backup_status(dir.path(), status));
  const auto read = read_backup_status(dir.path());
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->repository, status.repository);
  EXPECT_EQ((*read)->last_snapshot_id, "a1b2");
  EXPECT_EQ((*read)->last_snapshot_at_ms, status.last_snapshot_at_ms);
  EXPECT_EQ((*read)->last_verification_at_ms, status.last_verification_at_ms);
  EXPECT_FALSE((*read)->last_verification_ok);
  EXPECT_EQ((*read)->last_verification_detail, status.last_verification_detail);
  EXPECT_EQ(std::filesystem::status(dir.path() / kBackupStatusFile).permissions() &
                std::filesystem::perms::group_all,
            std::filesystem::perms::none);
}

TEST(BackupStatus, AGarbledFileIsReportedNotBelieved) {
  kavach::testing::TempDir dir;
  ASSERT_TRUE(write_backup_status(dir.path(), {}));
  std::ofstream(dir.path() / kBackupStatusFile, std::ios::trunc) << "{not json";
  const auto read = read_backup_status(dir.path());
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace kavach::backup
