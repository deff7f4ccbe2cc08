// Backup and restore end to end over the store seam: every record version, index entry, data key
// and audit entry comes back equal, on SQLite and on PostgreSQL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <fmt/format.h>

#include "audit/audit_log.h"
#include "audit/log_verifier.h"
#include "backup/backup_writer.h"
#include "backup/restorer.h"
#include "backup/verifier.h"
#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "store/forwarding_store.h"
#include "store/store_factory.h"
#include "support/postgres_test_database.h"
#include "support/temp_dir.h"
#include "vault/key_vault.h"

namespace kavach::backup {
namespace {

using ::testing::HasSubstr;

// Everything a node's store holds, in a form two stores can be compared by. Sequences are left
// out (a restore numbers its change feed afresh) but their order is kept; keys are compared
// unwrapped (a restored node wraps them under its own KEK).
struct LogicalState {
  std::vector<std::string> records;
  std::map<std::string, std::vector<std::string>> index;  // current versions only
  std::vector<std::string> keys;
  std::vector<std::string> audit;
  std::vector<std::string> tiles;
  std::vector<std::string> checkpoints;
  bool operator==(const LogicalState&) const = default;
};

std::string hex(const store::Bytes& bytes) { return crypto::to_hex(bytes); }

LogicalState dump(store::Store& store, const crypto::KeyRing& ring) {
  LogicalState state;
  for (std::int64_t after = 0;;) {
    const auto page = *store.changes_since(after, 1000);
    if (page.empty()) break;
    for (const auto& r : page) {
      state.records.push_back(fmt::format("{}|{}|{}|{}|{}|{}|{}", r.partition, r.type, r.id,
                                          r.version, r.recorded_at_ms, r.deleted, hex(r.payload)));
      after = r.sequence;
      const auto current = *store.read_current(r.type, r.id);
      if (current && current->version == r.version) {
        auto& entries = state.index[r.type + "/" + r.id];
        entries.clear();
        const auto index = *store.index_entries(r.type, r.id);
        for (const auto& entry : index) {
          entries.push_back(entry.name + "=" + hex(entry.value));
        }
      }
    }
  }
  for (std::string after;;) {
    const auto page = *store.list_keys(after, 1000);
    if (page.empty()) break;
    for (const auto& key : page) {
      std::string bytes = "erased";
      if (!key.erased()) bytes = crypto::to_hex((*vault::unwrap_key(ring, key)).view());
      state.keys.push_back(
          fmt::format("{}|{}|{}|{}", key.name, key.created_at_ms, key.erased_at_ms, bytes));
    }
    after = page.back().name;
  }
  for (std::int64_t begin = 0;;) {
    const auto page = *store.read_audit_entries(begin, 1000);
    if (page.empty()) break;
    for (const auto& e : page) {
      state.audit.push_back(fmt::format("{}|{}|{}", e.index, e.subject, hex(e.entry)));
    }
    begin = page.back().index + 1;
  }
  for (int level = 0; level < 4; ++level) {
    const auto tiles = *store.read_audit_tiles(level, 0, 1000);
    for (const auto& tile : tiles) {
      state.tiles.push_back(fmt::format("{}|{}|{}", tile.level, tile.index, hex(tile.hashes)));
    }
  }
  const auto checkpoints = *store.read_checkpoints(0, 1000);
  for (const auto& checkpoint : checkpoints) {
    state.checkpoints.push_back(
        fmt::format("{}|{}|{}", checkpoint.size, checkpoint.recorded_at_ms, checkpoint.note));
  }
  return state;
}

class BackupRestoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      source_db_ = testing::PostgresTestDatabase::create();
      target_db_ = testing::PostgresTestDatabase::create();
      if (!source_db_ || !target_db_) GTEST_SKIP() << "no test PostgreSQL server configured";
    }
    ring_ = std::make_unique<crypto::KeyRing>(*crypto::KeyRing::create(dir_.path() / "node.key"));
    target_ring_ =
        std::make_unique<crypto::KeyRing>(*crypto::KeyRing::create(dir_.path() / "new.key"));
    source_ = *store::open_store(url(source_db_.get(), "source.db"));
    keys_ = std::make_unique<vault::KeyVault>(*source_, *ring_, clock_);
    auto signer = audit::node_audit_signer(*keys_, "");
    log_ = std::move(*audit::AuditLog::open(*source_, std::move(*signer), clock_));
    key_ = std::make_unique<BackupKey>(*BackupKey::create(dir_.path() / "backup.key"));
    repository_ = *DirectoryRepository::open(dir_.path() / "repo", clock_);
  }

  std::string url(const testing::PostgresTestDatabase* database, std::string_view file) {
    return database != nullptr ? database->url()
                               : "sqlite:" + (dir_.path() / std::string(file)).string();
  }

  std::unique_ptr<store::Store> fresh_target(std::string_view name = "target.db") {
    if (GetParam() == "postgresql" && name == "target.db")
      return *store::open_store(target_db_->url());
    return *store::open_store("sqlite:" + (dir_.path() / std::string(name)).string());
  }

  // Writes `count` versions of records for patients, with index entries and the audit entries
  // that record them, then signs a checkpoint.
  void write_records(int first, int count, std::string_view marker = "clinical") {
    for (int i = first; i < first + count; ++i) {
      const std::string patient = fmt::format("patient-{}", i % 7);
      ASSERT_TRUE(keys_->key("patient/" + patient));
      const std::string id = fmt::format("obs-{}", i % 40);
      const auto current = *source_->read_current("Observation", id);
      store::WriteBatch batch;
      store::RecordWrite write;
      write.record = store::RecordVersion{
          patient, "Observation",         id,    current ? current->version + 1 : 1,
          0,       1'700'000'000'000 + i, false, {},
          {}};
      const std::string payload = fmt::format("{} payload {}", marker, i);
      write.record.payload.assign(payload.begin(), payload.end());
      write.expected_version = current ? current->version : store::kNoVersion;
      write.index = {{"subject", bytes("Patient/" + patient)},
                     {"code", bytes(fmt::format("c{}", i % 3))}};
      batch.records.push_back(std::move(write));
      audit::AuditEntry entry;
      entry.time_ms = 1000 + i;
      entry.action = audit::Action::kRecordCreate;
      entry.actor_id = "client-1";
      entry.subject = patient;
      entry.resource_type = "Observation";
      entry.resource_id = id;
      ASSERT_TRUE(audit::append_entry(batch, entry));
      ASSERT_TRUE(source_->commit(std::move(batch)));
    }
    ASSERT_TRUE(log_->checkpoint_now());
  }

  void delete_record(const std::string& id) {
    const auto current = *source_->read_current("Observation", id);
    store::RecordWrite write;
    write.record = *current;
    write.record.version += 1;
    write.record.deleted = true;
    write.expected_version = current->version;
    store::WriteBatch batch;
    batch.records.push_back(std::move(write));
    ASSERT_TRUE(source_->commit(std::move(batch)));
  }

  static store::Bytes bytes(const std::string& text) {
    return store::Bytes(text.begin(), text.end());
  }

  SnapshotSummary snapshot(SnapshotOptions options = {}) {
    BackupWriter writer(*source_, *ring_, *key_, *repository_, clock_);
    auto summary = writer.take_snapshot(options);
    EXPECT_TRUE(summary) << summary.error().message;
    clock_.advance(std::chrono::seconds(10));
    return *summary;
  }

  testing::TempDir dir_;
  ManualClock clock_{TimePoint{std::chrono::seconds{1'800'000'000}}};
  std::unique_ptr<testing::PostgresTestDatabase> source_db_;
  std::unique_ptr<testing::PostgresTestDatabase> target_db_;
  std::unique_ptr<crypto::KeyRing> ring_;
  std::unique_ptr<crypto::KeyRing> target_ring_;
  std::unique_ptr<store::Store> source_;
  std::unique_ptr<vault::KeyVault> keys_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<BackupKey> key_;
  std::unique_ptr<DirectoryRepository> repository_;
};

TEST_P(BackupRestoreTest, RestoresEveryVersionIndexEntryKeyAndAuditEntry) {
  write_records(0, 300);  // 300 audit entries: a full tile, and records with several versions
  delete_record("obs-3");
  const auto summary = snapshot();
  EXPECT_TRUE(summary.manifest.parent.empty());
  EXPECT_EQ(summary.new_record_versions, 301);
  EXPECT_EQ(summary.manifest.audit_size, 300);

  auto target = fresh_target();
  auto report = restore_snapshot(*repository_, *key_, summary.id, *target, *target_ring_);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->record_versions, 301);
  EXPECT_EQ(report->audit_entries, 300);
  EXPECT_GE(report->tiles, 1);
  const auto source_state = dump(*source_, *ring_);
  EXPECT_EQ(dump(*target, *target_ring_), source_state);
  EXPECT_EQ(source_state.index.at("Observation/obs-3"), std::vector<std::string>{});
  EXPECT_EQ(source_state.index.at("Observation/obs-4").size(), 2U);
  // Each restored payload has its digest beside it again, so reads of it are audited without
  // hashing it (the snapshot holds payloads alone).
  const auto restored_versions = target->changes_since(0, 1000);
  ASSERT_TRUE(restored_versions);
  for (const auto& restored : *restored_versions) {
    if (restored.payload.empty()) continue;
    const auto digest = crypto::sha256(restored.payload);
    EXPECT_EQ(restored.payload_sha256, store::Bytes(digest.begin(), digest.end()));
  }

  // The restored audit log still carries the node's signatures.
  vault::KeyVault target_keys(*target, *target_ring_, clock_);
  auto signer = audit::node_audit_signer(target_keys, "");
  EXPECT_EQ(signer->verifier_key(), log_->verifier_key());
  auto verified = audit::verify_log(*target, *audit::NoteVerifier::parse(log_->verifier_key()));
  ASSERT_TRUE(verified);
  EXPECT_TRUE(verified->ok());
  EXPECT_EQ(verified->checkpoint_size, 300U);
}

TEST_P(BackupRestoreTest, IncrementalSnapshotsCarryOnlyTheChangesAndRestoreAnyPointInTime) {
  write_records(0, 50);
  const auto first = snapshot();
  const auto at_first = dump(*source_, *ring_);

  write_records(50, 20);
  delete_record("obs-1");
  ASSERT_TRUE(keys_->erase("patient/patient-2"));
  const auto second = snapshot();
  EXPECT_EQ(second.manifest.parent, first.id);
  EXPECT_EQ(second.new_record_versions, 21);
  EXPECT_EQ(second.new_audit_entries, 20);
  EXPECT_EQ(second.manifest.erased_keys, 1);

  auto latest = fresh_target();
  auto report = restore_snapshot(*repository_, *key_, second.id, *latest, *target_ring_);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->chain_length, 2U);
  EXPECT_EQ(dump(*latest, *target_ring_), dump(*source_, *ring_));

  // The first point in time, except that the key erased since stays erased.
  auto older = fresh_target("older.db");
  auto older_report = restore_snapshot(*repository_, *key_, first.id, *older, *target_ring_);
  ASSERT_TRUE(older_report) << older_report.error().message;
  EXPECT_EQ(older_report->erased_since_snapshot, 1);
  auto older_state = dump(*older, *target_ring_);
  EXPECT_EQ(older_state.records, at_first.records);
  EXPECT_EQ(older_state.audit, at_first.audit);
  EXPECT_EQ(older_state.index, at_first.index);
  ASSERT_EQ(older_state.keys.size(), at_first.keys.size());
  for (std::size_t i = 0; i < older_state.keys.size(); ++i) {
    if (older_state.keys[i].starts_with("patient/patient-2|")) {
      EXPECT_THAT(older_state.keys[i], HasSubstr("|erased"));
    } else {
      EXPECT_EQ(older_state.keys[i], at_first.keys[i]);
    }
  }
}

