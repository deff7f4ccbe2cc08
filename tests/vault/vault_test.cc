#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/key_ring.h"
#include "store/forwarding_store.h"
#include "store/store_factory.h"
#include "support/temp_dir.h"
#include "vault/key_vault.h"
#include "vault/record_sealer.h"

namespace kavach::vault {
namespace {

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_ = std::make_unique<crypto::KeyRing>(*crypto::KeyRing::create(key_path_));
    store_ = *store::open_store("sqlite:" + (dir_.path() / "store.db").string());
    rebuild();
  }
  void rebuild() {
    keys_ = std::make_unique<KeyVault>(*store_, *ring_, clock_);
    sealer_ = std::make_unique<RecordSealer>(*keys_);
  }
  store::RecordVersion record(std::string partition, std::string id, std::int64_t version = 1) {
    store::RecordVersion r;
    r.partition = std::move(partition);
    r.type = "Observation";
    r.id = std::move(id);
    r.version = version;
    return r;
  }

  static store::RecordWrite new_record(store::RecordVersion record) {
    store::RecordWrite write;
    write.record = std::move(record);
    return write;
  }

  testing::TempDir dir_;
  std::filesystem::path key_path_ = dir_.path() / "node.key";
  ManualClock clock_{TimePoint{std::chrono::seconds{1'700'000'000}}};
  std::unique_ptr<crypto::KeyRing> ring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<KeyVault> keys_;
  std::unique_ptr<RecordSealer> sealer_;
};

TEST_F(VaultTest, SealedRecordOpensWhereItBelongs) {
  auto sealed = record("patient-1", "obs-1");
  ASSERT_TRUE(sealer_->seal(sealed, R"({"value":120})"));
  const std::string stored(sealed.payload.begin(), sealed.payload.end());
  EXPECT_EQ(stored.find("value"), std::string::npos);
  EXPECT_EQ(*sealer_->open(sealed), R"({"value":120})");
}

// The associated data is part of every sealed payload on disk: a change to its text would leave
// every existing store unreadable, so it is pinned here byte for byte.
TEST_F(VaultTest, ThePayloadIsBoundToPartitionTypeIdAndVersionInTheStoredFormat) {
  auto sealed = record("patient-1", "obs-1", 12);
  ASSERT_TRUE(sealer_->seal(sealed, R"({"value":120})"));
  const auto key = keys_->existing_key(key_name_for_partition("patient-1"));
  ASSERT_TRUE(key);
  const auto opened =
      crypto::open(*key, sealed.payload, "kavach/record/v1\npatient-1\nObservation\nobs-1\n12");
  ASSERT_TRUE(opened);
  EXPECT_EQ(crypto::as_text(*opened), R"({"value":120})");
  EXPECT_FALSE(
      crypto::open(*key, sealed.payload, "kavach/record/v1\npatient-1\nObservation\nobs-1\n1"));
}

TEST_F(VaultTest, ASealedPayloadCarriesItsDigestAndOneWithoutIsHashedWhenAsked) {
  auto sealed = record("patient-1", "obs-1");
  ASSERT_TRUE(sealer_->seal(sealed, R"({"value":120})"));
  const auto digest = crypto::sha256(sealed.payload);
  EXPECT_EQ(sealed.payload_sha256, store::Bytes(digest.begin(), digest.end()));
  EXPECT_EQ(payload_digest(sealed), digest);
  EXPECT_TRUE(payload_digest_holds(sealed));

  // A version stored before digests were: the same answer, computed.
  auto older = sealed;
  older.payload_sha256.clear();
  EXPECT_EQ(payload_digest(older), digest);
  EXPECT_TRUE(payload_digest_holds(older));
  attach_payload_digest(older);
  EXPECT_EQ(older.payload_sha256, sealed.payload_sha256);

  // The stored digest is what is named, so one that is not the payload's is caught by asking.
  auto changed = sealed;
  changed.payload_sha256[0] ^= 0x01;
  EXPECT_NE(payload_digest(changed), digest);
  EXPECT_FALSE(payload_digest_holds(changed));
}

TEST_F(VaultTest, AFirstWriteCarriesItsNewKeyInTheSameBatch) {
  KeysToCreate batch_keys;
  auto patient = record("patient-9", "p-9");
  patient.type = "Patient";
  auto observation = record("patient-9", "obs-9");
  ASSERT_TRUE(sealer_->seal(patient, "patient", batch_keys));
  ASSERT_TRUE(sealer_->seal(observation, "observation", batch_keys));
  EXPECT_FALSE(*store_->read_key("patient/patient-9")) << "nothing is stored before the commit";
  ASSERT_FALSE(batch_keys.empty());

  store::WriteBatch batch;
  batch_keys.add_to(batch);
  ASSERT_EQ(batch.keys.size(), 1u) << "both records share the one new key";
  EXPECT_EQ(batch.keys[0].kind, store::KeyWrite::Kind::kCreate);
  EXPECT_TRUE(batch_keys.empty());
  batch.records.push_back(new_record(patient));
  batch.records.push_back(new_record(observation));
  ASSERT_TRUE(store_->commit(std::move(batch)));
  EXPECT_EQ(*sealer_->open(patient), "patient");
  EXPECT_EQ(*sealer_->open(observation), "observation");

  // Once stored, the key is found: a later batch creates nothing.
  KeysToCreate later;
  auto second = record("patient-9", "obs-10");
  ASSERT_TRUE(sealer_->seal(second, "second", later));
  EXPECT_TRUE(later.empty());
  EXPECT_EQ(*sealer_->open(second), "second");
}

TEST_F(VaultTest, AKeyStoredFirstByAnotherWriterRefusesTheBatchSealedUnderItsOwn) {
  KeysToCreate mine;
  auto observation = record("patient-7", "obs-7");
  ASSERT_TRUE(sealer_->seal(observation, "mine", mine));
  auto theirs = record("patient-7", "obs-8");
  ASSERT_TRUE(sealer_->seal(theirs, "theirs"));  // stores the key first
  store::WriteBatch batch;
  mine.add_to(batch);
  batch.records.push_back(new_record(observation));
  const auto refused = store_->commit(std::move(batch));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_FALSE(*store_->read_current("Observation", "obs-7"));
}

TEST_F(VaultTest, PayloadCopiedToAnotherRowFailsToOpen) {
  auto original = record("patient-1", "obs-1");
  ASSERT_TRUE(sealer_->seal(original, "secret"));
  for (auto moved : {record("patient-1", "obs-2"), record("patient-1", "obs-1", 2),
                     record("patient-2", "obs-1")}) {
    ASSERT_TRUE(sealer_->seal(moved, "other"));  // make sure patient-2 has a key
    moved.payload = original.payload;
    auto opened = sealer_->open(moved);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, ErrorCode::kDataLoss);
  }
}

TEST_F(VaultTest, PatientsHaveDistinctKeys) {
  auto a = keys_->key(key_name_for_partition("a"));
  auto b = keys_->key(key_name_for_partition("b"));
  ASSERT_TRUE(a && b);
  EXPECT_NE(crypto::to_hex(a->view()), crypto::to_hex(b->view()));
  EXPECT_EQ(crypto::to_hex(a->view()), crypto::to_hex(keys_->key("patient/a")->view()));
  auto stored = *store_->read_key("patient/a");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->kek_id, ring_->active().id);
  EXPECT_EQ(std::search(stored->wrapped.begin(), stored->wrapped.end(), a->view().begin(),
                        a->view().end()),
            stored->wrapped.end());
}

// Within one request a patient's key is read and unwrapped once; an erasure committed meanwhile
// holds from the next request on.
TEST_F(VaultTest, ARequestOpensAPatientsRecordsUnderTheKeyItOpenedFirst) {
  auto first = record("patient-3", "obs-1");
  auto second = record("patient-3", "obs-2");
  auto other = record("patient-4", "obs-3");
  ASSERT_TRUE(sealer_->seal(first, "one"));
  ASSERT_TRUE(sealer_->seal(second, "two"));
  ASSERT_TRUE(sealer_->seal(other, "three"));
  OpenedKeys opened;
  EXPECT_EQ(*sealer_->open(first, opened), "one");
  ASSERT_TRUE(keys_->erase("patient/patient-3"));
  EXPECT_EQ(*sealer_->open(second, opened), "two");
  EXPECT_EQ(*sealer_->open(other, opened), "three") << "each partition under its own key";
  OpenedKeys next_request;
  EXPECT_EQ(sealer_->open(second, next_request).error().code, ErrorCode::kGone);
  EXPECT_EQ(sealer_->open(second).error().code, ErrorCode::kGone);
  // Past its bound the cache starts over; every record still opens under its own key.
  std::vector<store::RecordVersion> many;
  for (std::size_t i = 0; i <= OpenedKeys::kKeysMax + 1; ++i) {
    many.push_back(record("patient-many-" + std::to_string(i), "obs"));
    ASSERT_TRUE(sealer_->seal(many.back(), std::to_string(i)));
  }
  for (std::size_t i = 0; i < many.size(); ++i) {
    EXPECT_EQ(*sealer_->open(many[i], opened), std::to_string(i));
  }
  // A payload moved to another patient's row still fails under the cached keys.
  auto moved = record("patient-4", "obs-2");
  moved.payload = second.payload;
  EXPECT_EQ(sealer_->open(moved, opened).error().code, ErrorCode::kDataLoss);
}

// Counts the data-key reads that reach the store.
class KeyReadCountingStore final : public store::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  Result<std::optional<store::WrappedKey>> read_key(const std::string& name) override {
    ++reads;
    return ForwardingStore::read_key(name);
  }
  int reads = 0;
};

