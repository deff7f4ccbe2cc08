#include "audit/log_verifier.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "audit/merkle_tree.h"
#include "audit/tiled_tree.h"
#include "common/limits.h"

namespace kavach::audit {
namespace {

struct SignedSize {
  std::uint64_t size = 0;
  Hash root{};
};

// The verification of one log, streamed in index order.
class Verification {
 public:
  Verification(store::Store& store, const NoteVerifier& verifier, VerifyReport& report)
      : store_(store), verifier_(verifier), report_(report) {}

  Status run(const VerifyOptions& options);

 private:
  Result<std::optional<SignedSize>> open_checkpoint(const std::string& note);
  Result<std::optional<SignedSize>> choose_target(const VerifyOptions& options);
  Status stream_entries();
  Status take_row(const store::StoredAuditEntry& row);
  Status check_history_at(std::uint64_t rows);
  Status finish_tile(std::uint64_t tile);
  Result<const std::optional<std::vector<Hash>>*> stored_leaf_tile(std::uint64_t tile);
  void decide();
  void add(Finding finding);
  void name_findings();

  store::Store& store_;
  const NoteVerifier& verifier_;
  VerifyReport& report_;

  SignedSize target_;
  std::uint64_t full_end_ = 0;  // leaves in full tiles at the target size

  CompactRange from_entries_;
  std::optional<Hash> entries_root_at_target_;

  std::uint64_t current_tile_ = 0;
  std::array<std::optional<Hash>, kTileWidth> row_hashes_{};  // of current_tile_
  std::uint64_t next_index_ = 0;
  std::map<std::uint64_t, std::optional<std::vector<Hash>>> leaf_tiles_;  // a window of 3