TEST_P(BackupRestoreTest, AnUnchangedNodeListsNoNewSnapshotAndKeyChunksDeduplicate) {
  write_records(0, 30);
  const auto first = snapshot();
  const auto again = snapshot();
  EXPECT_TRUE(again.unchanged);
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(repository_->snapshots()->size(), 1U);
  write_records(30, 1);  // a new record, no new key: the key chunks are the parent's
  const auto next = snapshot();
  EXPECT_FALSE(next.unchanged);
  EXPECT_EQ(next.manifest.key_chunks, first.manifest.key_chunks);
  EXPECT_GE(next.objects_reused, first.manifest.key_chunks.size());
}

TEST_P(BackupRestoreTest, SmallSegmentsRestoreTheSame) {
  write_records(0, 120);
  SnapshotOptions options;
  options.segment_bytes = 512;
  const auto summary = snapshot(options);
  EXPECT_GT(summary.manifest.record_segments.size(), 10U);
  auto target = fresh_target();
  ASSERT_TRUE(restore_snapshot(*repository_, *key_, summary.id, *target, *target_ring_));
  EXPECT_EQ(dump(*target, *target_ring_), dump(*source_, *ring_));
}

// A target store that goes wrong beneath the restore, as a faulty disk or backend would: it
// changes a payload or loses index rows as they are read back.
class FaultyTarget final : public store::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  bool change_a_payload = false;
  bool lose_index_rows = false;

  Result<std::vector<store::RecordVersion>> scan_records(
      const std::optional<store::RecordVersion>& after, std::size_t limit) override {
    auto page = ForwardingStore::scan_records(after, limit);
    if (page && change_a_payload && !after && !page->empty()) page->front().payload.push_back(0);
    return page;
  }
  Result<std::vector<store::IndexRow>> scan_index(const std::optional<store::IndexRow>& after,
                                                  std::size_t limit) override {
    auto page = ForwardingStore::scan_index(after, limit);
    if (page && lose_index_rows && !after && !page->empty()) page->erase(page->begin());
    return page;
  }
  Result<std::vector<store::IndexEntry>> index_entries(const std::string& type,
                                                       const std::string& id) override {
    auto entries = ForwardingStore::index_entries(type, id);
    if (entries && lose_index_rows && !entries->empty()) entries->erase(entries->begin());
    return entries;
  }
};

