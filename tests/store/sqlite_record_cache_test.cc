// The SQLite store's record cache (store/sqlite/record_cache.h): the cache on its own, and two
// stores on one file (a server and a CLI process) reading each other's writes through it.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/sqlite/record_cache.h"
#include "store/sqlite/sqlite_store.h"
#include "support/temp_dir.h"

namespace kavach::store::sqlite {
namespace {

RecordVersion observation(std::string id, std::int64_t version, std::size_t payload_bytes = 100) {
  RecordVersion record;
  record.partition = "p";
  record.type = "Observation";
  record.id = std::move(id);
  record.version = version;
  record.sequence = version;
  record.payload = Bytes(payload_bytes, static_cast<std::uint8_t>(version));
  return record;
}

using Changed = std::vector<std::pair<std::string, std::string>>;

// A change feed for catch_up that says `changed` were written, and counts its calls.
struct Feed {
  Changed changed;
  int calls = 0;
  RecordCache::ChangedRecords function() {
    return [this](std::int64_t, std::int64_t) -> Result<Changed> {
      ++calls;
      return changed;
    };
  }
};

// A cache of 1 MiB at sequence `start`, holding Observation a.
class RecordCacheTest : public ::testing::Test {
 protected:
  void start_at(std::int64_t start) {
    ASSERT_EQ(cache_.catch_up(start, feed_.function()), true);
    cache_.insert(start, observation("a", 1));
  }
  RecordCache cache_{1 << 20};
  Feed feed_;
};

TEST_F(RecordCacheTest, ServesOnlyTheSnapshotItIsAt) {
  start_at(5);
  ASSERT_TRUE(cache_.find(5, "Observation", "a"));
  EXPECT_EQ(cache_.find(5, "Observation", "a")->payload, observation("a", 1).payload);
  EXPECT_FALSE(cache_.find(5, "Observation", "b"));
  EXPECT_FALSE(cache_.find(5, "Patient", "a"));
  // An older snapshot may not use it, and what it read is not kept.
  EXPECT_EQ(cache_.catch_up(4, feed_.function()), false);
  EXPECT_FALSE(cache_.find(4, "Observation", "a"));
  cache_.insert(4, observation("c", 1));
  EXPECT_FALSE(cache_.find(5, "Observation", "c"));
  EXPECT_EQ(feed_.calls, 0);
}

TEST_F(RecordCacheTest, CatchingUpForgetsTheRecordsWrittenSince) {
  start_at(5);
  cache_.insert(5, observation("b", 1));
  feed_.changed = {{"Observation", "a"}, {"Patient", "b"}};
  ASSERT_EQ(cache_.catch_up(7, feed_.function()), true);
  EXPECT_EQ(feed_.calls, 1);
  EXPECT_FALSE(cache_.find(7, "Observation", "a"));
  EXPECT_TRUE(cache_.find(7, "Observation", "b"));  // a Patient b was written, not this one
  // A record read in the old snapshot, after the catch-up, is not kept for the new one.
  cache_.insert(5, observation("a", 1));
  EXPECT_FALSE(cache_.find(7, "Observation", "a"));
  EXPECT_EQ(cache_.records(), 1U);
}

// The change feed is read without the cache's lock, so other readers go on meanwhile: one may keep
// a record it read in the old snapshot, or move the cache on first.
TEST_F(RecordCacheTest, ReadersMeanwhileNeitherLeaveAStaleRecordNorAreUndone) {
  start_at(1);
  const auto keeps_a_stale_b = [&](std::int64_t, std::int64_t) -> Result<Changed> {
    cache_.insert(1, observation("b", 1));  // read at 1, written again at 2
    return Changed{{"Observation", "b"}};
  };
  ASSERT_EQ(cache_.catch_up(2, keeps_a_stale_b), true);
  EXPECT_FALSE(cache_.find(2, "Observation", "b"));
  EXPECT_TRUE(cache_.find(2, "Observation", "a"));

  const auto moved_on_first = [&](std::int64_t, std::int64_t) -> Result<Changed> {
    EXPECT_EQ(cache_.catch_up(4, feed_.function()), true);
    return Changed{};
  };
  EXPECT_EQ(cache_.catch_up(3, moved_on_first), false);  // it serves 4 now, not 3
  EXPECT_TRUE(cache_.find(4, "Observation", "a"));
}

TEST_F(RecordCacheTest, FarBehindItEmptiesInsteadOfAskingWhatChanged) {
  start_at(1);
  ASSERT_EQ(cache_.catch_up(2 + RecordCache::kChangesCaughtUpMax, feed_.function()), true);
  EXPECT_EQ(feed_.calls, 0);
  EXPECT_EQ(cache_.records(), 0U);
  EXPECT_EQ(cache_.bytes(), 0U);
}

TEST_F(RecordCacheTest, AFailedCatchUpLeavesItWhereItWas) {
  start_at(1);
  const auto failing = [](std::int64_t, std::int64_t) -> Result<Changed> {
    return make_error(ErrorCode::kUnavailable, "the database is locked");
  };
  EXPECT_FALSE(cache_.catch_up(2, failing));
  EXPECT_FALSE(cache_.find(2, "Observation", "a"));
  EXPECT_TRUE(cache_.find(1, "Observation", "a"));
}

TEST(RecordCacheBoundsTest, EvictsTheLeastRecentlyUsedBeyondItsBytes) {
  constexpr std::size_t kBytes = 64 * 1024;
  RecordCache cache(kBytes);
  Feed feed;
  ASSERT_EQ(cache.catch_up(1, feed.function()), true);
  const auto name = [](std::size_t i) { return "r" + std::to_string(i); };
  cache.insert(1, observation(name(0), 1, 700));
  const std::size_t fit = kBytes / cache.bytes();
  ASSERT_GT(fit, 2U);
  for (std::size_t i = 1; i < fit; ++i) cache.insert(1, observation(name(i), 1, 700));
  ASSERT_EQ(cache.records(), fit);
  ASSERT_TRUE(cache.find(1, "Observation", name(0)));  // r0 is now the most recently used
  cache.insert(1, observation(name(fit), 1, 700));
  EXPECT_EQ(cache.records(), fit);
  EXPECT_LE(cache.bytes(), kBytes);
  EXPECT_TRUE(cache.find(1, "Observation", name(0)));
  EXPECT_FALSE(cache.find(1, "Observation", name(1)));
  EXPECT_TRUE(cache.find(1, "Observation", name(2)));
  EXPECT_TRUE(cache.find(1, "Observation", name(fit)));
}

TEST(RecordCacheBoundsTest, KeepsNoRecordOfMoreThanASixtyFourthOfItsBytes) {
  RecordCache cache(64 * 1024);
  Feed feed;
  ASSERT_EQ(cache.catch_up(1, feed.function()), true);
  cache.insert(1, observation("small", 1, 100));
  cache.insert(1, observation("large", 1, 2000));
  EXPECT_TRUE(cache.find(1, "Observation", "small"));
  EXPECT_FALSE(cache.find(1, "Observation", "large"));
}

TEST_F(RecordCacheTest, ReinsertingARecordReplacesIt) {
  start_at(1);
  const auto bytes = cache_.bytes();
  cache_.insert(1, observation("a", 1));
  EXPECT_EQ(cache_.records(), 1U);
  EXPECT_EQ(cache_.bytes(), bytes);
}

TEST(RecordCacheBoundsTest, ZeroBytesTurnsItOff) {
  RecordCache cache(0);
  Feed feed;
  EXPECT_EQ(cache.catch_up(1, feed.function()), false);
  cache.insert(1, observation("a", 1));
  EXPECT_FALSE(cache.find(1, "Observation", "a"));
}

RecordWrite write_of(const std::string& id, std::int64_t version, std::string text) {
  RecordWrite write;
  write.record.partition = "p";
  write.record.type = "Observation";
  write.record.id = id;
  write.record.version = version;
  write.record.payload = Bytes(text.begin(), text.end());
  write.expected_version = version - 1;
  return write;
}

Status commit_one(Store& store, RecordWrite write) {
  WriteBatch batch;
  batch.records.push_back(std::move(write));
  return store.commit(std::move(batch)).map([](const CommitReceipt&) {});
}

std::string payload_of(Store& store, const std::string& id) {
  auto record = store.read_current("Observation", id);
  EXPECT_TRUE(record) << record.error().message;
  if (!record || !*record) return "(none)";
  return std::string((*record)->payload.begin(), (*record)->payload.end()) +
         ((*record)->deleted ? " (deleted)" : "");
}

class SqliteRecordCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = SqliteStore::open(dir_.path() / "store.db");
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    auto cli = SqliteStore::open(dir_.path() / "store.db");
    ASSERT_TRUE(cli) << cli.error().message;
    cli_ = std::move(*cli);
  }
  kavach::testing::TempDir dir_;
  std::unique_ptr<SqliteStore> server_;
  std::unique_ptr<SqliteStore> cli_;
};

