// The contract every Store backend meets. Each test runs against SQLite and against PostgreSQL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "store/instrumented_store.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_factory.h"
#include "support/postgres_test_database.h"
#include "support/temp_dir.h"

namespace kavach::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

RecordWrite make_write(std::string type, std::string id, std::int64_t version,
                       std::string payload = "sealed", std::string partition = "p1") {
  RecordWrite write;
  write.record.partition = std::move(partition);
  write.record.type = std::move(type);
  write.record.id = std::move(id);
  write.record.version = version;
  write.record.recorded_at_ms = 1000 * version;
  write.record.payload.assign(payload.begin(), payload.end());
  write.expected_version = version - 1;
  return write;
}

IndexEntry entry(std::string name, std::string value) {
  return IndexEntry{std::move(name), Bytes(value.begin(), value.end())};
}

std::string text(const Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      database_ = testing::PostgresTestDatabase::create();
      if (!database_) GTEST_SKIP() << "no test PostgreSQL server configured";
      url_ = database_->url();
    } else {
      url_ = "sqlite:" + (dir_.path() / "store.db").string();
    }
    reopen();
  }

  void reopen() {
    store_.reset();
    // "sqlite_merging" merges the index journal after nearly every commit, so index rows are split
    // between the journal and the index table; "sqlite" keeps them in the journal
    // (index_journal.h).
    auto opened =
        GetParam() == "sqlite_merging"
            ? sqlite::SqliteStore::open(dir_.path() / "store.db",
                                        {.journal_records_max = 1, .journal_merge_records = 1})
                  .map([](auto store) { return std::unique_ptr<Store>(std::move(store)); })
            : open_store(url_);
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    // "sqlite_instrumented" runs the contract through the metrics wrapper the server puts around
    // its store, so a call it fails to forward shows as a broken contract.
    if (GetParam() == "sqlite_instrumented") {
      store_ = std::make_unique<InstrumentedStore>(std::move(store_), metrics_);
    }
  }

  Result<CommitReceipt> commit(std::vector<RecordWrite> writes) {
    WriteBatch batch;
    batch.records = std::move(writes);
    return store_->commit(std::move(batch));
  }

  // Creates a data key under `name` (its wrapped bytes are made up: the store never opens them).
  Result<CommitReceipt> create_key(const std::string& name) {
    WriteBatch batch;
    batch.keys.push_back(
        {KeyWrite::Kind::kCreateIfAbsent, WrappedKey{name, "kek1", Bytes{1}, 5, 0}, ""});
    return store_->commit(std::move(batch));
  }

  // Runs SQL straight on the backend's database, behind the store's back.
  bool execute_sql(const std::string& sql, std::string* error = nullptr);

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresTestDatabase> database_;
  std::string url_;
  Metrics metrics_;  // outlives store_, which may observe into it
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContractTest, CommitsVersionsAndReadsThemBack) {
  ASSERT_TRUE(commit({make_write("Patient", "a", 1, "one")}));
  ASSERT_TRUE(commit({make_write("Patient", "a", 2, "two")}));
  auto current = store_->read_current("Patient", "a");
  ASSERT_TRUE(current && *current);
  EXPECT_EQ((*current)->version, 2);
  EXPECT_EQ(text((*current)->payload), "two");
  EXPECT_EQ((*current)->partition, "p1");
  auto first = store_->read_version("Patient", "a", 1);
  ASSERT_TRUE(first && *first);
  EXPECT_EQ(text((*first)->payload), "one");
  EXPECT_FALSE(*store_->read_version("Patient", "a", 3));
  EXPECT_FALSE(*store_->read_current("Patient", "missing"));
}

// The vault's digest of a payload is kept beside it and read back by every read, so a read's audit
// entry names the content without hashing it again; a version written without one reads back
// without one.
TEST_P(StoreContractTest, APayloadsDigestIsKeptBesideItAndReadBackByEveryRead) {
  auto with_digest = make_write("Observation", "a", 1, "one");
  with_digest.record.payload_sha256 = Bytes(32, 0xab);
  ASSERT_TRUE(commit({with_digest}));
  ASSERT_TRUE(commit({make_write("Observation", "b", 1, "two")}));
  const Bytes digest(32, 0xab);

  auto current = store_->read_current("Observation", "a");
  ASSERT_TRUE(current && *current);
  EXPECT_EQ((*current)->payload_sha256, digest);
  auto version = store_->read_version("Observation", "a", 1);
  ASSERT_TRUE(version && *version);
  EXPECT_EQ((*version)->payload_sha256, digest);
  const std::vector<std::string> ids = {"a", "b"};
  auto many = store_->read_current_many("Observation", ids);
  ASSERT_TRUE(many);
  ASSERT_EQ(many->size(), 2U);
  EXPECT_EQ((*many)[0].payload_sha256, digest);
  EXPECT_THAT((*many)[1].payload_sha256, IsEmpty());
  auto changes = store_->changes_since(0, 10);
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 2U);
  EXPECT_EQ((*changes)[0].payload_sha256, digest);
  EXPECT_THAT((*changes)[1].payload_sha256, IsEmpty());
}

// A queued commit applies as commit() does; its ticket completes once the batch is durable, and
// a callback set after that runs at once. A refused batch's ticket carries the refusal.
TEST_P(StoreContractTest, AQueuedCommitCompletesItsTicketWhenApplied) {
  WriteBatch batch;
  batch.records.push_back(make_write("Patient", "q", 1, "queued"));
  batch.audit.push_back(AuditAppend{"p1", Bytes{1, 2, 3}});
  const CommitTicket ticket = store_->commit_queued(std::move(batch));
  const auto receipt = ticket.wait();
  ASSERT_TRUE(receipt) << receipt.error().message;
  EXPECT_GT(receipt->first_sequence, 0);
  EXPECT_GE(receipt->first_audit_index, 0);
  EXPECT_EQ(text((*store_->read_current("Patient", "q"))->payload), "queued");
  std::optional<Result<CommitReceipt>> seen;
  ticket.when_done([&](const Result<CommitReceipt>& outcome) { seen = outcome; });
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ((*seen)->first_sequence, receipt->first_sequence);

  WriteBatch stale;
  stale.records.push_back(make_write("Patient", "q", 1, "again"));
  const auto refused = store_->commit_queued(std::move(stale)).wait();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_EQ(text((*store_->read_current("Patient", "q"))->payload), "queued");
}

