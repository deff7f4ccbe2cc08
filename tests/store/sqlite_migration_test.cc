// The SQLite schema's migrations, checked on a database written at an earlier version.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace kavach::store::sqlite