TEST_P(BackupRestoreTest, ATargetThatChangesOrLosesRowsFailsTheRestore) {
  write_records(0, 30);
  const auto summary = snapshot();
  FaultyTarget changing(fresh_target("changing.db"));
  changing.change_a_payload = true;
  auto changed = restore_snapshot(*repository_, *key_, summary.id, changing, *target_ring_);
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error().code, ErrorCode::kDataLoss);
  EXPECT_THAT(changed.error().message, HasSubstr("do not match"));
  // Where the row-by-row reading finds the difference, it names it.
  FaultyTarget losing(fresh_target("losing.db"));
  losing.lose_index_rows = true;
  auto lost = restore_snapshot(*repository_, *key_, summary.id, losing, *target_ring_);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, ErrorCode::kDataLoss);
  EXPECT_THAT(lost.error().message, HasSubstr("the index of Observation/"));
}

TEST_P(BackupRestoreTest, RefusesATargetThatIsNotEmpty) {
  write_records(0, 5);
  const auto summary = snapshot();
  auto result = restore_snapshot(*repository_, *key_, summary.id, *source_, *ring_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(Backends, BackupRestoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& param_info) { return param_info.param; });

// The rest need one backend only: they are about the repository's objects.
class BackupObjectsTest : public BackupRestoreTest {};

std::vector<std::filesystem::path> object_files(const std::filesystem::path& repo) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(repo / "objects")) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  return files;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_P(BackupObjectsTest, NothingInTheRepositoryIsReadableWithoutTheBackupKey) {
  write_records(0, 20, "UNIQUEMARKER7731");
  const auto summary = snapshot();
  const auto patient_key = *keys_->existing_key("patient/patient-1");
  const std::string key_hex = crypto::to_hex(patient_key.view());
  const std::string key_raw(patient_key.view().begin(), patient_key.view().end());
  for (const auto& file : object_files(dir_.path() / "repo")) {
    const auto content = read_all(file);
    EXPECT_EQ(content.find("UNIQUEMARKER7731"), std::string::npos) << file;
    EXPECT_EQ(content.find("patient-1"), std::string::npos) << file;
    EXPECT_EQ(content.find(key_raw), std::string::npos) << file;
    EXPECT_EQ(content.find(key_hex), std::string::npos) << file;
  }
  EXPECT_FALSE(summary.id.empty());
}