// Tickets complete in the order their batches were queued, each on the thread that completes it.
TEST_P(StoreContractTest, QueuedCommitsCompleteInOrder) {
  std::mutex mutex;
  std::vector<std::int64_t> completed;
  std::vector<CommitTicket> tickets;
  for (int i = 0; i < 20; ++i) {
    WriteBatch batch;
    batch.audit.push_back(AuditAppend{"p1", Bytes{static_cast<std::uint8_t>(i)}});
    tickets.push_back(store_->commit_queued(std::move(batch)));
    tickets.back().when_done([&](const Result<CommitReceipt>& outcome) {
      std::lock_guard lock(mutex);
      completed.push_back(outcome ? outcome->first_audit_index : -2);
    });
  }
  for (const auto& ticket : tickets) ASSERT_TRUE(ticket.wait());
  std::lock_guard lock(mutex);
  ASSERT_EQ(completed.size(), 20u);
  EXPECT_TRUE(std::is_sorted(completed.begin(), completed.end()));
  EXPECT_GE(completed.front(), 0);
  EXPECT_EQ(*store_->audit_size(), 20);
}

TEST_P(StoreContractTest, ReadCurrentManyGivesEachCurrentVersionInTheOrderAsked) {
  ASSERT_TRUE(commit({make_write("Observation", "b", 1, "b one")}));
  ASSERT_TRUE(commit({make_write("Observation", "b", 2, "b two")}));
  ASSERT_TRUE(commit({make_write("Observation", "a", 1, "a one")}));
  ASSERT_TRUE(commit({make_write("Patient", "c", 1, "a patient")}));
  auto tombstone = make_write("Observation", "gone", 2, "");
  tombstone.record.deleted = true;
  ASSERT_TRUE(commit({make_write("Observation", "gone", 1)}));
  ASSERT_TRUE(commit({tombstone}));
  // An id with a quote and a backslash must not break the backend's list of ids.
  ASSERT_TRUE(commit({make_write("Observation", "q\"\\", 1, "odd id")}));

  // Unknown ids and other types' records are left out; the order is the caller's, not the ids'.
  auto records = store_->read_current_many(
      "Observation", std::vector<std::string>{"gone", "b", "missing", "c", "q\"\\", "a"});
  ASSERT_TRUE(records) << records.error().message;
  std::vector<std::tuple<std::string, std::int64_t, bool, std::string>> got;
  for (const auto& record : *records) {
    got.emplace_back(record.id, record.version, record.deleted, text(record.payload));
  }
  EXPECT_THAT(got, ElementsAre(std::tuple("gone", 2, true, ""), std::tuple("b", 2, false, "b two"),
                               std::tuple("q\"\\", 1, false, "odd id"),
                               std::tuple("a", 1, false, "a one")));
  auto none = store_->read_current_many("Observation", std::vector<std::string>{});
  ASSERT_TRUE(none);
  EXPECT_THAT(*none, IsEmpty());
}

// Reads in a scope share one snapshot where the backend holds one (SQLite): another thread's
// commit is not seen until the scope ends. Where it holds none (PostgreSQL), every read sees the
// latest commit, as without a scope.
TEST_P(StoreContractTest, ReadsInAScopeShareOneSnapshotWhereTheBackendHoldsOne) {
  ASSERT_TRUE(commit({make_write("Observation", "a", 1, "a one")}));
  {
    const auto reads = store_->hold_reads();
    EXPECT_EQ(reads.holds(), GetParam() != "postgresql");
    auto before = store_->read_current("Observation", "a");
    ASSERT_TRUE(before && *before);
    EXPECT_EQ((*before)->version, 1);

    // Another thread writes a version and a key meanwhile. (Not an erasure: its commit truncates
    // the WAL, which waits for this scope's snapshot, and so for the busy timeout here.)
    std::thread other([&] {
      ASSERT_TRUE(commit({make_write("Observation", "a", 2, "a two")}));
      ASSERT_TRUE(create_key("patient/p1"));
    });
    other.join();

    const std::int64_t seen = reads.holds() ? 1 : 2;
    auto current = store_->read_current("Observation", "a");
    ASSERT_TRUE(current && *current);
    EXPECT_EQ((*current)->version, seen);
    auto many = store_->read_current_many("Observation", std::vector<std::string>{"a"});
    ASSERT_TRUE(many && many->size() == 1);
    EXPECT_EQ(many->front().version, seen);
    auto key = store_->read_key("patient/p1");
    ASSERT_TRUE(key);
    EXPECT_EQ(key->has_value(), !reads.holds());
  }
  // The scope's end lets the next read see both.
  EXPECT_EQ((*store_->read_current("Observation", "a"))->version, 2);
  EXPECT_TRUE(*store_->read_key("patient/p1"));
}

