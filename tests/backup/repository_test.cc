#include "backup/repository.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "support/temp_dir.h"
#include "text_bytes.h"

namespace kavach::backup {
namespace {

constexpr std::int64_t kDayMs = 24LL * 60 * 60 * 1000;

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override { repository_ = *DirectoryRepository::open(dir_.path(), clock_); }

  std::string put(std::string_view content) {
    const Bytes object = bytes(content);
    const std::string id = object_id(object);
    EXPECT_TRUE(repository_->put_object(id, object));
    return id;
  }
  // A snapshot adding one object of its own (its manifest stands in for it here).
  std::string add(std::string_view name, const std::string& parent) {
    const std::string id = put(name);
    EXPECT_TRUE(repository_->add_snapshot(SnapshotEntry{id, parent, {id}, 0}));
    clock_.advance(std::chrono::hours(24));
    return id;
  }

  testing::TempDir dir_;
  ManualClock clock_{TimePoint{std::chrono::seconds{1'800'000'000}}};
  std::unique_ptr<DirectoryRepository> repository_;
};

TEST_F(RepositoryTest, StoresAnObjectOnceReadOnlyAndOnlyUnderItsOwnHash) {
  const std::string id = put("object one");
  EXPECT_EQ(*repository_->get_object(id), bytes("object one"));
  // A second upload of the same object is accepted and changes nothing.
  EXPECT_TRUE(repository_->put_object(id, bytes("object one")));
  // Other bytes under that name (an overwrite), a truncation, and names that are not hashes.
  EXPECT_EQ(repository_->put_object(id, bytes("ransom note")).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(repository_->put_object(id, bytes("object")));
  EXPECT_FALSE(repository_->put_object("../../snapshots.jsonl", bytes("x")));
  EXPECT_EQ(*repository_->get_object(id), bytes("object one"));
  struct stat info {};
  ASSERT_EQ(::stat((dir_.path() / "objects" / id.substr(0, 2) / id).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0444U);
  EXPECT_EQ(*repository_->missing_objects({id, object_id(bytes("absent"))}),
            std::vector<std::string>{object_id(bytes("absent"))});
  EXPECT_EQ(repository_->get_object(object_id(bytes("absent"))).error().code, ErrorCode::kNotFound);
}

TEST_F(RepositoryTest, ListsSnapshotsInOrderOnlyOverStoredObjectsAndListedParents) {
  const auto first = add("first", "");
  const auto second = add("second", first);
  const std::string unstored = object_id(bytes("never stored"));
  EXPECT_FALSE(repository_->add_snapshot(SnapshotEntry{unstored, "", {unstored}, 0}));
  const auto orphan = put("orphan");
  EXPECT_FALSE(repository_->add_snapshot(SnapshotEntry{orphan, unstored, {orphan}, 0}));
  // Listing the same snapshot again (a client's retry) adds nothing.
  EXPECT_TRUE(repository_->add_snapshot(SnapshotEntry{second, first, {second}, 0}));
  const auto listed = *repository_->snapshots();
  ASSERT_EQ(listed.size(), 2U);
  EXPECT_EQ(listed[0].id, first);
  EXPECT_EQ(listed[1].parent, first);
  EXPECT_LT(listed[0].registered_at_ms, listed[1].registered_at_ms);

  // A torn last line (a crash mid-append) is not a snapshot, and the list goes on after it.
  std::ofstream(dir_.path() / "snapshots.jsonl", std::ios::app) << R"({"id":"abc)";
  repository_ = *DirectoryRepository::open(dir_.path(), clock_);
  EXPECT_EQ(repository_->snapshots()->size(), 2U);
}

TEST_F(RepositoryTest, PruneKeepsRetentionAndEveryAncestorOfAKeptSnapshot) {
  EXPECT_EQ(repository_->retention_days(), 30);
  const auto old_full = add("old full", "");
  const auto old_increment = add("old increment", old_full);
  clock_.advance(std::chrono::hours(24 * 40));
  const auto new_full = add("new full", "");
  const auto new_increment = add("new increment", new_full);
  const std::int64_t now = unix_ms(clock_.now());
  // Inside the retention period: refused.
  EXPECT_EQ(repository_->prune(now).error().code, ErrorCode::kFailedPrecondition);
  // Before the new chain: the old chain goes, the new one stays whole.
  const auto report = repository_->prune(now - 31 * kDayMs);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->snapshots_removed, 2U);
  EXPECT_EQ(report->objects_removed, 2U);
  const auto listed = *repository_->snapshots();
  ASSERT_EQ(listed.size(), 2U);
  EXPECT_EQ(listed[0].id, new_full);
  EXPECT_FALSE(repository_->get_object(old_increment));
  EXPECT_TRUE(repository_->get_object(new_increment));

  // A kept increment keeps its old parent, however old.
  ASSERT_TRUE(repository_->set_retention_days(0));
  clock_.advance(std::chrono::hours(24 * 100));
  const auto late = add("late increment", new_increment);
  EXPECT_EQ(repository_->prune(unix_ms(clock_.now()) - kDayMs)->snapshots_removed, 0U);
  EXPECT_EQ(repository_->snapshots()->size(), 3U);
  EXPECT_TRUE(repository_->get_object(late));
}

}  // namespace
}  // namespace kavach::backup
