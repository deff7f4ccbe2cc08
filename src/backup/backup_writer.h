// BackupWriter: takes snapshots of a node's store into a backup repository (issue 7).
//
// A snapshot extends the latest one listed in the repository: it reads the store's change feed
// from where that one ended, the audit log's new entries, tiles and checkpoints, and the whole
// list of data keys (unwrapped with the node's KEKs, then sealed under the backup key, so a
// restore needs neither the node's key file nor its KEKs). Objects the repository already holds
// are not sent again. The first snapshot, or one taken with `full`, starts a new chain.
//
// What is read, in this order, so that every part is consistent with some moment of the store:
// records (each version with the index entries it had, when it was still current), keys (after
// the records, so every record's key is there), checkpoints, tiles and then audit entries (so
// the entries cover every tile and checkpoint). A version replaced while the snapshot was being
// taken carries no index; its successor is in the same snapshot, since the feed is read to its end.
// Thread-safety: one snapshot at a time per writer; the store and repository are shared safely.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "backup/backup_key.h"
#include "backup/repository.h"
#include "backup/snapshot_format.h"
#include "common/clock.h"
#include "crypto/key_ring.h"
#include "store/store.h"

namespace kavach::backup {

struct SnapshotOptions {
  bool full = false;  // start a new chain rather than extend the latest snapshot
  // A segment is cut once its encoding passes this size (before compression).
  std::size_t segment_bytes = 16 * 1024 * 1024;
};

struct SnapshotSummary {
  std::string id;
  Manifest manifest;
  std::int64_t new_record_versions = 0;
  std::int64_t new_audit_entries = 0;
  std::size_t objects_sent = 0;
  std::size_t objects_reused = 0;  // already in the repository (deduplicated)
  std::int64_t bytes_sent = 0;
  // Nothing changed since the latest snapshot, so none was taken (id is that snapshot's).
  bool unchanged = false;
};

class BackupWriter {
 public:
  BackupWriter(store::Store& store, const crypto::KeyRing& ring, const BackupKey& key,
               Repository& repository, const Clock& clock)
      : store_(store), ring_(ring), key_(key), repository_(repository), clock_(clock) {}

  Result<SnapshotSummary> take_snapshot(const SnapshotOptions& options = {});

 private:
  class Session;

  store::Store& store_;
  const crypto::KeyRing& ring_;
  const BackupKey& key_;
  Repository& repository_;
  const Clock& clock_;
};

// The latest listed snapshot's id and manifest (opened with `key`), or nullopt for an empty
// repository.
Result<std::optional<std::pair<std::string, Manifest>>> latest_snapshot(Repository& repository,
                                                                        const BackupKey& key);
// Fetches an object, checks its bytes hash to `id` and opens it.
Result<Bytes> fetch_object(Repository& repository, const BackupKey& key, const std::string& id);

}  // namespace kavach::backup