// A thread's own write ends its scope's snapshot, so what it reads next includes the write: the
// vault reads back a key it has just created, a caller its just-written version and index rows.
TEST_P(StoreContractTest, AReadScopeSeesItsOwnThreadsWrites) {
  auto first = make_write("Observation", "a", 1, "a one");
  first.index = {entry("code", "pulse")};
  ASSERT_TRUE(commit({first}));
  const auto reads = store_->hold_reads();
  EXPECT_THAT(*store_->find({"Observation", entry("code", "pulse"), "", 10}), ElementsAre("a"));
  EXPECT_FALSE(*store_->read_key("patient/p1"));

  ASSERT_TRUE(create_key("patient/p1"));
  auto key = store_->read_key("patient/p1");
  ASSERT_TRUE(key && *key);
  EXPECT_EQ((*key)->kek_id, "kek1");

  // Each commit here may merge the index journal (sqlite_merging), so the index reads also start
  // over on a merged copy inside the scope.
  for (int version = 2; version <= 4; ++version) {
    auto next = make_write("Observation", "a", version, "a again");
    next.index = {entry("code", version % 2 == 0 ? "rate" : "pulse")};
    auto added = make_write("Observation", fmt::format("b{}", version), 1);
    added.index = {entry("code", "pulse")};
    ASSERT_TRUE(commit({next, added}));
    EXPECT_EQ((*store_->read_current("Observation", "a"))->version, version);
    std::vector<std::string> pulse{"b2"};
    if (version >= 3) pulse.push_back("b3");
    if (version >= 4) pulse.push_back("b4");
    if (version % 2 == 1) pulse.insert(pulse.begin(), "a");
    EXPECT_EQ(*store_->find({"Observation", entry("code", "pulse"), "", 10}), pulse) << version;
    auto any = store_->find_any("Observation", "code", {entry("code", "rate").value}, "", 10);
    ASSERT_TRUE(any);
    EXPECT_EQ(any->ids,
              version % 2 == 0 ? std::vector<std::string>{"a"} : std::vector<std::string>{});
  }
}

TEST_P(StoreContractTest, AScopeInsideAnotherForTheSameStoreHoldsNothingOfItsOwn) {
  ASSERT_TRUE(commit({make_write("Observation", "a", 1)}));
  const auto outer = store_->hold_reads();
  {
    const auto inner = store_->hold_reads();
    EXPECT_FALSE(inner.holds());
    EXPECT_TRUE(*store_->read_current("Observation", "a"));
  }
  // The outer scope's connection outlives the inner scope.
  EXPECT_TRUE(*store_->read_current("Observation", "a"));
  ASSERT_TRUE(commit({make_write("Observation", "a", 2)}));
  EXPECT_EQ((*store_->read_current("Observation", "a"))->version, 2);
}

TEST_P(StoreContractTest, HistoryIsNewestFirstAndKeepsTombstones) {
  ASSERT_TRUE(commit({make_write("Observation", "o", 1)}));
  ASSERT_TRUE(commit({make_write("Observation", "o", 2)}));
  auto tombstone = make_write("Observation", "o", 3, "");
  tombstone.record.deleted = true;
  ASSERT_TRUE(commit({tombstone}));
  auto history = store_->history("Observation", "o", 10);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].version, 3);
  EXPECT_TRUE((*history)[0].deleted);
  EXPECT_EQ((*history)[2].version, 1);
  EXPECT_EQ(store_->history("Observation", "o", 2)->size(), 2u);
}

TEST_P(StoreContractTest, StaleExpectedVersionIsAConflict) {
  ASSERT_TRUE(commit({make_write("Patient", "a", 1)}));
  ASSERT_TRUE(commit({make_write("Patient", "a", 2)}));
  auto stale = make_write("Patient", "a", 2);  // expects version 1 to be current
  auto result = commit({stale});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kConflict);
  auto again = commit({make_write("Patient", "a", 1)});  // a second create
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
}

TEST_P(StoreContractTest, BatchIsAllOrNothing) {
  ASSERT_TRUE(commit({make_write("Patient", "taken", 1)}));
  auto result = commit({make_write("Patient", "fresh", 1), make_write("Patient", "taken", 1)});
  ASSERT_FALSE(result);
  EXPECT_FALSE(*store_->read_current("Patient", "fresh"));
  auto changes = store_->changes_since(0, 100);
  ASSERT_TRUE(changes);
  EXPECT_EQ(changes->size(), 1u);
}

TEST_P(StoreContractTest, IndexFollowsTheCurrentVersion) {
  auto first = make_write("Patient", "a", 1);
  first.index = {entry("family", "sharma"), entry("given", "asha")};
  auto other = make_write("Patient", "b", 1);
  other.index = {entry("family", "sharma")};
  ASSERT_TRUE(commit({first, other}));
  EXPECT_THAT(*store_->find({"Patient", entry("family", "sharma"), "", 10}), ElementsAre("a", "b"));

  auto renamed = make_write("Patient", "a", 2);
  renamed.index = {entry("family", "verma")};
  ASSERT_TRUE(commit({renamed}));
  EXPECT_THAT(*store_->find({"Patient", entry("family", "sharma"), "", 10}), ElementsAre("b"));
  EXPECT_THAT(*store_->find({"Patient", entry("given", "asha"), "", 10}), IsEmpty());
  EXPECT_THAT(*store_->find({"Patient", entry("family", "verma"), "", 10}), ElementsAre("a"));
  // The same value under another type is another index.
  EXPECT_THAT(*store_->find({"Practitioner", entry("family", "verma"), "", 10}), IsEmpty());

  auto deleted = make_write("Patient", "b", 2);
  deleted.record.deleted = true;
  deleted.index = {entry("family", "sharma")};
  ASSERT_TRUE(commit({deleted}));
  EXPECT_THAT(*store_->find({"Patient", entry("family", "sharma"), "", 10}), IsEmpty());
}

TEST_P(StoreContractTest, FindPagesInIdOrder) {
  std::vector<RecordWrite> writes;
  for (const char* id : {"d", "a", "c", "b", "e"}) {
    auto write = make_write("Observation", id, 1);
    write.index = {entry("subject", "Patient/x")};
    writes.push_back(write);
  }
  ASSERT_TRUE(commit(writes));
  EXPECT_THAT(*store_->find({"Observation", entry("subject", "Patient/x"), "", 2}),
              ElementsAre("a", "b"));
  EXPECT_THAT(*store_->find({"Observation", entry("subject", "Patient/x"), "b", 2}),
              ElementsAre("c", "d"));
  EXPECT_THAT(*store_->find({"Observation", entry("subject", "Patient/x"), "d", 2}),
              ElementsAre("e"));
}