TEST_P(BackupObjectsTest, AChangedObjectFailsVerificationAndRestore) {
  write_records(0, 40);
  const auto summary = snapshot();
  RepositoryVerifyOptions options;
  options.scratch_dir = dir_.path() / "scratch";
  options.audit_verifier_key = log_->verifier_key();
  auto clean = verify_repository(*repository_, *key_, options);
  ASSERT_TRUE(clean) << clean.error().message;
  EXPECT_TRUE(clean->ok()) << clean->problems.front();
  EXPECT_EQ(clean->audit_entries, 40);
  EXPECT_EQ(clean->audit_checkpoint_size, 40U);

  // Flip one byte of the record segment on the repository's disk.
  const auto& segment = summary.manifest.record_segments.front();
  const auto path = dir_.path() / "repo" / "objects" / segment.substr(0, 2) / segment;
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  std::string content = read_all(path);
  content[content.size() / 2] ^= 0x01;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;

  auto damaged = verify_repository(*repository_, *key_, options);
  ASSERT_TRUE(damaged);
  ASSERT_FALSE(damaged->ok());
  EXPECT_THAT(damaged->problems.front(), HasSubstr(segment));
  auto target = fresh_target();
  auto restored = restore_snapshot(*repository_, *key_, summary.id, *target, *target_ring_);
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, ErrorCode::kDataLoss);
}

