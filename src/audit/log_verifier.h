// verify_log: re-derives the whole audit log from storage and checks it against its signed
// checkpoints; what `kavach audit verify` runs, on a live store or a restored copy.
//
// Every entry is re-hashed and the tree rebuilt from scratch in O(log n) memory (CompactRange).
// The result is compared with the checkpoint to trust: one given from outside (a witness's copy,
// an export) or else the latest stored one. When the entries do not hash to its root, the stored
// leaf tiles, once they are shown to hash to that root themselves, name each entry that differs:
// a missing index (deleted), an entry that belongs at another index (reordered, or shifted by an
// insertion), an entry that matches nothing signed (edited or inserted). Entries in the last,
// partial tile are located between the two stored checkpoints around them. Every stored
// checkpoint's signature is checked, and so is every earlier checkpoint against the rebuilt
// tree, so history rewritten behind an old checkpoint is caught too.
// Thread-safety: a function; reads the store through its thread-safe interface.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/signed_note.h"
#include "common/error.h"
#include "store/store.h"

namespace kavach::audit {

inline constexpr std::size_t kVerifyFindingsMax = 1000;

enum class FindingKind {
  kMissing,             // no entry at this index: deleted
  kChanged,             // the entry matches nothing signed near it: edited
  kInserted,            // an unsigned entry, with the signed ones after it shifted along
  kMoved,               // the entry was signed at another index: reordered or shifted
  kChangedInRange,      // some entry in [index, index + count) differs (the log's partial tile)
  kTileDamaged,         // a stored tile differs from the tree the entries give
  kBadCheckpoint,       // a stored checkpoint's signature or form is wrong
  kCheckpointMismatch,  // the entries do not hash to a signed root
  kTruncated,           // the store has fewer entries or checkpoints than a signed checkpoint says
};

struct Finding {
  FindingKind kind = FindingKind::kChanged;
  std::int64_t index = -1;      // the entry (the first of a run), or -1
  std::int64_t count = 1;       // the length of a run
  std::int64_t signed_at = -1;  // kMoved: where the (first) entry was signed
  std::string message;
};

struct VerifyReport {
  std::string origin;
  std::uint64_t checkpoint_size = 0;  // the checkpoint verified against (0 when there is none)
  std::uint64_t entries = 0;          // entries read from the store
  std::uint64_t unverified_tail = 0;  // entries after that checkpoint, not yet signed
  std::uint64_t checkpoints_checked = 0;
  std::vector<Finding> findings;
  bool findings_truncated = false;
  bool ok() const { return findings.empty(); }
};

struct VerifyOptions {
  // A checkpoint note held outside the store (a witness's copy); empty: the latest stored one.
  std::string trusted_checkpoint;
};

Result<VerifyReport> verify_log(store::Store& store, const NoteVerifier& verifier,
                                const VerifyOptions& options = {});

std::string_view finding_kind_name(FindingKind kind);

}  // namespace kavach::audit