// A batch reads and unwraps each stored key once, however many of its records it seals; each
// record is still sealed under its own partition's key, and past kStoredKeysMax partitions the
// keys are read again rather than held.
TEST_F(VaultTest, ABatchReadsEachStoredKeyOnce) {
  auto counting = std::make_unique<KeyReadCountingStore>(
      *store::open_store("sqlite:" + (dir_.path() / "counted.db").string()));
  auto& store = *counting;
  KeyVault keys(store, *ring_, clock_);
  RecordSealer sealer(keys);
  for (const char* patient : {"patient-1", "patient-2"}) {
    ASSERT_TRUE(keys.key(key_name_for_partition(patient)));
  }
  store.reads = 0;
  KeysToCreate batch_keys;
  std::vector<store::RecordVersion> sealed;
  for (int i = 0; i < 100; ++i) {
    sealed.push_back(record(i % 2 == 0 ? "patient-1" : "patient-2", "obs-" + std::to_string(i)));
    ASSERT_TRUE(sealer.seal(sealed.back(), std::to_string(i), batch_keys));
  }
  EXPECT_EQ(store.reads, 2);
  EXPECT_TRUE(batch_keys.empty()) << "both keys were stored: nothing to create";
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*sealer.open(sealed[i]), std::to_string(i));
  auto moved = sealed[1];
  moved.partition = "patient-1";
  EXPECT_EQ(sealer.open(moved).error().code, ErrorCode::kDataLoss);

  KeysToCreate many_keys;
  const std::size_t partitions = KeysToCreate::kStoredKeysMax + 2;
  for (std::size_t i = 0; i < partitions; ++i) {
    ASSERT_TRUE(keys.key(key_name_for_partition("many-" + std::to_string(i))));
  }
  store.reads = 0;
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < partitions; ++i) {
      auto each = record("many-" + std::to_string(i), "obs");
      ASSERT_TRUE(sealer.seal(each, "x", many_keys));
    }
  }
  EXPECT_EQ(store.reads, static_cast<int>(partitions + 2)) << "the two keys past the bound twice";
}

