// Restore: rebuilds a node's store from a snapshot chain, and checks it (issue 7).
//
// The target store must be empty. Keys come first, re-wrapped under the target key file's active
// KEK (a restored node gets a new key file: the old one may be in the attacker's hands). Keys
// erased in any later snapshot than the one restored stay erased: an older point in time must not
// bring back data a patient had erased. Then the record versions, in change-feed order, through
// the store's bulk load, with the index entries of each record's last version; audit entries,
// tiles and checkpoints, each read back and compared. Last, the whole store is read back in its
// own key order (sequential reads) and its digest (row_digest.h) compared with what was loaded:
// every version with every field and payload at the change-feed position it was given, and every
// index row. Only on a mismatch is it read row by row, to name what differs. Any difference fails
// the restore (kDataLoss).
// Thread-safety: one restore per target store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "backup/backup_key.h"
#include "backup/repository.h"
#include "backup/snapshot_format.h"
#include "common/error.h"
#include "crypto/key_ring.h"
#include "store/store.h"

namespace kavach::backup {

struct RestoreReport {
  std::string snapshot;
  std::int64_t snapshot_created_at_ms = 0;
  std::size_t chain_length = 0;  // snapshots applied, the full one first
  std::int64_t record_versions = 0;
  std::int64_t keys = 0;
  std::int64_t erased_keys = 0;
  std::int64_t erased_since_snapshot = 0;  // keys erased by a later snapshot, kept erased
  std::int64_t audit_entries = 0;
  std::int64_t tiles = 0;
  std::int64_t checkpoints = 0;
};

// Which snapshot to restore: `id` if given, else the latest created at or before `at_ms` if
// given, else the latest. kNotFound when none matches.
// An id may be given by a unique prefix, as `git` allows.
Result<std::string> choose_snapshot(Repository& repository, const std::string& id,
                                    std::optional<std::int64_t> at_ms);

Result<RestoreReport> restore_snapshot(Repository& repository, const BackupKey& key,
                                       const std::string& snapshot, store::Store& target,
                                       const crypto::KeyRing& target_ring);

// Only the audit log of `snapshot` (entries, tiles, checkpoints), into an empty store: what
// verify_repository checks the log with.
Result<RestoreReport> restore_audit_log(Repository& repository, const BackupKey& key,
                                        const std::string& snapshot, store::Store& target);

// The chain of manifests from the full snapshot to `snapshot`, each opened and checked.
Result<std::vector<std::pair<std::string, Manifest>>> snapshot_chain(Repository& repository,
                                                                     const BackupKey& key,
                                                                     const std::string& snapshot);

}  // namespace kavach::backup
