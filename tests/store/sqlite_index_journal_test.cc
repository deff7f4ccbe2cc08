// The SQLite index journal (store/sqlite/index_journal.h): its stored form, its in-memory copy,
// and two stores on one file (a server and a CLI process) each seeing the other's writes and
// merges.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "store/sqlite/index_journal.h"
#include "store/sqlite/sqlite_connection.h"
#include "store/sqlite/sqlite_store.h"
#include "support/temp_dir.h"

namespace kavach::store::sqlite {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

IndexEntry entry(std::string name, std::string value) {
  return IndexEntry{std::move(name), Bytes(value.begin(), value.end())};
}

Bytes bytes(std::string text) { return Bytes(text.begin(), text.end()); }

RecordWrite patient(const std::string& id, std::int64_t version, std::vector<IndexEntry> index) {
  RecordWrite write;
  write.record.partition = id;
  write.record.type = "Patient";
  write.record.id = id;
  write.record.version = version;
  write.record.payload = {1};
  write.expected_version = version - 1;
  write.index = std::move(index);
  return write;
}

Status commit_one(Store& store, RecordWrite write) {
  WriteBatch batch;
  batch.records.push_back(std::move(write));
  return store.commit(std::move(batch)).map([](const CommitReceipt&) {});
}

std::vector<std::string> family(Store& store, const std::string& name) {
  auto found = store.find({"Patient", entry("family", name), "", 10});
  EXPECT_TRUE(found) << found.error().message;
  return found ? *found : std::vector<std::string>{};
}

std::int64_t count_rows(const std::filesystem::path& path, const std::string& table) {
  auto connection = Connection::open(path);
  EXPECT_TRUE(connection);
  auto statement = connection->prepare("SELECT count(*) FROM " + table);
  EXPECT_TRUE(statement);
  EXPECT_TRUE(statement->step());
  return statement->column_int(0);
}

// Merges run on the writer thread after the commit that triggers them has been answered.
bool journal_empties(const std::filesystem::path& path) {
  // Up to ten seconds on a loaded machine.
  for (int wait = 0; wait < 500 && count_rows(path, "index_journal") > 0; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return count_rows(path, "index_journal") == 0;
}

TEST(IndexJournalEncodingTest, EntriesComeBackSortedAndOnce) {
  const auto encoded = encode_index_entries(
      {entry("given", "asha"), entry("family", "sharma"), entry("given", "asha"), entry("a", "")});
  const auto decoded = decode_index_entries(encoded);
  ASSERT_TRUE(decoded);
  EXPECT_THAT(*decoded,
              ElementsAre(entry("a", ""), entry("family", "sharma"), entry("given", "asha")));
  EXPECT_THAT(*decode_index_entries(encode_index_entries({})), IsEmpty());
}

// A merge binary-searches a record's entries as views: they must order exactly as the owning
// entries the encoding is sorted by, bytes compared unsigned.
TEST(IndexJournalEncodingTest, ViewsOrderAsTheEntriesTheyView) {
  std::vector<IndexEntry> entries{
      entry("family", "sharma"), entry("family", "shar"), entry("given", "asha"), entry("a", ""),
      entry("a", "\x01"),        entry("a", "\xff"),      entry("a", "\x7f\x80")};
  for (const auto& a : entries) {
    for (const auto& b : entries) {
      EXPECT_EQ(entry_view_less(view_of(a), view_of(b)), index_entry_less(a, b))
          << a.name << " " << b.name;
    }
  }
  const auto encoded = encode_index_entries(entries);
  const auto views = decode_index_entry_views(encoded);
  ASSERT_TRUE(views);
  const auto owned = *decode_index_entries(encoded);
  ASSERT_EQ(views->size(), owned.size());
  for (std::size_t i = 0; i < owned.size(); ++i) {
    EXPECT_EQ((*views)[i].name, owned[i].name);
    EXPECT_TRUE(std::ranges::equal((*views)[i].value, owned[i].value));
  }
  EXPECT_TRUE(std::is_sorted(views->begin(), views->end(), entry_view_less));
}

TEST(IndexJournalEncodingTest, TruncatedBytesAreDataLoss) {
  const auto encoded = encode_index_entries({entry("family", "sharma")});
  for (std::size_t size = 1; size < encoded.size(); ++size) {
    const auto decoded = decode_index_entries(std::span(encoded).first(size));
    ASSERT_FALSE(decoded) << size;
    EXPECT_EQ(decoded.error().code, ErrorCode::kDataLoss);
  }
}

TEST(IndexJournalTest, TheLatestWriteOfARecordReplacesItsEntries) {
  IndexJournal journal;
  journal.add({1, "Patient", "a", "a", {entry("family", "sharma")}});
  journal.add({2, "Patient", "b", "b", {entry("family", "sharma")}});
  journal.add({3, "Patient", "a", "a", {entry("family", "verma")}});
  journal.add({1, "Patient", "a", "a", {entry("family", "stale")}});  // older: ignored
  EXPECT_THAT(journal.find("Patient", "family", bytes("sharma"), "", 10), ElementsAre("b"));
  EXPECT_THAT(journal.find("Patient", "family", bytes("verma"), "", 10), ElementsAre("a"));
  EXPECT_THAT(journal.find("Patient", "family", bytes("stale"), "", 10), IsEmpty());
  EXPECT_THAT(journal.find("Patient", "family", bytes("sharma"), "b", 10), IsEmpty());
  EXPECT_THAT(journal.find("Practitioner", "family", bytes("verma"), "", 10), IsEmpty());
  // A tombstone is held with no entries: the record matches nothing, and still hides older rows.
  journal.add({4, "Patient", "b", "b", {}});
  EXPECT_TRUE(journal.holds("Patient", "b"));
  EXPECT_THAT(*journal.entries("Patient", "b"), IsEmpty());
  EXPECT_EQ(journal.entries("Patient", "c"), nullptr);
  // Merged through 3: a's write (3) is in the index table now; b's tombstone (4) is not.
  journal.drop_merged(3);
  EXPECT_FALSE(journal.holds("Patient", "a"));
  EXPECT_TRUE(journal.holds("Patient", "b"));
  EXPECT_EQ(journal.records(), 1U);
}

TEST(IndexJournalTest, InKeyOrderSortsAsIndexKeyLess) {
  // Values sharing their first 8 bytes, values shorter than 8 bytes (one a prefix of another, one
  // ending in zero bytes), several types and names, and rows equal but for the id.
  const std::vector<std::string> values = {"",          "a",        std::string("a\0", 2),
                                           "ab",        "abcdefgh", "abcdefghA",
                                           "abcdefghB", "\xff\x01", "zzzzzzzzzzzz"};
  std::vector<IndexRow> rows;
  std::mt19937 random(7);
  for (int i = 0; i < 500; ++i) {
    const auto& value = values[random() % values.size()];
    rows.push_back(
        IndexRow{"p", random() % 2 ? "Patient" : "Observation", fmt::format("id{}", random() % 5),
                 IndexEntry{random() % 2 ? "name" : "code", Bytes(value.begin(), value.end())}});
  }
  std::vector<IndexRow> expected = rows;
  std::sort(expected.begin(), expected.end(), index_key_less);
  std::vector<MergeRow> merged;
  for (const auto& row : rows)
    merged.push_back(MergeRow{row.type, row.id, row.partition, view_of(row.entry)});
  std::vector<IndexRow> got;
  for (const MergeRow* row : in_key_order(merged)) {
    got.push_back(IndexRow{std::string(row->partition), std::string(row->type),
                           std::string(row->id),
                           IndexEntry{std::string(row->entry.name),
                                      Bytes(row->entry.value.begin(), row->entry.value.end())}});
  }
  EXPECT_EQ(got, expected);
  EXPECT_THAT(in_key_order({}), IsEmpty());
}

TEST(IndexJournalTest, ScanIsInIndexKeyOrderAndResumesAfterARow) {
  IndexJournal journal;
  journal.add({1, "Patient", "b", "pb", {entry("family", "x"), entry("given", "y")}});
  journal.add({2, "Patient", "a", "pa", {entry("family", "x")}});
  journal.add({3, "Observation", "o", "pa", {entry("code", "c")}});
  const auto rows = journal.scan(std::nullopt, 10);
  ASSERT_EQ(rows.size(), 4U);
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_TRUE(index_key_less(rows[i - 1], rows[i]));
  EXPECT_EQ(rows[0].id, "o");
  EXPECT_EQ(rows[1].id, "a");
  EXPECT_EQ(rows[1].partition, "pa");
  const auto rest = journal.scan(rows[1], 10);
  EXPECT_EQ(rest, std::vector<IndexRow>(rows.begin() + 2, rows.end()));
  EXPECT_EQ(journal.scan(rows[0], 1), std::vector<IndexRow>{rows[1]});
}

TEST(IndexJournalTest, FitsASnapshotItHasCaughtUpTo) {
  IndexJournal journal;
  const JournalScope every_type;
  EXPECT_EQ(journal.fit({0, 0}, every_type), IndexJournal::Fit::kCurrent);
  EXPECT_EQ(journal.fit({0, 5}, every_type), IndexJournal::Fit::kBehind);
  journal.caught_up_to({3, 5}, every_type);
  EXPECT_EQ(journal.fit({3, 5}, every_type), IndexJournal::Fit::kCurrent);
  EXPECT_EQ(journal.fit({3, 4}, every_type), IndexJournal::Fit::kCurrent);  // newer
  EXPECT_EQ(journal.fit({4, 5}, every_type), IndexJournal::Fit::kBehind);   // a merge since
  EXPECT_EQ(journal.fit({2, 5}, every_type), IndexJournal::Fit::kAhead);    // before our merge
  EXPECT_EQ(journal.fit({3, 5}, "Patient"), IndexJournal::Fit::kCurrent);
}

TEST(IndexJournalTest, EachTypeIsCaughtUpOnItsOwn) {
  IndexJournal journal;
  journal.add({1, "Patient", "a", "a", {entry("family", "sharma")}});
  journal.caught_up_to({0, 4}, "Patient");
  EXPECT_EQ(journal.loaded_through("Patient"), 4);
  EXPECT_EQ(journal.fit({0, 4}, "Patient"), IndexJournal::Fit::kCurrent);
  EXPECT_EQ(journal.fit({0, 4}, "Observation"), IndexJournal::Fit::kBehind);
  EXPECT_EQ(journal.fit({0, 4}, JournalScope{}), IndexJournal::Fit::kBehind);
  EXPECT_EQ(journal.fit({0, 5}, "Patient"), IndexJournal::Fit::kBehind);
  // A type with nothing journaled is still caught up, so its next catch-up starts there.
  journal.caught_up_to({0, 4}, "Condition");
  EXPECT_EQ(journal.loaded_through("Condition"), 4);
  EXPECT_EQ(journal.fit({0, 4}, "Condition"), IndexJournal::Fit::kCurrent);

  journal.add({2, "Observation", "o", "a", {entry("code", "c")}});
  journal.add({3, "Observation", "p", "a", {entry("code", "c")}});
  journal.caught_up_to({0, 6}, JournalScope{});
  EXPECT_EQ(journal.fit({0, 6}, "Observation"), IndexJournal::Fit::kCurrent);
  EXPECT_EQ(journal.fit({0, 6}, "Patient"), IndexJournal::Fit::kCurrent);
  EXPECT_EQ(journal.loaded_through("Patient"), 6);
  EXPECT_THAT(journal.find("Observation", "code", bytes("c"), "", 10), ElementsAre("o", "p"));
  EXPECT_THAT(journal.find("Patient", "code", bytes("c"), "", 10), IsEmpty());
  EXPECT_EQ(journal.records(), 3U);
  // A merge drops the rows it took from every type, whichever type's catch-up sees it.
  journal.drop_merged(2);
  journal.caught_up_to({2, 6}, "Condition");
  EXPECT_FALSE(journal.holds("Patient", "a"));
  EXPECT_FALSE(journal.holds("Observation", "o"));
  EXPECT_TRUE(journal.holds("Observation", "p"));
  EXPECT_EQ(journal.fit({2, 6}, "Observation"), IndexJournal::Fit::kCurrent);
  EXPECT_EQ(journal.fit({1, 6}, "Observation"), IndexJournal::Fit::kAhead);
}

TEST(SqliteIndexJournalTest, TwoStoresOnOneFileSeeEachOthersWritesAndMerges) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  // The server keeps its writes in the journal; the "CLI" merges everything after each commit.
  auto server = SqliteStore::open(path);
  ASSERT_TRUE(server) << server.error().message;
  auto cli = SqliteStore::open(path, {.journal_records_max = 0, .journal_merge_records = 100});
  ASSERT_TRUE(cli) << cli.error().message;

  ASSERT_TRUE(commit_one(**server, patient("a", 1, {entry("family", "sharma")})));
  EXPECT_THAT(family(**cli, "sharma"), ElementsAre("a"));
  EXPECT_THAT(family(**server, "sharma"), ElementsAre("a"));

  // The CLI renames a and merges: the server's copy still holds a's first write, which the
  // merge made stale, and must drop it.
  ASSERT_TRUE(commit_one(**cli, patient("a", 2, {entry("family", "verma")})));
  ASSERT_TRUE(journal_empties(path));
  EXPECT_THAT(family(**server, "sharma"), IsEmpty());
  EXPECT_THAT(family(**server, "verma"), ElementsAre("a"));

  // The server renames it again; its journal row hides the merged row from both.
  ASSERT_TRUE(commit_one(**server, patient("a", 3, {entry("family", "gupta")})));
  ASSERT_TRUE(commit_one(**server, patient("b", 1, {entry("family", "verma")})));
  for (auto* store : {server->get(), cli->get()}) {
    EXPECT_THAT(family(*store, "verma"), ElementsAre("b"));
    EXPECT_THAT(family(*store, "gupta"), ElementsAre("a"));
    EXPECT_EQ(store->index_entries("Patient", "a")->size(), 1U);
  }
  // A tombstone written by the CLI, merged at once, removes b's rows for the server too.
  auto tombstone = patient("b", 2, {});
  tombstone.record.deleted = true;
  ASSERT_TRUE(commit_one(**cli, tombstone));
  ASSERT_TRUE(journal_empties(path));
  EXPECT_THAT(family(**server, "verma"), IsEmpty());
  EXPECT_THAT(*(*server)->index_entries("Patient", "b"), IsEmpty());
  EXPECT_THAT(family(**server, "gupta"), ElementsAre("a"));
}

// A query of one type catches the copy up on that type alone; the others' rows written
// meanwhile are found by their own queries, before a merge and after it.
TEST(SqliteIndexJournalTest, QueriesOfOneTypeLeaveTheOthersToTheirOwnCatchUp) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  auto store = SqliteStore::open(path, {.journal_idle_merge_after = std::chrono::hours(1)});
  ASSERT_TRUE(store) << store.error().message;
  auto observation = [](const std::string& id, std::int64_t version, const std::string& code) {
    auto write = patient(id, version, {entry("code", code)});
    write.record.type = "Observation";
    write.record.partition = "a";
    return write;
  };
  const auto codes = [&](const std::string& code) {
    return *(*store)->find({"Observation", entry("code", code), "", 10});
  };
  ASSERT_TRUE(commit_one(**store, patient("a", 1, {entry("family", "sharma")})));
  ASSERT_TRUE(commit_one(**store, observation("o1", 1, "glucose")));
  EXPECT_THAT(family(**store, "sharma"), ElementsAre("a"));
  ASSERT_TRUE(commit_one(**store, observation("o2", 1, "glucose")));
  ASSERT_TRUE(commit_one(**store, patient("a", 2, {entry("family", "verma")})));
  EXPECT_THAT(codes("glucose"), ElementsAre("o1", "o2"));
  ASSERT_TRUE(commit_one(**store, observation("o1", 2, "hba1c")));
  EXPECT_THAT(family(**store, "sharma"), IsEmpty());
  EXPECT_THAT(family(**store, "verma"), ElementsAre("a"));
  EXPECT_THAT(codes("glucose"), ElementsAre("o2"));
  EXPECT_THAT(codes("hba1c"), ElementsAre("o1"));
  EXPECT_EQ((*store)->scan_index(std::nullopt, 10)->size(), 3U);

