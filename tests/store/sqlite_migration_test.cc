// The SQLite schema's migrations, checked on a database written at an earlier version.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "store/sqlite/sqlite_connection.h"
#include "store/sqlite/sqlite_store.h"
#include "support/temp_dir.h"

namespace kavach::store::sqlite {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string text(const Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

// A payload the size of a sealed clinical record: the version-3 layout kept it in an overflow page.
std::string payload_of(const std::string& id, std::int64_t version) {
  return fmt::format("{}/{}:", id, version) + std::string(1500, 'x');
}

RecordWrite write_of(const std::string& id, std::int64_t version) {
  RecordWrite write;
  write.record.partition = "Patient/" + id;
  write.record.type = "Observation";
  write.record.id = id;
  write.record.version = version;
  write.record.recorded_at_ms = 1000 * version;
  const auto payload = payload_of(id, version);
  write.record.payload.assign(payload.begin(), payload.end());
  write.expected_version = version - 1;
  const std::string code = "code-of-" + id;
  write.index.push_back(IndexEntry{"code", Bytes(code.begin(), code.end())});
  return write;
}

Result<CommitReceipt> commit_one(Store& store, RecordWrite write) {
  WriteBatch batch;
  batch.records.push_back(std::move(write));
  return store.commit(std::move(batch));
}

// Pages the records table spilled rows into: one for each payload too large for the table's page.
std::int64_t overflow_pages(Connection& connection) {
  auto statement = connection.prepare(
      "SELECT count(*) FROM dbstat WHERE name = 'records' AND pagetype = 'overflow'");
  EXPECT_TRUE(statement);
  if (!statement) return -1;
  EXPECT_TRUE(statement->step());
  return statement->column_int(0);
}

TEST(SqliteMigrationTest, RecordsWrittenAtVersionThreeReadTheSameAfterTheMoveToSequenceKeys) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  {
    auto old = SqliteStore::open(path, {.schema_version = 3});
    ASSERT_TRUE(old) << old.error().message;
    ASSERT_EQ((*old)->schema_version(), 3);
    for (const std::string id : {"c", "a", "b"}) {
      for (std::int64_t version = 1; version <= 2; ++version) {
        ASSERT_TRUE(commit_one(**old, write_of(id, version)));
      }
    }
    auto raw = Connection::open(path);
    ASSERT_TRUE(raw);
    ASSERT_GT(overflow_pages(*raw), 0);
  }

  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), SqliteStore::kSchemaVersion);
  auto current = (*store)->read_current("Observation", "a");
  ASSERT_TRUE(current && *current);
  EXPECT_EQ((*current)->version, 2);
  EXPECT_EQ(text((*current)->payload), payload_of("a", 2));
  auto first = (*store)->read_version("Observation", "b", 1);
  ASSERT_TRUE(first && *first);
  EXPECT_EQ(text((*first)->payload), payload_of("b", 1));
  // The change feed keeps its order: c1 c2 a1 a2 b1 b2.
  auto changes = (*store)->changes_since(0, 10);
  ASSERT_TRUE(changes);
  std::vector<std::string> order;
  for (const auto& record : *changes) {
    order.push_back(fmt::format("{}{}@{}", record.id, record.version, record.sequence));
  }
  EXPECT_THAT(order, ElementsAre("c1@1", "c2@2", "a1@3", "a2@4", "b1@5", "b2@6"));
  const std::string code = "code-of-b";
  auto found =
      (*store)->find(IndexQuery{"Observation", {"code", Bytes(code.begin(), code.end())}, "", 100});
  ASSERT_TRUE(found);
  EXPECT_THAT(*found, ElementsAre("b"));

  // New versions continue the sequence, a stale version is still refused, and history is still
  // append-only.
  auto receipt = commit_one(**store, write_of("a", 3));
  ASSERT_TRUE(receipt) << receipt.error().message;
  EXPECT_EQ(receipt->first_sequence, 7);
  auto refused = commit_one(**store, write_of("a", 3));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  auto duplicate = write_of("a", 3);
  duplicate.expected_version = kAnyVersion;  // only the unique index stands in its way
  EXPECT_FALSE(commit_one(**store, std::move(duplicate)));

  auto raw = Connection::open(path);
  ASSERT_TRUE(raw);
  EXPECT_EQ(overflow_pages(*raw), 0);
  auto update = raw->execute("UPDATE records SET payload = x'00' WHERE id = 'a'");
  ASSERT_FALSE(update);
  EXPECT_THAT(update.error().message, HasSubstr("append-only"));
  auto remove = raw->execute("DELETE FROM records WHERE id = 'a'");
  ASSERT_FALSE(remove);
  EXPECT_THAT(remove.error().message, HasSubstr("append-only"));
}