TEST_P(StoreContractTest, FindAnyMatchesAnyValueOnceInIdOrder) {
  std::vector<RecordWrite> writes;
  const std::vector<std::pair<const char*, std::vector<const char*>>> records = {
      {"d", {"2020", "2021"}}, {"a", {"2019"}}, {"c", {"2021"}}, {"b", {"2020"}}, {"e", {"2022"}}};
  for (const auto& [id, years] : records) {
    auto write = make_write("Observation", id, 1);
    for (const char* year : years) write.index.push_back(entry("date", year));
    writes.push_back(write);
  }
  auto deleted = make_write("Observation", "f", 1);
  deleted.index = {entry("date", "2020")};
  writes.push_back(deleted);
  ASSERT_TRUE(commit(writes));
  auto tombstone = make_write("Observation", "f", 2);
  tombstone.record.deleted = true;
  tombstone.expected_version = 1;
  ASSERT_TRUE(commit({tombstone}));
  const std::vector<Bytes> years = {entry("date", "2020").value, entry("date", "2021").value};
  EXPECT_THAT(store_->find_any("Observation", "date", years, "", 10)->ids,
              ElementsAre("b", "c", "d"));
  EXPECT_THAT(store_->find_any("Observation", "date", years, "b", 1)->ids, ElementsAre("c"));
  EXPECT_THAT(store_->find_any("Observation", "other", years, "", 10)->ids, IsEmpty());
  EXPECT_THAT(store_->find_any("Patient", "date", years, "", 10)->ids, IsEmpty());
  EXPECT_THAT(store_->find_any("Observation", "date", {}, "", 10)->ids, IsEmpty());
}

TEST_P(StoreContractTest, FindAnySaysWhichVersionsItsAnswerHoldsFor) {
  auto first = make_write("Observation", "a", 1);
  first.index = {entry("subject", "Patient/x")};
  auto second = make_write("Observation", "b", 1);
  second.index = {entry("subject", "Patient/x")};
  ASSERT_TRUE(commit({first}));
  ASSERT_TRUE(commit({second}));
  const std::vector<Bytes> wanted = {entry("subject", "Patient/x").value};
  const auto found = store_->find_any("Observation", "subject", wanted, "", 10);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_THAT(found->ids, ElementsAre("a", "b"));
  // The versions found are at or below the position...
  for (const char* id : {"a", "b"}) {
    const auto record = store_->read_current("Observation", id);
    ASSERT_TRUE(record && *record);
    EXPECT_LE((*record)->sequence, found->as_of_sequence);
  }
  // ...and one written after the lookup, which no longer carries the entry, is above it.
  auto moved = make_write("Observation", "a", 2);
  moved.index = {entry("subject", "Patient/y")};
  ASSERT_TRUE(commit({moved}));
  const auto now = store_->read_current("Observation", "a");
  ASSERT_TRUE(now && *now);
  EXPECT_GT((*now)->sequence, found->as_of_sequence);
  EXPECT_THAT(store_->find_any("Observation", "subject", wanted, "", 10)->ids, ElementsAre("b"));
}

TEST_P(StoreContractTest, IndexEntriesAreThoseOfTheCurrentVersionInOrder) {
  auto first = make_write("Observation", "o", 1);
  first.index = {entry("subject", "Patient/x"), entry("code", "old")};
  ASSERT_TRUE(commit({first}));
  auto second = make_write("Observation", "o", 2);
  second.expected_version = 1;
  second.index = {entry("subject", "Patient/x"), entry("code", "new"), entry("code", "also")};
  ASSERT_TRUE(commit({second}));
  auto expected = second.index;
  std::sort(expected.begin(), expected.end(), [](const IndexEntry& a, const IndexEntry& b) {
    return std::tie(a.name, a.value) < std::tie(b.name, b.value);
  });
  EXPECT_EQ(*store_->index_entries("Observation", "o"), expected);
  EXPECT_THAT(*store_->index_entries("Observation", "missing"), IsEmpty());
  auto tombstone = make_write("Observation", "o", 3);
  tombstone.record.deleted = true;
  tombstone.expected_version = 2;
  ASSERT_TRUE(commit({tombstone}));
  EXPECT_THAT(*store_->index_entries("Observation", "o"), IsEmpty());
}