  // Merged by another store on the file: each type's next query drops what it held.
  auto merging = SqliteStore::open(path, {.journal_records_max = 0, .journal_merge_records = 100});
  ASSERT_TRUE(merging) << merging.error().message;
  ASSERT_TRUE(commit_one(**merging, observation("o3", 1, "glucose")));
  ASSERT_TRUE(journal_empties(path));
  EXPECT_THAT(codes("glucose"), ElementsAre("o2", "o3"));
  EXPECT_THAT(codes("hba1c"), ElementsAre("o1"));
  EXPECT_THAT(family(**store, "verma"), ElementsAre("a"));
  EXPECT_EQ((*store)->scan_index(std::nullopt, 10)->size(), 4U);
}

TEST(SqliteIndexJournalTest, AnIdleWriterMergesTheJournalDown) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  auto store = SqliteStore::open(path, {.journal_idle_merge_after = std::chrono::milliseconds(20)});
  ASSERT_TRUE(store) << store.error().message;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(commit_one(**store, patient("p" + std::to_string(i), 1,
                                            {entry("family", "sharma"), entry("given", "asha")})));
  }
  ASSERT_TRUE(journal_empties(path));
  EXPECT_EQ(count_rows(path, "record_index"), 10);
  EXPECT_THAT(family(**store, "sharma"), ElementsAre("p0", "p1", "p2", "p3", "p4"));
}