std::int64_t count_of(Connection& connection, const std::string& sql) {
  auto statement = connection.prepare(sql);
  EXPECT_TRUE(statement);
  if (!statement) return -1;
  EXPECT_TRUE(statement->step());
  return statement->column_int(0);
}

IndexEntry entry_of(const std::string& name, const std::string& value) {
  return IndexEntry{name, Bytes(value.begin(), value.end())};
}

// Schema 6 keeps each record's entries in one row of record_index_entries instead of indexing
// record_index by record: the migration fills it from the rows already there, and merges after it
// replace a record's rows from it.
TEST(SqliteMigrationTest, IndexRowsWrittenAtVersionFiveAreReplacedThroughTheirEntriesRow) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  {
    auto old = SqliteStore::open(path, {.schema_version = 5});
    ASSERT_TRUE(old) << old.error().message;
    for (const std::string id : {"a", "b"}) {
      auto first = write_of(id, 1);
      first.index.push_back(entry_of("status", "preliminary"));
      ASSERT_TRUE(commit_one(**old, std::move(first)));
      auto second = write_of(id, 2);
      second.index.push_back(entry_of("status", "final"));
      ASSERT_TRUE(commit_one(**old, std::move(second)));
    }
  }

  auto store = SqliteStore::open(path, {.journal_idle_merge_after = std::chrono::milliseconds{5}});
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), SqliteStore::kSchemaVersion);
  {
    auto raw = Connection::open(path);
    ASSERT_TRUE(raw);
    EXPECT_EQ(count_of(*raw,
                       "SELECT count(*) FROM sqlite_master WHERE name = "
                       "'record_index_by_record'"),
              0);
    EXPECT_EQ(count_of(*raw, "SELECT count(*) FROM record_index_entries"), 2);
  }
  EXPECT_THAT(*(*store)->index_entries("Observation", "a"),
              ElementsAre(entry_of("code", "code-of-a"), entry_of("status", "final")));

  // A new version through the journal and a merge: the rows it no longer has are gone, its new
  // and kept ones are found, and the other record is untouched.
  auto third = write_of("a", 3);
  third.index = {entry_of("status", "amended")};
  ASSERT_TRUE(commit_one(**store, std::move(third)));
  auto raw = Connection::open(path);
  ASSERT_TRUE(raw);
  // The idle writer merges the journal down; the queries below then read record_index alone.
  const auto merged = [&] {
    for (int wait = 0; wait < 500; ++wait) {
      if (count_of(*raw, "SELECT count(*) FROM index_journal") == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    return false;
  };
  ASSERT_TRUE(merged());
  const auto find = [&](const std::string& name, const std::string& value) {
    return *(*store)->find(IndexQuery{"Observation", entry_of(name, value), "", 10});
  };
  EXPECT_THAT(find("status", "amended"), ElementsAre("a"));
  EXPECT_THAT(find("status", "final"), ElementsAre("b"));
  EXPECT_THAT(find("code", "code-of-a"), ::testing::IsEmpty());
  EXPECT_THAT(find("code", "code-of-b"), ElementsAre("b"));
  EXPECT_THAT(*(*store)->index_entries("Observation", "a"),
              ElementsAre(entry_of("status", "amended")));
  EXPECT_EQ(count_of(*raw, "SELECT count(*) FROM record_index WHERE id = 'a'"), 1);

  // A tombstone removes the record's rows and its entries row.
  auto tombstone = write_of("b", 3);
  tombstone.record.deleted = true;
  ASSERT_TRUE(commit_one(**store, std::move(tombstone)));
  ASSERT_TRUE(merged());
  EXPECT_THAT(find("status", "final"), ::testing::IsEmpty());
  EXPECT_EQ(count_of(*raw, "SELECT count(*) FROM record_index WHERE id = 'b'"), 0);
  EXPECT_EQ(count_of(*raw, "SELECT count(*) FROM record_index_entries WHERE id = 'b'"), 0);
}

// Schema 7 drops the _type and _lastUpdated entries (searches read the records' own type and time
// instead): from the index, the entries rows and the journal alike.
TEST(SqliteMigrationTest, TypeAndLastUpdatedEntriesWrittenAtVersionSixAreDropped) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  const auto with_metadata = [](const std::string& id) {
    auto write = write_of(id, 1);
    write.index.push_back(entry_of("_type", "Observation"));
    write.index.push_back(entry_of("_lastUpdated", "sD1970-01-01"));
    return write;
  };
  {
    // Merged after every commit: a's entries are in record_index.
    auto old = SqliteStore::open(
        path, {.schema_version = 6, .journal_records_max = 1, .journal_merge_records = 1});
    ASSERT_TRUE(old) << old.error().message;
    ASSERT_TRUE(commit_one(**old, with_metadata("a")));
    // A record with no other entries, as a Binary has.
    auto bare = with_metadata("y");
    bare.index.erase(bare.index.begin());  // its code
    ASSERT_TRUE(commit_one(**old, std::move(bare)));
    ASSERT_TRUE(commit_one(**old, write_of("z", 1)));
  }
  {
    // Closed before an idle merge: b's entries are still in the journal.
    auto old = SqliteStore::open(
        path, {.schema_version = 6, .journal_idle_merge_after = std::chrono::hours{1}});
    ASSERT_TRUE(old) << old.error().message;
    ASSERT_TRUE(commit_one(**old, with_metadata("b")));
    auto bare = with_metadata("x");
    bare.index.erase(bare.index.begin());
    ASSERT_TRUE(commit_one(**old, std::move(bare)));
  }
  {
    auto raw = Connection::open(path);
    ASSERT_TRUE(raw);
    ASSERT_GT(count_of(*raw, "SELECT count(*) FROM record_index WHERE name = '_type'"), 0);
    ASSERT_EQ(count_of(*raw, "SELECT count(*) FROM record_index_entries WHERE id = 'y'"), 1);
    ASSERT_EQ(count_of(*raw, "SELECT count(*) FROM index_journal WHERE id = 'b'"), 1);
  }

  auto store = SqliteStore::open(path, {.journal_idle_merge_after = std::chrono::hours{1}});
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), SqliteStore::kSchemaVersion);
  auto raw = Connection::open(path);
  ASSERT_TRUE(raw);
  EXPECT_EQ(
      count_of(*raw, "SELECT count(*) FROM record_index WHERE name IN ('_type', '_lastUpdated')"),
      0);
  EXPECT_EQ(count_of(*raw, "SELECT count(*) FROM index_journal WHERE id = 'b'"), 1);
  EXPECT_EQ(count_of(*raw, "SELECT count(*) FROM record_index_entries WHERE id = 'y'"), 0);
  EXPECT_EQ(count_of(*raw, "SELECT count(*) FROM record_index_entries WHERE length(entries) = 0"),
            0);
  EXPECT_THAT(*(*store)->index_entries("Observation", "y"), ::testing::IsEmpty());
  EXPECT_THAT(*(*store)->index_entries("Observation", "x"), ::testing::IsEmpty());
  for (const std::string id : {"a", "b"}) {
    EXPECT_THAT(*(*store)->index_entries("Observation", id),
                ElementsAre(entry_of("code", "code-of-" + id)))
        << id;
  }
  EXPECT_THAT(*(*store)->find(IndexQuery{"Observation", entry_of("code", "code-of-b"), "", 10}),
              ElementsAre("b"));
  EXPECT_THAT(*(*store)->find(IndexQuery{"Observation", entry_of("_type", "Observation"), "", 10}),
              ::testing::IsEmpty());
  EXPECT_THAT(*(*store)->find_recorded("Observation", RecordedRange{}, "", 10),
              ElementsAre("a", "b", "x", "y", "z"));
}