TEST_P(StoreContractTest, ABulkLoadEndsAsTheSameStoreCommitsWouldMake) {
  auto load = store_->begin_bulk_load();
  ASSERT_TRUE(load) << load.error().message;
  if (GetParam() != "postgresql") {
    // SQLite's own bulk load (not the default of one commit per batch) is the one running.
    const auto second = store_->begin_bulk_load();
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().message, "a bulk load is running");
  }
  WriteBatch first;
  auto first_version = make_write("Observation", "o1", 1);  // replaced below: no index
  first_version.expected_version = kAnyVersion;
  first.records.push_back(first_version);
  auto patient = make_write("Patient", "p1", 1);
  patient.expected_version = kAnyVersion;
  patient.index = {entry("family", "sharma"), entry("family", "sh")};
  first.records.push_back(patient);
  first.keys.push_back(
      KeyWrite{KeyWrite::Kind::kCreateIfAbsent, WrappedKey{"patient/p1", "k", {1}, 5, 0}, ""});
  first.audit.push_back(AuditAppend{"p1", {1, 2}});
  ASSERT_TRUE((*load)->add(std::move(first)));
  WriteBatch second;
  auto updated = make_write("Observation", "o1", 2);
  updated.expected_version = kAnyVersion;
  updated.index = {entry("subject", "Patient/p1")};
  second.records.push_back(updated);
  second.audit.push_back(AuditAppend{"p1", {3}});
  const auto receipt = (*load)->add(std::move(second));
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->first_audit_index, 1);
  ASSERT_TRUE((*load)->finish());

  EXPECT_THAT(*store_->find({"Patient", entry("family", "sh"), "", 10}), ElementsAre("p1"));
  EXPECT_THAT(*store_->find({"Observation", entry("subject", "Patient/p1"), "", 10}),
              ElementsAre("o1"));
  EXPECT_EQ(store_->index_entries("Observation", "o1")->size(), 1U);
  EXPECT_THAT(*store_->index_entries("Patient", "p1"),
              ElementsAre(entry("family", "sh"), entry("family", "sharma")));
  EXPECT_EQ((*store_->read_current("Observation", "o1"))->version, 2);
  EXPECT_EQ(store_->changes_since(0, 10)->size(), 3U);
  EXPECT_EQ(store_->partition_records("p1", "", "", 10)->size(), 2U);
  EXPECT_EQ(store_->type_history("Observation", 0, 10)->size(), 2U);
  EXPECT_EQ(store_->audit_entries_about("p1", -1, 10)->size(), 2U);
  EXPECT_TRUE(*store_->read_key("patient/p1"));
  // Afterwards the store takes ordinary commits, and refuses another bulk load.
  ASSERT_TRUE(commit({make_write("Observation", "o2", 1)}));
  EXPECT_EQ(store_->begin_bulk_load().error().code, ErrorCode::kFailedPrecondition);
  reopen();
  EXPECT_THAT(*store_->find({"Patient", entry("family", "sharma"), "", 10}), ElementsAre("p1"));
  // A loaded record's new version replaces its loaded index rows.
  auto renamed = make_write("Patient", "p1", 2);
  renamed.index = {entry("family", "verma")};
  ASSERT_TRUE(commit({renamed}));
  ASSERT_TRUE(commit({make_write("Observation", "o3", 1)}));
  EXPECT_THAT(*store_->find({"Patient", entry("family", "sharma"), "", 10}), IsEmpty());
  EXPECT_THAT(*store_->find({"Patient", entry("family", "verma"), "", 10}), ElementsAre("p1"));
}

TEST_P(StoreContractTest, ScansReadEveryVersionAndIndexRowOncePageByPage) {
  // Three patients' records with two versions each and index rows on the current ones.
  std::set<std::tuple<std::string, std::string, std::int64_t>> written;
  std::set<std::tuple<std::string, std::string, std::string>> indexed;
  for (int p = 0; p < 3; ++p) {
    for (int r = 0; r < 4; ++r) {
      const auto id = fmt::format("o{}{}", p, r);
      const auto partition = fmt::format("p{}", p);
      ASSERT_TRUE(commit({make_write("Observation", id, 1, "v1", partition)}));
      auto second = make_write("Observation", id, 2, "v2", partition);
      second.index = {entry("code", fmt::format("c{}", r)), entry("subject", partition)};
      ASSERT_TRUE(commit({second}));
      written.insert({"Observation", id, 1});
      written.insert({"Observation", id, 2});
      indexed.insert({id, "code", fmt::format("c{}", r)});
      indexed.insert({id, "subject", partition});
    }
  }
  std::set<std::tuple<std::string, std::string, std::int64_t>> scanned;
  std::size_t pages = 0;
  for (std::optional<RecordVersion> after;; ++pages) {
    auto page = store_->scan_records(after, 5);
    ASSERT_TRUE(page) << page.error().message;
    if (page->empty()) break;
    EXPECT_LE(page->size(), 5U);
    for (const auto& record : *page) {
      EXPECT_TRUE(scanned.insert({record.type, record.id, record.version}).second)
          << "read twice: " << record.id;
      EXPECT_EQ(text(record.payload), record.version == 1 ? "v1" : "v2");
    }
    after = page->back();
  }
  EXPECT_EQ(scanned, written);
  EXPECT_EQ(pages, 5U);  // 24 versions, 5 a page
  std::set<std::tuple<std::string, std::string, std::string>> rows;
  for (std::optional<IndexRow> after;;) {
    auto page = store_->scan_index(after, 7);
    ASSERT_TRUE(page) << page.error().message;
    if (page->empty()) break;
    for (const auto& row : *page) {
      EXPECT_EQ(row.type, "Observation");
      EXPECT_EQ(row.partition, fmt::format("p{}", row.id[1] - '0'));
      EXPECT_TRUE(rows.insert({row.id, row.entry.name, text(row.entry.value)}).second);
    }
    after = page->back();
  }
  EXPECT_EQ(rows, indexed);
}

TEST_P(StoreContractTest, ChangeFeedIsOrderedAndGapless) {
  auto receipt = commit({make_write("Patient", "a", 1), make_write("Patient", "b", 1)});
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->last_sequence - receipt->first_sequence, 1);
  ASSERT_TRUE(commit({make_write("Patient", "a", 2)}));
  auto changes = store_->changes_since(0, 100);
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 3u);
  for (std::size_t i = 1; i < changes->size(); ++i) {
    EXPECT_EQ((*changes)[i].sequence, (*changes)[i - 1].sequence + 1);
  }
  auto later = store_->changes_since((*changes)[1].sequence, 100);
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].id, "a");
  EXPECT_EQ((*later)[0].version, 2);
}

TEST_P(StoreContractTest, ConcurrentWritersEachVersionHasOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kRecordsPerThread = 25;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRecordsPerThread; ++i) {
        // Every thread writes its own records and also races for version 1 of a shared one.
        ASSERT_TRUE(commit({make_write("Observation", fmt::format("t{}-{}", t, i), 1)}));
        if (!commit({make_write("Observation", fmt::format("shared-{}", i), 1)})) ++conflicts;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(conflicts.load(), (kThreads - 1) * kRecordsPerThread);
  auto changes = store_->changes_since(0, 1000);
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(),
            static_cast<std::size_t>(kThreads * kRecordsPerThread + kRecordsPerThread));
  std::set<std::int64_t> sequences;
  for (const auto& change : *changes) sequences.insert(change.sequence);
  EXPECT_EQ(sequences.size(), changes->size());
  EXPECT_EQ(*sequences.rbegin() - *sequences.begin() + 1,
            static_cast<std::int64_t>(changes->size()));
}