// One merge takes several writes of a record: only the newest counts, whether it changes the
// record's entries, deletes it, or creates it and deletes it before the merge.
TEST(SqliteIndexJournalTest, AMergeTakesTheNewestWriteOfEachRecordInItsChunk) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  {
    auto store = SqliteStore::open(path, {.journal_idle_merge_after = std::chrono::hours(1)});
    ASSERT_TRUE(store);
    ASSERT_TRUE(commit_one(**store, patient("b", 1, {entry("family", "sharma")})));
    ASSERT_TRUE(commit_one(**store, patient("a", 1, {entry("family", "sharma")})));
    ASSERT_TRUE(commit_one(**store, patient("a", 2, {entry("family", "verma")})));
    ASSERT_TRUE(commit_one(**store, patient("c", 1, {entry("family", "gupta")})));
    auto tombstone = patient("c", 2, {});
    tombstone.record.deleted = true;
    ASSERT_TRUE(commit_one(**store, tombstone));
    ASSERT_TRUE(
        commit_one(**store, patient("b", 2, {entry("family", "sharma"), entry("given", "asha")})));
  }
  EXPECT_EQ(count_rows(path, "index_journal"), 6);
  auto store = SqliteStore::open(path, {.journal_idle_merge_after = std::chrono::milliseconds(20)});
  ASSERT_TRUE(store);
  ASSERT_TRUE(journal_empties(path));
  EXPECT_EQ(count_rows(path, "record_index"), 3);
  EXPECT_EQ(count_rows(path, "record_index_entries"), 2);
  EXPECT_THAT(family(**store, "sharma"), ElementsAre("b"));
  EXPECT_THAT(family(**store, "verma"), ElementsAre("a"));
  EXPECT_THAT(family(**store, "gupta"), IsEmpty());
  EXPECT_THAT(*(*store)->index_entries("Patient", "b"),
              ElementsAre(entry("family", "sharma"), entry("given", "asha")));
  EXPECT_THAT(*(*store)->index_entries("Patient", "c"), IsEmpty());
}