TEST_F(SqliteRecordCacheTest, AReadAfterAnotherProcessWroteSeesTheWrite) {
  ASSERT_TRUE(commit_one(*server_, write_of("a", 1, "first")));
  ASSERT_TRUE(commit_one(*server_, write_of("b", 1, "other")));
  EXPECT_EQ(payload_of(*server_, "a"), "first");  // now cached
  EXPECT_EQ(payload_of(*server_, "b"), "other");
  ASSERT_TRUE(commit_one(*cli_, write_of("a", 2, "second")));
  EXPECT_EQ(payload_of(*server_, "a"), "second");
  EXPECT_EQ(payload_of(*server_, "b"), "other");
  auto tombstone = write_of("b", 2, "gone");
  tombstone.record.deleted = true;
  ASSERT_TRUE(commit_one(*cli_, std::move(tombstone)));
  const std::vector<std::string> ids = {"a", "b", "missing"};
  const auto many = server_->read_current_many("Observation", ids);
  ASSERT_TRUE(many) << many.error().message;
  ASSERT_EQ(many->size(), 2U);
  EXPECT_EQ((*many)[0].version, 2);
  EXPECT_EQ((*many)[1].id, "b");
  EXPECT_TRUE((*many)[1].deleted);
}

TEST_F(SqliteRecordCacheTest, ManyWritesElsewhereEmptyItRatherThanLeaveItStale) {
  ASSERT_TRUE(commit_one(*server_, write_of("a", 1, "first")));
  EXPECT_EQ(payload_of(*server_, "a"), "first");
  WriteBatch batch;
  batch.records.push_back(write_of("a", 2, "second"));
  for (std::size_t i = 0; i < RecordCache::kChangesCaughtUpMax; ++i) {
    batch.records.push_back(write_of("filler-" + std::to_string(i), 1, "x"));
  }
  ASSERT_TRUE(cli_->commit(std::move(batch)));
  EXPECT_EQ(payload_of(*server_, "a"), "second");
}

TEST_F(SqliteRecordCacheTest, AHeldSnapshotKeepsReadingWhatItSaw) {
  ASSERT_TRUE(commit_one(*server_, write_of("a", 1, "first")));
  {
    const auto reads = server_->hold_reads();
    EXPECT_EQ(payload_of(*server_, "a"), "first");
    ASSERT_TRUE(commit_one(*cli_, write_of("a", 2, "second")));
    // Another thread, in a snapshot of its own, catches the cache up to the write...
    std::thread([&] { EXPECT_EQ(payload_of(*server_, "a"), "second"); }).join();
    // ...which this snapshot does not show, so the cache must not answer it.
    EXPECT_EQ(payload_of(*server_, "a"), "first");
  }
  EXPECT_EQ(payload_of(*server_, "a"), "second");
}

}  // namespace
}  // namespace kavach::store::sqlite