// A record sealed under a new key commits with the key's creation; should a key already be stored
// under the name, the record was sealed under the wrong key and the whole batch is refused.
TEST_P(StoreContractTest, StrictKeyCreationRefusesTheBatchWhenTheKeyExists) {
  WriteBatch first;
  first.keys.push_back(
      {KeyWrite::Kind::kCreate, WrappedKey{"patient/k", "kek1", Bytes{1}, 5, 0}, ""});
  first.records.push_back(make_write("Patient", "k", 1));
  ASSERT_TRUE(store_->commit(first));

  WriteBatch racing;
  racing.keys.push_back(
      {KeyWrite::Kind::kCreate, WrappedKey{"patient/k", "kek1", Bytes{2}, 6, 0}, ""});
  racing.records.push_back(make_write("Observation", "o-k", 1));
  racing.audit.push_back(AuditAppend{"k", {7}});
  const auto refused = store_->commit(racing);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ((*store_->read_key("patient/k"))->wrapped, Bytes{1});
  EXPECT_FALSE(*store_->read_current("Observation", "o-k"));
  EXPECT_EQ(*store_->audit_size(), 0);
}

TEST_P(StoreContractTest, DataKeysCreateRewrapAndErase) {
  WrappedKey key{"patient/a", "kek1", Bytes{1, 2, 3}, 5, 0};
  WriteBatch create;
  create.keys.push_back({KeyWrite::Kind::kCreateIfAbsent, key, ""});
  ASSERT_TRUE(store_->commit(create));
  WriteBatch again;
  again.keys.push_back(
      {KeyWrite::Kind::kCreateIfAbsent, WrappedKey{"patient/a", "kek9", Bytes{9}, 6, 0}, ""});
  ASSERT_TRUE(store_->commit(again));
  auto read = store_->read_key("patient/a");
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->kek_id, "kek1");
  EXPECT_EQ((*read)->wrapped, (Bytes{1, 2, 3}));

  WriteBatch wrong_rewrap;
  wrong_rewrap.keys.push_back(
      {KeyWrite::Kind::kRewrap, WrappedKey{"patient/a", "kek2", Bytes{4}, 0, 0}, "kek0"});
  auto refused = store_->commit(wrong_rewrap);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  WriteBatch rewrap;
  rewrap.keys.push_back(
      {KeyWrite::Kind::kRewrap, WrappedKey{"patient/a", "kek2", Bytes{4}, 0, 0}, "kek1"});
  ASSERT_TRUE(store_->commit(rewrap));
  EXPECT_EQ((*store_->read_key("patient/a"))->kek_id, "kek2");

  WriteBatch erase;
  erase.keys.push_back({KeyWrite::Kind::kErase, WrappedKey{"patient/a", "", {}, 0, 77}, ""});
  ASSERT_TRUE(store_->commit(erase));
  auto erased = *store_->read_key("patient/a");
  ASSERT_TRUE(erased);
  EXPECT_TRUE(erased->erased());
  EXPECT_EQ(erased->erased_at_ms, 77);
  EXPECT_TRUE(erased->wrapped.empty());
  WriteBatch erase_missing;
  erase_missing.keys.push_back(
      {KeyWrite::Kind::kErase, WrappedKey{"patient/zz", "", {}, 0, 1}, ""});
  EXPECT_EQ(store_->commit(erase_missing).error().code, ErrorCode::kNotFound);

  auto listed = store_->list_keys("", 10);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "patient/a");
}

TEST_P(StoreContractTest, DataSurvivesReopen) {
  ASSERT_TRUE(commit({make_write("Patient", "a", 1, "kept")}));
  reopen();
  auto current = store_->read_current("Patient", "a");
  ASSERT_TRUE(current && *current);
  EXPECT_EQ(text((*current)->payload), "kept");
  EXPECT_EQ(store_->schema_version(), GetParam() == "postgresql"
                                          ? postgres::PostgresStore::kSchemaVersion
                                          : sqlite::SqliteStore::kSchemaVersion);
}

bool StoreContractTest::execute_sql(const std::string& sql, std::string* error) {
  if (database_) return database_->execute(sql, error);
  const std::string command =
      fmt::format("sqlite3 '{}' \"{}\" 2>&1", (dir_.path() / "store.db").string(), sql);
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char buffer[256];
  while (pipe && std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  const bool succeeded = pipe && ::pclose(pipe) == 0;
  if (error) *error = output;
  return succeeded;
}

TEST_P(StoreContractTest, RefusesANewerSchema) {
  store_.reset();
  ASSERT_TRUE(execute_sql("INSERT INTO kavach_schema (version) VALUES (999)"));
  auto opened = open_store(url_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(opened.error().message, ::testing::HasSubstr("newer than this binary"));
}

TEST_P(StoreContractTest, StoredVersionsCannotBeChangedInPlace) {
  ASSERT_TRUE(commit({make_write("Patient", "a", 1, "original")}));
  store_.reset();
  const std::string table = GetParam() == "postgresql" ? "kavach_records" : "records";
  std::string error;
  EXPECT_FALSE(execute_sql("UPDATE " + table + " SET version = 5", &error));
  EXPECT_THAT(error, ::testing::HasSubstr("append-only"));
  EXPECT_FALSE(execute_sql("DELETE FROM " + table, &error));
  EXPECT_THAT(error, ::testing::HasSubstr("append-only"));
  reopen();
  EXPECT_EQ((*store_->read_current("Patient", "a"))->version, 1);
}

TEST_P(StoreContractTest, TypeHistoryIsNewestFirstAcrossRecords) {
  ASSERT_TRUE(commit({make_write("Observation", "a", 1)}));
  ASSERT_TRUE(commit({make_write("Patient", "p", 1)}));
  ASSERT_TRUE(commit({make_write("Observation", "b", 1)}));
  ASSERT_TRUE(commit({make_write("Observation", "a", 2)}));
  auto page = store_->type_history("Observation", 0, 2);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->size(), 2U);
  EXPECT_EQ((*page)[0].id, "a");
  EXPECT_EQ((*page)[0].version, 2);
  EXPECT_EQ((*page)[1].id, "b");
  auto rest = store_->type_history("Observation", page->back().sequence, 10);
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->size(), 1U);
  EXPECT_EQ(rest->front().id, "a");
  EXPECT_EQ(rest->front().version, 1);
}