// A merge inserts its rows many to a statement: 71 records of 3 entries (213 rows) fill several
// statements and leave a remainder, and every row lands once, found under each of its values.
TEST(SqliteIndexJournalTest, AMergeOfManyRowsInsertsEachOnce) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  constexpr int kRecords = 71;
  {
    auto store = SqliteStore::open(path, {.journal_idle_merge_after = std::chrono::hours(1)});
    ASSERT_TRUE(store);
    WriteBatch batch;
    for (int i = 0; i < kRecords; ++i) {
      batch.records.push_back(patient(fmt::format("p{:03}", i), 1,
                                      {entry("family", i % 2 == 0 ? "sharma" : "verma"),
                                       entry("given", fmt::format("g{}", i % 7)),
                                       entry("identifier", fmt::format("id{:03}", i))}));
    }
    ASSERT_TRUE((*store)->commit(std::move(batch)));
  }
  auto store = SqliteStore::open(path, {.journal_idle_merge_after = std::chrono::milliseconds(20)});
  ASSERT_TRUE(store);
  ASSERT_TRUE(journal_empties(path));
  EXPECT_EQ(count_rows(path, "record_index"), 3 * kRecords);
  auto find_all = [&](const std::string& name, const std::string& value) {
    auto found = (*store)->find({"Patient", entry(name, value), "", 1000});
    EXPECT_TRUE(found);
    return found ? *found : std::vector<std::string>{};
  };
  EXPECT_EQ(find_all("family", "sharma").size(), 36u);
  EXPECT_EQ(find_all("family", "verma").size(), 35u);
  std::size_t given = 0;
  for (int g = 0; g < 7; ++g) given += find_all("given", fmt::format("g{}", g)).size();
  EXPECT_EQ(given, static_cast<std::size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) {
    EXPECT_THAT(find_all("identifier", fmt::format("id{:03}", i)),
                ElementsAre(fmt::format("p{:03}", i)));
  }
}

