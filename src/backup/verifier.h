// Verify: checks a backup repository without restoring the records (issue 7).
//
//  - every listed snapshot's manifest opens, its parent is listed before it, and it holds no less
//    than its parent (the chain only grows);
//  - every object a snapshot names is present; those in this run's share are read whole: their
//    bytes hash to their id, they pass authentication under the backup key and they decode. A
//    share is "n/m": objects whose id falls in the n-th of m slices, so m runs read everything
//    (restic's --read-data-subset); without one, every object is read;
//  - the latest snapshot's audit log (entries, tiles and signed checkpoints, rebuilt in a scratch
//    store) passes audit::verify_log against the node's audit verifier key and, when given, the
//    checkpoint a witness holds: the log in the backup is the log the node signed, unaltered and
//    not cut short.
// Thread-safety: a function; one run at a time per scratch directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "backup/backup_key.h"
#include "backup/repository.h"
#include "common/error.h"

namespace kavach::backup {

struct ReadShare {
  std::uint32_t index = 1;  // 1-based
  std::uint32_t of = 1;
  bool contains(std::string_view object_id) const;
};
Result<ReadShare> parse_read_share(std::string_view text);  // "n/m"

struct RepositoryVerifyOptions {
  ReadShare share;
  // The node's audit verifier key (`kavach audit key`); empty: the one derived from the keys in
  // the snapshot itself, which proves less (a forger with the backup key could make both).
  std::string audit_verifier_key;
  // A checkpoint note a witness holds; the snapshot's log must be consistent with it.
  std::string trusted_checkpoint;
  std::filesystem::path scratch_dir;  // for the rebuilt audit log; removed afterwards
};

struct RepositoryVerifyReport {
  std::size_t snapshots = 0;
  std::size_t objects = 0;       // distinct objects named
  std::size_t objects_read = 0;  // read whole in this run's share
  std::int64_t audit_entries = 0;
  std::uint64_t audit_checkpoint_size = 0;
  std::vector<std::string> problems;
  bool ok() const { return problems.empty(); }
};

Result<RepositoryVerifyReport> verify_repository(Repository& repository, const BackupKey& key,
                                                 const RepositoryVerifyOptions& options);

}  // namespace kavach::backup