TEST_P(StoreContractTest, FindRecordedSelectsLiveRecordsByTheirCurrentVersionsTime) {
  const auto at = [](RecordWrite write, std::int64_t recorded_at_ms) {
    write.record.recorded_at_ms = recorded_at_ms;
    return write;
  };
  ASSERT_TRUE(commit({at(make_write("Observation", "a", 1), 1000)}));
  ASSERT_TRUE(commit(
      {at(make_write("Observation", "b", 1), 2000), at(make_write("Patient", "p", 1), 2000)}));
  ASSERT_TRUE(commit(
      {at(make_write("Observation", "c", 1), 3000), at(make_write("Observation", "d", 1), 3000)}));
  auto tombstone = at(make_write("Observation", "c", 2, ""), 4000);
  tombstone.record.deleted = true;
  ASSERT_TRUE(commit({tombstone}));
  ASSERT_TRUE(commit({at(make_write("Observation", "a", 2), 5000)}));
  ASSERT_TRUE(commit({at(make_write("Observation", "q\"\\", 1), 6000)}));

  const auto find = [&](std::int64_t from_ms, std::int64_t to_ms, const std::string& after = "",
                        std::size_t limit = 10) {
    auto ids = store_->find_recorded("Observation", RecordedRange{from_ms, to_ms}, after, limit);
    EXPECT_TRUE(ids) << ids.error().message;
    return ids.value_or(std::vector<std::string>{});
  };
  const RecordedRange all_time;
  EXPECT_THAT(*store_->find_recorded("Observation", all_time, "", 10),
              ElementsAre("a", "b", "d", "q\"\\"));
  EXPECT_THAT(*store_->find_recorded("Observation", all_time, "a", 2), ElementsAre("b", "d"));
  EXPECT_THAT(*store_->find_recorded("Patient", all_time, "", 10), ElementsAre("p"));
  EXPECT_THAT(*store_->find_recorded("Condition", all_time, "", 10), IsEmpty());
  // From inclusive, to exclusive; only the current version's time counts (a was written at 1000
  // and again at 5000), and a deleted record (c) never.
  EXPECT_THAT(find(2000, 3001), ElementsAre("b", "d"));
  EXPECT_THAT(find(2000, 3000), ElementsAre("b"));
  EXPECT_THAT(find(1000, 2000), IsEmpty());
  EXPECT_THAT(find(4000, 4001), IsEmpty());
  EXPECT_THAT(find(5000, 5001), ElementsAre("a"));
  EXPECT_THAT(find(0, 10'000, "b"), ElementsAre("d", "q\"\\"));
  EXPECT_THAT(find(0, 10'000, "", 2), ElementsAre("a", "b"));
  EXPECT_THAT(find(all_time.from_ms, 3000), ElementsAre("b"));
  EXPECT_THAT(find(3000, all_time.to_ms), ElementsAre("a", "d", "q\"\\"));
}

TEST_P(StoreContractTest, PartitionRecordsAreTheCurrentLiveVersionsInThePartition) {
  ASSERT_TRUE(commit({make_write("Patient", "p1", 1, "me", "p1")}));
  ASSERT_TRUE(commit({make_write("Observation", "o1", 1, "v1", "p1")}));
  ASSERT_TRUE(commit({make_write("Observation", "o1", 2, "v2", "p1")}));
  ASSERT_TRUE(commit({make_write("Condition", "c1", 1, "x", "p1")}));
  ASSERT_TRUE(commit({make_write("Observation", "o2", 1, "other", "p2")}));
  // o3 moved from p1 to p2 in its second version; c2 was deleted.
  ASSERT_TRUE(commit({make_write("Observation", "o3", 1, "was p1", "p1")}));
  ASSERT_TRUE(commit({make_write("Observation", "o3", 2, "now p2", "p2")}));
  ASSERT_TRUE(commit({make_write("Condition", "c2", 1, "x", "p1")}));
  auto tombstone = make_write("Condition", "c2", 2, "", "p1");
  tombstone.record.deleted = true;
  ASSERT_TRUE(commit({tombstone}));

  auto records = store_->partition_records("p1", "", "", 10);
  ASSERT_TRUE(records) << records.error().message;
  std::vector<std::string> seen;
  for (const auto& record : *records) {
    seen.push_back(fmt::format("{}/{}/{}", record.type, record.id, record.version));
  }
  EXPECT_THAT(seen, ElementsAre("Condition/c1/1", "Observation/o1/2", "Patient/p1/1"));
  auto after = store_->partition_records("p1", "Observation", "o1", 10);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 1U);
  EXPECT_EQ(after->front().type, "Patient");
  EXPECT_EQ(store_->partition_records("p2", "", "", 10)->size(), 2U);
}

AuditAppend audit_append(std::string subject, std::string entry) {
  return AuditAppend{std::move(subject), Bytes(entry.begin(), entry.end())};
}

TEST_P(StoreContractTest, AuditEntriesAreNumberedInCommitOrderWithTheirAction) {
  WriteBatch first;
  first.records.push_back(make_write("Patient", "a", 1));
  first.audit.push_back(audit_append("a", "created a"));
  first.audit.push_back(audit_append("", "node event"));
  auto receipt = store_->commit(std::move(first));
  ASSERT_TRUE(receipt) << receipt.error().message;
  EXPECT_EQ(receipt->first_audit_index, 0);

  WriteBatch second;
  second.audit.push_back(audit_append("a", "read a"));
  receipt = store_->commit(std::move(second));
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->first_audit_index, 2);
  EXPECT_EQ(receipt->first_sequence, 0);  // no record in that batch

  auto size = store_->audit_size();
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 3);
  auto entries = store_->read_audit_entries(1, 10);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 2U);
  EXPECT_EQ((*entries)[0].index, 1);
  EXPECT_EQ(text((*entries)[0].entry), "node event");
  EXPECT_EQ((*entries)[1].subject, "a");
  auto about = store_->audit_entries_about("a", 0, 10);
  ASSERT_TRUE(about);
  ASSERT_EQ(about->size(), 1U);
  EXPECT_EQ(text(about->front().entry), "read a");
}

