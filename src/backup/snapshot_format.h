// What a snapshot's objects hold, and how each is encoded before BackupKey seals it.
//
// A snapshot is a manifest (JSON) naming the objects it adds to its parent: segments of the
// store's change feed (record versions in sequence order, each with its index entries when it was
// the current version as the snapshot was taken), of the audit log (entries, full tiles, signed
// checkpoints), and the complete list of data keys cut into chunks at content-defined boundaries
// (so a new patient's key changes one chunk, and the others deduplicate against the parent's).
// Segments are a small binary framing: a magic, a count, then length-prefixed fields, all
// little-endian. Decoding checks every length against what remains, so a malformed object is an
// error, never a read past its end (only authenticated objects reach it; the fuzz target
// backup_objects feeds it anything).
// Thread-safety: functions; safe from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "backup/backup_key.h"
#include "common/error.h"
#include "crypto/secret_bytes.h"
#include "store/store.h"

namespace kavach::backup {

struct RecordEntry {
  store::RecordVersion record;  // sequence holds the source's change-feed position
  // False for a version a later one replaced before the snapshot read its index.
  bool has_index = false;
  std::vector<store::IndexEntry> index;
};

struct KeyEntry {
  std::string name;
  crypto::SecretBytes key;  // the unwrapped data key; empty once erased
  std::int64_t created_at_ms = 0;
  std::int64_t erased_at_ms = 0;
};

Bytes encode_records(const std::vector<RecordEntry>& records);
Result<std::vector<RecordEntry>> decode_records(std::span<const std::uint8_t> bytes);

// The encoding holds raw key material: the caller wipes it once sealed.
Bytes encode_keys(const std::vector<KeyEntry>& keys);
Result<std::vector<KeyEntry>> decode_keys(std::span<const std::uint8_t> bytes);

Bytes encode_audit_entries(const std::vector<store::StoredAuditEntry>& entries);
Result<std::vector<store::StoredAuditEntry>> decode_audit_entries(
    std::span<const std::uint8_t> bytes);

Bytes encode_tiles(const std::vector<store::AuditTile>& tiles);
Result<std::vector<store::AuditTile>> decode_tiles(std::span<const std::uint8_t> bytes);

Bytes encode_checkpoints(const std::vector<store::StoredCheckpoint>& checkpoints);
Result<std::vector<store::StoredCheckpoint>> decode_checkpoints(
    std::span<const std::uint8_t> bytes);

// Whether a key ends its chunk: about one name in kKeysPerChunk, decided by the name alone.
inline constexpr std::size_t kKeysPerChunk = 512;
bool ends_key_chunk(std::string_view key_name);

struct Manifest {
  std::string parent;  // "" for a full snapshot
  std::int64_t created_at_ms = 0;
  std::string source_backend;  // "sqlite" or "postgresql"
  // Totals over the whole chain up to and including this snapshot.
  std::int64_t records_through_sequence = 0;  // the last change-feed position included
  std::int64_t record_versions = 0;
  std::int64_t audit_size = 0;
  std::int64_t checkpoints_through_size = 0;
  std::vector<std::int64_t> tiles_per_level;  // full tiles stored at each level
  std::int64_t keys = 0;
  std::int64_t erased_keys = 0;
  // The objects this snapshot adds, in the order a restore applies them.
  std::vector<std::string> record_segments;
  std::vector<std::string> audit_segments;
  std::vector<std::string> tile_segments;
  std::vector<std::string> checkpoint_segments;
  // Every data key at this snapshot, not only changes: erasures must win over older snapshots.
  std::vector<std::string> key_chunks;

  // Every object the manifest names.
  std::vector<std::string> objects() const;
};

Bytes encode_manifest(const Manifest& manifest);
Result<Manifest> decode_manifest(std::span<const std::uint8_t> bytes);

}  // namespace kavach::backup