TEST_P(BackupObjectsTest, VerificationFindsAnAuditLogThatIsNotTheOneTheNodeSigned) {
  write_records(0, 30);
  const auto witnessed = **log_->checkpoint_now();
  snapshot();
  RepositoryVerifyOptions options;
  options.scratch_dir = dir_.path() / "scratch";
  options.audit_verifier_key = log_->verifier_key();
  options.trusted_checkpoint = witnessed.note;
  EXPECT_TRUE(verify_repository(*repository_, *key_, options)->ok());

  // A checkpoint from another log (another node's key) is not this log's.
  testing::TempDir other_dir;
  auto other_ring = *crypto::KeyRing::create(other_dir.path() / "k");
  auto other_store = *store::open_store("sqlite:" + (other_dir.path() / "s.db").string());
  vault::KeyVault other_keys(*other_store, other_ring, clock_);
  options.audit_verifier_key = (*audit::node_audit_signer(other_keys, "")).verifier_key();
  auto foreign = verify_repository(*repository_, *key_, options);
  ASSERT_TRUE(foreign);
  EXPECT_FALSE(foreign->ok());
}

TEST_P(BackupObjectsTest, ReadSharesTogetherReadEveryObjectOnce) {
  write_records(0, 60);
  SnapshotOptions options;
  options.segment_bytes = 256;
  snapshot(options);
  RepositoryVerifyOptions verify;
  verify.scratch_dir = dir_.path() / "scratch";
  std::size_t read = 0;
  std::size_t objects = 0;
  for (std::uint32_t share = 1; share <= 4; ++share) {
    verify.share = ReadShare{share, 4};
    const auto report = *verify_repository(*repository_, *key_, verify);
    EXPECT_TRUE(report.ok());
    read += report.objects_read;
    objects = report.objects;
  }
  EXPECT_GT(objects, 8U);
  EXPECT_EQ(read, objects);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, BackupObjectsTest, ::testing::Values("sqlite"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace kavach::backup