TEST_P(StoreContractTest, ARefusedBatchAppendsNoAuditEntryAndLeavesNoGap) {
  ASSERT_TRUE(commit({make_write("Patient", "a", 1)}));
  WriteBatch stale;
  stale.records.push_back(make_write("Patient", "a", 1));  // expects no version: a conflict
  stale.audit.push_back(audit_append("a", "never happened"));
  auto refused = store_->commit(std::move(stale));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  WriteBatch next;
  next.audit.push_back(audit_append("a", "happened"));
  auto receipt = store_->commit(std::move(next));
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->first_audit_index, 0);
  EXPECT_EQ(*store_->audit_size(), 1);
}

TEST_P(StoreContractTest, ConcurrentAuditAppendsAreGapless) {
  constexpr int kThreads = 8;
  constexpr int kAppendsPerThread = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppendsPerThread; ++i) {
        WriteBatch batch;
        batch.audit.push_back(audit_append("p", fmt::format("{}-{}", t, i)));
        EXPECT_TRUE(store_->commit(std::move(batch)));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> seen;
  std::int64_t expected_index = 0;
  for (;;) {
    auto page = store_->read_audit_entries(expected_index, 50);
    ASSERT_TRUE(page);
    if (page->empty()) break;
    for (const auto& stored : *page) {
      EXPECT_EQ(stored.index, expected_index++);
      seen.insert(text(stored.entry));
    }
  }
  EXPECT_EQ(expected_index, kThreads * kAppendsPerThread);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kAppendsPerThread));
}

TEST_P(StoreContractTest, TilesAndCheckpointsAreKeptOnceAndReadInOrder) {
  WriteBatch batch;
  batch.audit_tiles.push_back(AuditTile{0, 1, Bytes(8192, 1)});
  batch.audit_tiles.push_back(AuditTile{0, 0, Bytes(8192, 0)});
  batch.audit_tiles.push_back(AuditTile{1, 0, Bytes(8192, 2)});
  batch.checkpoints.push_back(StoredCheckpoint{256, "note at 256", 10});
  ASSERT_TRUE(store_->commit(batch));
  // The same tile again, with other bytes, is ignored: the first one stays.
  WriteBatch again;
  again.audit_tiles.push_back(AuditTile{0, 0, Bytes(8192, 9)});
  again.checkpoints.push_back(StoredCheckpoint{256, "another note", 11});
  again.checkpoints.push_back(StoredCheckpoint{512, "note at 512", 12});
  ASSERT_TRUE(store_->commit(again));

  auto level0 = store_->read_audit_tiles(0, 0, 10);
  ASSERT_TRUE(level0);
  ASSERT_EQ(level0->size(), 2U);
  EXPECT_EQ((*level0)[0], (AuditTile{0, 0, Bytes(8192, 0)}));
  EXPECT_EQ((*level0)[1].index, 1);
  EXPECT_EQ(store_->read_audit_tiles(1, 0, 10)->size(), 1U);
  EXPECT_TRUE(store_->read_audit_tiles(0, 2, 10)->empty());

  auto latest = store_->latest_checkpoint();
  ASSERT_TRUE(latest && *latest);
  EXPECT_EQ(**latest, (StoredCheckpoint{512, "note at 512", 12}));
  auto after = store_->read_checkpoints(0, 10);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 2U);
  EXPECT_EQ((*after)[0].note, "note at 256");
}

TEST_P(StoreContractTest, TheAuditLogCannotBeChangedInPlace) {
  WriteBatch batch;
  batch.audit.push_back(audit_append("a", "entry"));
  batch.audit_tiles.push_back(AuditTile{0, 0, Bytes(8192, 0)});
  batch.checkpoints.push_back(StoredCheckpoint{1, "note", 1});
  ASSERT_TRUE(store_->commit(std::move(batch)));
  store_.reset();
  const std::string prefix = GetParam() == "postgresql" ? "kavach_" : "";
  for (const std::string table : {"audit_entries", "audit_tiles", "audit_checkpoints"}) {
    std::string error;
    EXPECT_FALSE(execute_sql("DELETE FROM " + prefix + table, &error)) << table;
    EXPECT_THAT(error, ::testing::HasSubstr("append-only"));
  }
  std::string error;
  EXPECT_FALSE(execute_sql("UPDATE " + prefix + "audit_entries SET subject = 'b'", &error));
  EXPECT_THAT(error, ::testing::HasSubstr("append-only"));
  reopen();
  EXPECT_EQ(*store_->audit_size(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest,
                         ::testing::Values("sqlite", "sqlite_merging", "sqlite_instrumented",
                                           "postgresql"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace kavach::store
