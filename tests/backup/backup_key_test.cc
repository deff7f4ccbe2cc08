#include "backup/backup_key.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "support/temp_dir.h"
#include "text_bytes.h"

namespace kavach::backup {
namespace {

class BackupKeyTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "backup.key";
};

TEST_F(BackupKeyTest, EqualContentsMakeEqualObjectsThatOpenToThem) {
  const auto key = *BackupKey::create(path_);
  const Bytes plaintext = bytes(std::string(10'000, 'a') + "the record");
  const Bytes object = key.seal_object(plaintext);
  EXPECT_EQ(key.seal_object(plaintext), object);  // deduplicates
  EXPECT_NE(key.seal_object(bytes("other")), object);
  EXPECT_LT(object.size(), 1000U);  // compressed before sealing
  EXPECT_EQ(*key.open_object(object), plaintext);
  EXPECT_EQ(object_id(object).size(), 64U);
  EXPECT_TRUE(is_object_id(object_id(object)));
  EXPECT_FALSE(is_object_id("../etc/passwd"));
  EXPECT_FALSE(is_object_id(std::string(64, 'G')));
}

TEST_F(BackupKeyTest, ALoadedKeyOpensWhatTheCreatedOneSealed) {
  const auto created = *BackupKey::create(path_);
  const auto loaded = BackupKey::load(path_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded->open_object(created.seal_object(bytes("x"))), bytes("x"));
  EXPECT_EQ(BackupKey::create(path_).error().code, ErrorCode::kAlreadyExists);
}

TEST_F(BackupKeyTest, AnyChangedByteOrAnotherKeyFailsToOpen) {
  const auto key = *BackupKey::create(path_);
  const auto other = *BackupKey::create(dir_.path() / "other.key");
  const Bytes object = key.seal_object(bytes("patient data"));
  EXPECT_EQ(other.open_object(object).error().code, ErrorCode::kDataLoss);
  for (std::size_t i = 0; i < object.size(); ++i) {
    Bytes changed = object;
    changed[i] ^= 0x80;
    EXPECT_FALSE(key.open_object(changed)) << "byte " << i;
  }
  EXPECT_FALSE(key.open_object(Bytes(object.begin(), object.begin() + 20)));
  EXPECT_FALSE(key.open_object({}));
}

TEST_F(BackupKeyTest, RefusesAKeyFileOthersCanReadOrThatIsMalformed) {
  ASSERT_TRUE(BackupKey::create(path_));
  ::chmod(path_.c_str(), 0644);
  EXPECT_EQ(BackupKey::load(path_).error().code, ErrorCode::kFailedPrecondition);
  const auto bad = dir_.path() / "bad.key";
  std::ofstream(bad) << "kavach-backup-key v1\nkey 1234\n";
  ::chmod(bad.c_str(), 0600);
  EXPECT_EQ(BackupKey::load(bad).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(BackupKey::load(dir_.path() / "absent.key"));
}

}  // namespace
}  // namespace kavach::backup