TEST_F(VaultTest, ErasedPatientCanNeverBeReadAgain) {
  auto sealed = record("patient-1", "obs-1");
  ASSERT_TRUE(sealer_->seal(sealed, "secret"));
  ASSERT_TRUE(keys_->erase("patient/patient-1"));
  auto opened = sealer_->open(sealed);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kGone);
  // Writing again does not resurrect a key: the partition stays erased.
  auto again = record("patient-1", "obs-9");
  EXPECT_EQ(sealer_->seal(again, "new").error().code, ErrorCode::kGone);
  EXPECT_EQ(keys_->erase("patient/patient-1").error().code, ErrorCode::kGone);
  EXPECT_EQ(keys_->erase("patient/nobody").error().code, ErrorCode::kNotFound);
}

TEST_F(VaultTest, RotationRewrapsEveryKeyAndRecordsStayReadable) {
  auto sealed = record("patient-1", "obs-1");
  ASSERT_TRUE(sealer_->seal(sealed, "before rotation"));
  auto other = record("patient-2", "obs-2");
  ASSERT_TRUE(sealer_->seal(other, "erased"));
  ASSERT_TRUE(keys_->erase("patient/patient-2"));
  const std::string old_kek = ring_->active().id;

  ASSERT_TRUE(ring_->add_key(key_path_));
  auto report = keys_->rewrap_all();
  ASSERT_TRUE(report);
  EXPECT_EQ(report->rewrapped, 1u);
  EXPECT_EQ(report->erased_skipped, 1u);
  ASSERT_TRUE(ring_->retire_inactive(key_path_));
  ring_ = std::make_unique<crypto::KeyRing>(*crypto::KeyRing::load(key_path_));
  rebuild();
  EXPECT_EQ(ring_->find(old_kek), nullptr);
  EXPECT_EQ(*sealer_->open(sealed), "before rotation");
  EXPECT_EQ((*store_->read_key("patient/patient-1"))->kek_id, ring_->active().id);
  EXPECT_EQ(keys_->rewrap_all()->rewrapped, 0u);
}