  // Stored checkpoints, walked alongside the entries.
  std::vector<store::StoredCheckpoint> history_page_;
  std::size_t history_at_ = 0;
  std::int64_t history_after_ = 0;
  std::uint64_t last_good_history_ = 0;
  std::optional<std::uint64_t> first_bad_history_;
};

Result<std::optional<SignedSize>> Verification::open_checkpoint(const std::string& note) {
  auto text = verifier_.open(note);
  if (!text) return std::nullopt;
  auto checkpoint = parse_checkpoint(*text);
  if (!checkpoint || checkpoint->origin != verifier_.name()) return std::nullopt;
  return SignedSize{checkpoint->size, checkpoint->root};
}

Result<std::optional<SignedSize>> Verification::choose_target(const VerifyOptions& options) {
  ASSIGN_OR_RETURN(const auto latest, store_.latest_checkpoint());
  if (!options.trusted_checkpoint.empty()) {
    ASSIGN_OR_RETURN(const auto trusted, open_checkpoint(options.trusted_checkpoint));
    if (!trusted) {
      return make_error(ErrorCode::kInvalidArgument,
                        "the given checkpoint is not signed by this log's key");
    }
    if (!latest || static_cast<std::uint64_t>(latest->size) < trusted->size) {
      add({FindingKind::kTruncated, -1, 1, -1,
           fmt::format("the store's checkpoints end at size {}, before the trusted checkpoint at "
                       "size {}",
                       latest ? latest->size : 0, trusted->size)});
    }
    return trusted;
  }
  if (!latest) return std::nullopt;
  ASSIGN_OR_RETURN(const auto opened, open_checkpoint(latest->note));
  if (opened) return opened;
  // The latest is forged or damaged: fall back to the latest valid one (the walk alongside the
  // entries reports each bad one).
  std::optional<SignedSize> best;
  std::int64_t after = 0;
  for (;;) {
    ASSIGN_OR_RETURN(const auto page, store_.read_checkpoints(after, limits::kPageSizeMax));
    if (page.empty()) return best;
    for (const auto& stored : page) {
      ASSIGN_OR_RETURN(const auto valid, open_checkpoint(stored.note));
      if (valid && valid->size == static_cast<std::uint64_t>(stored.size)) best = valid;
    }
    after = page.back().size;
  }
}

Status Verification::run(const VerifyOptions& options) {
  ASSIGN_OR_RETURN(const auto target, choose_target(options));
  report_.origin = verifier_.name();
  if (target) {
    target_ = *target;
    report_.checkpoint_size = target_.size;
  }
  full_end_ = target_.size / kTileWidth * kTileWidth;
  if (target_.size == 0) entries_root_at_target_ = root_of({});
  RETURN_IF_ERROR(stream_entries());
  if (target_.size > 0) decide();
  name_findings();
  return {};
}

Status Verification::stream_entries() {
  for (;;) {
    ASSIGN_OR_RETURN(
        const auto page,
        store_.read_audit_entries(static_cast<std::int64_t>(next_index_), limits::kPageSizeMax));
    if (page.empty()) break;
    for (const auto& row : page) RETURN_IF_ERROR(take_row(row));
    next_index_ = static_cast<std::uint64_t>(page.back().index) + 1;
  }
  // Tiles after the last row were emptied by deletion.
  const std::uint64_t last_tile = full_end_ / kTileWidth;
  for (std::uint64_t tile = current_tile_; tile < last_tile; ++tile) {
    RETURN_IF_ERROR(finish_tile(tile));
  }
  // Stored checkpoints beyond the rows read.
  RETURN_IF_ERROR(check_history_at(UINT64_MAX));
  if (next_index_ < target_.size) {
    add({FindingKind::kTruncated, static_cast<std::int64_t>(next_index_),
         static_cast<std::int64_t>(target_.size - next_index_), -1,
         fmt::format("the log ends at index {}; the checkpoint signs {} entries", next_index_,
                     target_.size)});
  }
  return {};
}

Status Verification::take_row(const store::StoredAuditEntry& row) {
  const auto index = static_cast<std::uint64_t>(row.index);
  const Hash hash = leaf_hash(row.entry);
  ++report_.entries;
  from_entries_.append(hash);
  if (from_entries_.size() == target_.size) entries_root_at_target_ = from_entries_.root();
  RETURN_IF_ERROR(check_history_at(from_entries_.size()));
  if (index >= target_.size) {
    ++report_.unverified_tail;
    return {};
  }
  if (index >= full_end_) return {};  // the partial tile: checked through the checkpoints
  const std::uint64_t tile = index / kTileWidth;
  for (; current_tile_ < tile; ++current_tile_) RETURN_IF_ERROR(finish_tile(current_tile_));
  row_hashes_[index % kTileWidth] = hash;
  return {};
}

// Compares the rebuilt tree with each stored checkpoint whose size is at most `rows`.
Status Verification::check_history_at(std::uint64_t rows) {
  for (;;) {
    if (history_at_ == history_page_.size()) {
      ASSIGN_OR_RETURN(history_page_,
                       store_.read_checkpoints(history_after_, limits::kPageSizeMax));
      history_at_ = 0;
      if (history_page_.empty()) return {};
      history_after_ = history_page_.back().size;
    }
    const auto& stored = history_page_[history_at_];
    const auto size = static_cast<std::uint64_t>(stored.size);
    if (size > rows) return {};
    ++history_at_;
    ++report_.checkpoints_checked;
    ASSIGN_OR_RETURN(const auto opened, open_checkpoint(stored.note));
    if (!opened || opened->size != size) {
      add({FindingKind::kBadCheckpoint, -1, 1, -1,
           fmt::format("the checkpoint stored for size {} is not validly signed by {}", size,
                       verifier_.name())});
      continue;
    }
    if (rows == UINT64_MAX) {
      // More entries signed than rows read: rows were deleted (reported by index) or the log
      // was cut short (reported once, against the checkpoint verified).
      if (!first_bad_history_) first_bad_history_ = size;
      continue;
    }
    if (from_entries_.root() == opened->root) {
      if (!first_bad_history_) last_good_history_ = size;
    } else if (!first_bad_history_) {
      first_bad_history_ = size;
    }
  }
}

Result<const std::optional<std::vector<Hash>>*> Verification::stored_leaf_tile(std::uint64_t tile) {
  if (auto found = leaf_tiles_.find(tile); found != leaf_tiles_.end()) return &found->second;
  ASSIGN_OR_RETURN(const auto stored,
                   store_.read_audit_tiles(0, static_cast<std::int64_t>(tile), 1));
  std::optional<std::vector<Hash>> hashes;
  if (!stored.empty() && stored.front().index == static_cast<std::int64_t>(tile)) {
    if (auto parsed = tile_hashes(stored.front().hashes); parsed && parsed->size() == kTileWidth) {
      hashes = std::move(*parsed);
    }
  }
  // Keep a window of the tiles around the one being finished.
  while (!leaf_tiles_.empty() && leaf_tiles_.begin()->first + 2 < tile) {
    leaf_tiles_.erase(leaf_tiles_.begin());
  }
  return &leaf_tiles_.emplace(tile, std::move(hashes)).first->second;
}

Status Verification::finish_tile(std::uint64_t tile) {
  ASSIGN_OR_RETURN(const auto* signed_tile, stored_leaf_tile(tile));
  const auto base = static_cast<std::int64_t>(tile * kTileWidth);
  if (!*signed_tile) {
    add({FindingKind::kTileDamaged, base, static_cast<std::int64_t>(kTileWidth), -1,
         fmt::format("leaf tile 0/{} is missing or malformed in the store", tile)});
    row_hashes_.fill(std::nullopt);
    return {};
  }
  // Where a row's hash was signed, looking in this tile and its neighbours.
  auto signed_index = [&](const Hash& hash) -> Result<std::int64_t> {
    for (std::uint64_t near = tile == 0 ? 0 : tile - 1; near <= tile + 1; ++near) {
      if (near * kTileWidth >= full_end_) break;
      ASSIGN_OR_RETURN(const auto* hashes, stored_leaf_tile(near));
      if (!*hashes) continue;
      const auto found = std::find((*hashes)->begin(), (*hashes)->end(), hash);
      if (found != (*hashes)->end()) {
        return static_cast<std::int64_t>(near * kTileWidth) + (found - (*hashes)->begin());
      }
    }
    return -1;
  };
  ASSIGN_OR_RETURN(signed_tile, stored_leaf_tile(tile));  // the window may have moved
  for (std::size_t position = 0; position < kTileWidth; ++position) {
    const auto& row = row_hashes_[position];
    const std::int64_t index = base + static_cast<std::int64_t>(position);
    if (row && *row == (**signed_tile)[position]) continue;
    if (!row) {
      add({FindingKind::kMissing, index, 1, -1, ""});
      continue;
    }
    ASSIGN_OR_RETURN(const std::int64_t signed_at, signed_index(*row));
    ASSIGN_OR_RETURN(signed_tile, stored_leaf_tile(tile));
    if (signed_at >= 0) {
      add({FindingKind::kMoved, index, 1, signed_at, ""});
    } else {
      add({FindingKind::kChanged, index, 1, -1, ""});
    }
  }
  row_hashes_.fill(std::nullopt);
  return {};
}

void Verification::decide() {
  const bool exact_findings =
      std::any_of(report_.findings.begin(), report_.findings.end(), [](const Finding& finding) {
        return finding.kind == FindingKind::kMissing || finding.kind == FindingKind::kChanged ||
               finding.kind == FindingKind::kMoved || finding.kind == FindingKind::kTileDamaged;
      });
  if (entries_root_at_target_ && *entries_root_at_target_ == target_.root) {
    // The entries are what was signed; whatever differs is in the stored tiles.
    std::erase_if(report_.findings, [](const Finding& finding) {
      return finding.kind == FindingKind::kMissing || finding.kind == FindingKind::kChanged ||
             finding.kind == FindingKind::kMoved;
    });
    if (exact_findings && report_.findings.empty()) {
      add({FindingKind::kTileDamaged, -1, 1, -1,
           "stored leaf tiles differ from the entries, which match the signed checkpoint"});
    }
    return;
  }
  add({FindingKind::kCheckpointMismatch, -1, 1, -1,
       fmt::format("the entries no longer hash to the root signed at size {}", target_.size)});
  if (!exact_findings) {
    // Every full tile's entries match the stored tiles, so the difference is most likely in the
    // partial tile (or in entries and tiles rewritten together): between the last stored
    // checkpoint that the entries still match and the first they do not.
    const std::uint64_t begin = last_good_history_;
    const std::uint64_t end =
        first_bad_history_ ? std::min(*first_bad_history_, target_.size) : target_.size;
    add({FindingKind::kChangedInRange, static_cast<std::int64_t>(begin),
         static_cast<std::int64_t>(end > begin ? end - begin : 1), -1, ""});
  }
}

void Verification::add(Finding finding) {
  auto& findings = report_.findings;
  if (!findings.empty()) {
    auto& last = findings.back();
    const bool follows = last.kind == finding.kind && last.index + last.count == finding.index;
    if (follows && finding.kind == FindingKind::kMissing) {
      ++last.count;
      return;
    }
    if (follows && finding.kind == FindingKind::kMoved &&
        finding.index - finding.signed_at == last.index - last.signed_at) {
      ++last.count;
      return;
    }
  }
  if (findings.size() == kVerifyFindingsMax) {
    report_.findings_truncated = true;
    return;
  }
  findings.push_back(std::move(finding));
}

void Verification::name_findings() {
  auto& findings = report_.findings;
  // An unsigned entry followed by signed ones shifted up by one is an insertion.
  for (std::size_t i = 0; i + 1 < findings.size(); ++i) {
    auto& finding = findings[i];
    const auto& next = findings[i + 1];
    if (finding.kind == FindingKind::kChanged && next.kind == FindingKind::kMoved &&
        next.index == finding.index + 1 && next.index - next.signed_at == 1) {
      finding.kind = FindingKind::kInserted;
    }
  }
  for (auto& finding : findings) {
    if (!finding.message.empty()) continue;
    const auto last = finding.index + finding.count - 1;
    switch (finding.kind) {
      case FindingKind::kMissing:
        finding.message =
            finding.count == 1
                ? fmt::format("entry {} is missing (deleted)", finding.index)
                : fmt::format("entries {}..{} are missing (deleted)", finding.index, last);
        break;
      case FindingKind::kChanged:
        finding.message =
            fmt::format("entry {} was changed: it matches no signed entry", finding.index);
        break;
      case FindingKind::kInserted:
        finding.message = fmt::format(
            "entry {} was inserted: it matches no signed entry and the ones after it are "
            "shifted along",
            finding.index);
        break;
      case FindingKind::kMoved:
        finding.message =
            finding.count == 1
                ? fmt::format("entry {} holds the entry signed at index {} (reordered or shifted)",
                              finding.index, finding.signed_at)
                : fmt::format("entries {}..{} hold the entries signed at {}..{} (shifted)",
                              finding.index, last, finding.signed_at,
                              finding.signed_at + finding.count - 1);
        break;
      case FindingKind::kChangedInRange:
        finding.message =
            finding.count == 1
                ? fmt::format("entry {} was changed, deleted or inserted", finding.index)
                : fmt::format("an entry among {}..{} was changed, deleted or inserted",
                              finding.index, last);
        break;
      default:
        break;
    }
  }
}

}  // namespace

Result<VerifyReport> verify_log(store::Store& store, const NoteVerifier& verifier,
                                const VerifyOptions& options) {
  VerifyReport report;
  Verification verification(store, verifier, report);
  RETURN_IF_ERROR(verification.run(options));
  return report;
}

std::string_view finding_kind_name(FindingKind kind) {
  switch (kind) {
    case FindingKind::kMissing:
      return "missing";
    case FindingKind::kChanged:
      return "changed";
    case FindingKind::kInserted:
      return "inserted";
    case FindingKind::kMoved:
      return "moved";
    case FindingKind::kChangedInRange:
      return "changed-in-range";
    case FindingKind::kTileDamaged:
      return "tile-damaged";
    case FindingKind::kBadCheckpoint:
      return "bad-checkpoint";
    case FindingKind::kCheckpointMismatch:
      return "checkpoint-mismatch";
    case FindingKind::kTruncated:
      return "truncated";
  }
  return "unknown";
}

}  // namespace kavach::audit