// A merge writes its records' entries rows many to a statement; a statement holding records the
// index already had (changed, unchanged or deleted since) settles those one by one: 70 new
// records share their statements with 30 rewritten ones.
TEST(SqliteIndexJournalTest, AMergeSettlesRecordsAlreadyIndexedAmongNewOnes) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  auto name_of = [](int i) { return fmt::format("p{:03}", i); };
  {
    auto store =
        SqliteStore::open(path, {.journal_idle_merge_after = std::chrono::milliseconds(20)});
    ASSERT_TRUE(store);
    WriteBatch batch;
    for (int i = 0; i < 100; i += 10) {
      for (int j = i; j < i + 3; ++j) {
        batch.records.push_back(
            patient(name_of(j), 1, {entry("family", "old"), entry("given", name_of(j))}));
      }
    }
    ASSERT_TRUE((*store)->commit(std::move(batch)));
    ASSERT_TRUE(journal_empties(path));
  }
  {
    auto store = SqliteStore::open(path, {.journal_idle_merge_after = std::chrono::hours(1)});
    ASSERT_TRUE(store);
    WriteBatch batch;
    for (int i = 0; i < 100; ++i) {
      switch (i % 10) {
        case 0:  // changed: "old" goes, "new" comes
          batch.records.push_back(
              patient(name_of(i), 2, {entry("family", "new"), entry("given", name_of(i))}));
          break;
        case 1:  // rewritten with the same entries
          batch.records.push_back(
              patient(name_of(i), 2, {entry("family", "old"), entry("given", name_of(i))}));
          break;
        case 2: {  // deleted
          auto tombstone = patient(name_of(i), 2, {});
          tombstone.record.deleted = true;
          batch.records.push_back(std::move(tombstone));
          break;
        }
        default:
          batch.records.push_back(
              patient(name_of(i), 1, {entry("family", "new"), entry("given", name_of(i))}));
      }
    }
    ASSERT_TRUE((*store)->commit(std::move(batch)));
  }
  auto store = SqliteStore::open(path, {.journal_idle_merge_after = std::chrono::milliseconds(20)});
  ASSERT_TRUE(store);
  ASSERT_TRUE(journal_empties(path));
  auto found = [&](const std::string& name, const std::string& value) {
    auto ids = (*store)->find({"Patient", entry(name, value), "", 1000});
    EXPECT_TRUE(ids);
    return ids ? *ids : std::vector<std::string>{};
  };
  std::vector<std::string> old_family, new_family;
  for (int i = 0; i < 100; ++i) {
    if (i % 10 == 1) old_family.push_back(name_of(i));
    if (i % 10 != 1 && i % 10 != 2) new_family.push_back(name_of(i));
    EXPECT_EQ(found("given", name_of(i)).size(), i % 10 == 2 ? 0U : 1U) << i;
  }
  EXPECT_EQ(found("family", "old"), old_family);
  EXPECT_EQ(found("family", "new"), new_family);
  EXPECT_EQ(count_rows(path, "record_index"), 2 * 90);
  EXPECT_EQ(count_rows(path, "record_index_entries"), 90);
  EXPECT_THAT(*(*store)->index_entries("Patient", name_of(10)),
              ElementsAre(entry("family", "new"), entry("given", name_of(10))));
  EXPECT_THAT(*(*store)->index_entries("Patient", name_of(12)), IsEmpty());
}

TEST(SqliteIndexJournalTest, TheJournalSurvivesAReopenUnmerged) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store);
    ASSERT_TRUE(commit_one(**store, patient("a", 1, {entry("family", "sharma")})));
  }
  EXPECT_EQ(count_rows(path, "index_journal"), 1);
  EXPECT_EQ(count_rows(path, "record_index"), 0);
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store);
  EXPECT_THAT(family(**store, "sharma"), ElementsAre("a"));
}

TEST(SqliteIndexJournalTest, ACorruptJournalRowIsReportedNotGuessedAt) {
  kavach::testing::TempDir dir;
  const auto path = dir.path() / "store.db";
  auto store = SqliteStore::open(path);
  ASSERT_TRUE(store);
  ASSERT_TRUE(commit_one(**store, patient("a", 1, {entry("family", "sharma")})));
  {
    auto connection = Connection::open(path);
    ASSERT_TRUE(connection);
    ASSERT_TRUE(connection->execute("UPDATE index_journal SET entries = X'0500'"));
  }
  auto reopened = SqliteStore::open(path);
  ASSERT_TRUE(reopened);
  const auto found = (*reopened)->find({"Patient", entry("family", "sharma"), "", 10});
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace kavach::store::sqlite