TEST_F(VaultTest, AKeyFileWithoutTheWrappingKekIsAClearError) {
  auto sealed = record("patient-1", "obs-1");
  ASSERT_TRUE(sealer_->seal(sealed, "x"));
  testing::TempDir other_dir;
  ring_ = std::make_unique<crypto::KeyRing>(*crypto::KeyRing::create(other_dir.path() / "k"));
  rebuild();
  auto opened = sealer_->open(sealed);
  ASSERT_FALSE(opened);
  EXPECT_THAT(opened.error().message, ::testing::HasSubstr("which the key file does not hold"));
}

TEST_F(VaultTest, BlindIndexIsStableAndTypeScoped) {
  auto first = sealer_->blind_index("Patient", "family", "sharma");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->name, "family");
  EXPECT_EQ(first->value, sealer_->blind_index("Patient", "family", "sharma")->value);
  EXPECT_NE(first->value, sealer_->blind_index("Practitioner", "family", "sharma")->value);
  EXPECT_EQ(first->value.size(), 32u);
}

TEST_F(VaultTest, NodeKeysAreSharedFromTheCacheAndSurviveARestartUnchanged) {
  auto shared = keys_->node_key(kNodeBlindIndexKey);
  ASSERT_TRUE(shared) << shared.error().message;
  auto again = keys_->node_key(kNodeBlindIndexKey);
  ASSERT_TRUE(again);
  EXPECT_EQ(shared->get(), again->get());  // one unwrapped copy, not one per use
  auto copied = keys_->key(std::string(kNodeBlindIndexKey));
  ASSERT_TRUE(copied);
  EXPECT_TRUE(std::ranges::equal(copied->view(), (*shared)->view()));

  rebuild();  // a new vault over the same store loads the stored key, not a new one
  auto reloaded = keys_->node_key(kNodeBlindIndexKey);
  ASSERT_TRUE(reloaded);
  EXPECT_TRUE(std::ranges::equal((*reloaded)->view(), (*shared)->view()));

  auto patient = keys_->node_key("patient/p1");
  ASSERT_FALSE(patient);
  EXPECT_EQ(patient.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace kavach::vault
