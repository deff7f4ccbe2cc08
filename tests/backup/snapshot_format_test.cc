#include "backup/snapshot_format.h"

#include <gtest/gtest.h>

#include "text_bytes.h"

namespace kavach::backup {
namespace {

std::vector<RecordEntry> sample_records() {
  std::vector<RecordEntry> records(2);
  records[0].record =
      store::RecordVersion{"p1", "Observation", "o1", 2, 17, 1234, false, bytes("sealed"), {}};
  records[0].has_index = true;
  records[0].index = {{"code", bytes("tag1")}, {"subject", bytes("tag2")}};
  records[1].record = store::RecordVersion{"", "Organization", "org", 1, 18, 99, true, {}, {}};
  return records;
}

TEST(SnapshotFormatTest, RecordsRoundTrip) {
  const auto records = sample_records();
  const auto decoded = decode_records(encode_records(records));
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 2U);
  EXPECT_EQ((*decoded)[0].record.payload, bytes("sealed"));
  EXPECT_EQ((*decoded)[0].record.sequence, 17);
  EXPECT_EQ((*decoded)[0].index, records[0].index);
  EXPECT_TRUE((*decoded)[0].has_index);
  EXPECT_TRUE((*decoded)[1].record.deleted);
  EXPECT_FALSE((*decoded)[1].has_index);
}

TEST(SnapshotFormatTest, KeysAuditTilesAndCheckpointsRoundTrip) {
  std::vector<KeyEntry> keys;
  keys.push_back(KeyEntry{"patient/a", crypto::SecretBytes::random(32), 5, 0});
  keys.push_back(KeyEntry{"patient/b", {}, 6, 7});
  const auto decoded_keys = *decode_keys(encode_keys(keys));
  ASSERT_EQ(decoded_keys.size(), 2U);
  EXPECT_TRUE(std::equal(decoded_keys[0].key.view().begin(), decoded_keys[0].key.view().end(),
                         keys[0].key.view().begin()));
  EXPECT_EQ(decoded_keys[1].erased_at_ms, 7);
  EXPECT_TRUE(decoded_keys[1].key.empty());

  const std::vector<store::StoredAuditEntry> audit = {{0, "p", bytes("e0")}, {1, "", bytes("e1")}};
  const auto decoded_audit = *decode_audit_entries(encode_audit_entries(audit));
  EXPECT_EQ(decoded_audit[1].entry, bytes("e1"));
  const std::vector<store::AuditTile> tiles = {{0, 3, Bytes(8192, 7)}, {1, 0, Bytes(32, 1)}};
  EXPECT_EQ(*decode_tiles(encode_tiles(tiles)), tiles);
  const std::vector<store::StoredCheckpoint> checkpoints = {{256, "note", 77}};
  EXPECT_EQ(*decode_checkpoints(encode_checkpoints(checkpoints)), checkpoints);
}

TEST(SnapshotFormatTest, EveryTruncationAndAWrongKindAreErrorsNotCrashes) {
  const Bytes encoded = encode_records(sample_records());
  for (std::size_t size = 0; size < encoded.size(); ++size) {
    EXPECT_FALSE(decode_records(std::span(encoded).first(size))) << size;
  }
  Bytes longer = encoded;
  longer.push_back(0);
  EXPECT_FALSE(decode_records(longer));
  EXPECT_FALSE(decode_keys(encoded));
  // A count far beyond what the bytes could hold is refused before anything is allocated.
  Bytes huge = bytes("KVBREC1");
  for (int i = 0; i < 8; ++i) huge.push_back(0xff);
  EXPECT_FALSE(decode_records(huge));
}

TEST(SnapshotFormatTest, ManifestRoundTripsAndRefusesForeignIds) {
  Manifest manifest;
  manifest.parent = std::string(64, 'a');
  manifest.created_at_ms = 5;
  manifest.source_backend = "sqlite";
  manifest.records_through_sequence = 10;
  manifest.record_versions = 10;
  manifest.audit_size = 12;
  manifest.tiles_per_level = {3, 1};
  manifest.keys = 4;
  manifest.record_segments = {std::string(64, 'b')};
  manifest.key_chunks = {std::string(64, 'c'), std::string(64, 'd')};
  const auto decoded = decode_manifest(encode_manifest(manifest));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->parent, manifest.parent);
  EXPECT_EQ(decoded->tiles_per_level, manifest.tiles_per_level);
  EXPECT_EQ(decoded->key_chunks, manifest.key_chunks);
  EXPECT_EQ(decoded->objects().size(), 3U);
  EXPECT_FALSE(decode_manifest(bytes(R"({"format":"kavach-snapshot/1"})")));
  EXPECT_FALSE(decode_manifest(bytes("not json")));
  manifest.record_segments = {"../../escape"};
  EXPECT_FALSE(decode_manifest(encode_manifest(manifest)));
}

TEST(SnapshotFormatTest, KeyChunkBoundariesDependOnTheNameAlone) {
  int boundaries = 0;
  for (int i = 0; i < 20'000; ++i) {
    const auto name = "patient/" + std::to_string(i);
    EXPECT_EQ(ends_key_chunk(name), ends_key_chunk(name));
    boundaries += ends_key_chunk(name) ? 1 : 0;
  }
  // About one in kKeysPerChunk (512): 39 expected; a wide band, since it is a hash.
  EXPECT_GT(boundaries, 15);
  EXPECT_LT(boundaries, 80);
}

}  // namespace
}  // namespace kavach::backup