// Schema 8 keeps the vault's digest of each payload beside it. Versions written before read back
// without one (the vault then hashes their payloads); versions written after keep theirs, and a
// store still at schema 7 writes and reads records as it did.
TEST(SqliteMigrationTest, RecordsWrittenAtVersionSevenReadBackWithoutADigestAndNewOnesKeepTheirs) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  const Bytes digest(32, 0x5a);
  {
    auto old = SqliteStore::open(path, {.schema_version = 7});
    ASSERT_TRUE(old) << old.error().message;
    auto write = write_of("a", 1);
    write.record.payload_sha256 = digest;  // no column for it yet: not kept
    ASSERT_TRUE(commit_one(**old, std::move(write)));
    auto read = (*old)->read_current("Observation", "a");
    ASSERT_TRUE(read && *read);
    EXPECT_EQ(text((*read)->payload), payload_of("a", 1));
    EXPECT_THAT((*read)->payload_sha256, ::testing::IsEmpty());
  }
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), SqliteStore::kSchemaVersion);
  auto write = write_of("a", 2);
  write.record.payload_sha256 = digest;
  ASSERT_TRUE(commit_one(**store, std::move(write)));
  auto first = (*store)->read_version("Observation", "a", 1);
  ASSERT_TRUE(first && *first);
  EXPECT_EQ(text((*first)->payload), payload_of("a", 1));
  EXPECT_THAT((*first)->payload_sha256, ::testing::IsEmpty());
  auto second = (*store)->read_current("Observation", "a");
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->version, 2);
  EXPECT_EQ((*second)->payload_sha256, digest);
}

}  // namespace
}  // namespace kavach::store::sqlite
