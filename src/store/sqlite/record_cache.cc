#include "store/sqlite/record_cache.h"

namespace kavach::store::sqlite {
namespace {

// What an entry costs besides its strings and payload: the list node, the map node, the key's
// and the record's string headers.
constexpr std::size_t kEntryOverheadBytes = 256;

std::size_t entry_bytes(const RecordVersion& record) {
  return kEntryOverheadBytes + 2 * (record.type.size() + record.id.size()) +
         record.partition.size() + record.payload.size() + record.payload_sha256.size();
}

}  // namespace

std::size_t RecordCache::KeyHash::operator()(KeyView key) const noexcept {
  const std::size_t type = std::hash<std::string_view>{}(key.type);
  return type ^ (std::hash<std::string_view>{}(key.id) + 0x9e3779b97f4a7c15ULL + (type << 6) +
                 (type >> 2));
}

Result<bool> RecordCache::catch_up(std::int64_t snapshot_sequence, const ChangedRecords& changed) {
  if (!enabled()) return false;
  std::int64_t from = 0;
  bool was_empty = false;
  {
    std::lock_guard lock(mutex_);
    if (snapshot_sequence == epoch_) return true;
    if (snapshot_sequence < epoch_) return false;
    from = epoch_;
    was_empty = lru_.empty();
  }
  // Sequences are assigned one per version, so there are at most this many writes to forget.
  const bool far_behind = snapshot_sequence - from > static_cast<std::int64_t>(kChangesCaughtUpMax);
  // Asked without the lock: a reader that waits on the database must not hold up the others.
  std::vector<std::pair<std::string, std::string>> written;
  const bool asked = !was_empty && !far_behind;
  if (asked) {
    ASSIGN_OR_RETURN(written, changed(from, snapshot_sequence));
  }
  std::lock_guard lock(mutex_);
  // Another reader moved it meanwhile; it serves this snapshot only if it moved to it.
  if (epoch_ != from) return epoch_ == snapshot_sequence;
  if (asked) {
    for (const auto& [type, id] : written) forget(KeyView{type, id});
  } else {
    clear();  // too far behind, or records came in at `from` since it was seen empty
  }
  epoch_ = snapshot_sequence;
  return true;
}

std::optional<RecordVersion> RecordCache::find(std::int64_t snapshot_sequence,
                                               std::string_view type, std::string_view id) {
  std::lock_guard lock(mutex_);
  if (snapshot_sequence != epoch_) return std::nullopt;
  const auto found = by_key_.find(KeyView{type, id});
  if (found == by_key_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, found->second);
  return found->second->record;
}

void RecordCache::insert(std::int64_t snapshot_sequence, const RecordVersion& record) {
  const std::size_t bytes = entry_bytes(record);
  if (!enabled() || bytes > bytes_max_ / 64) return;
  std::lock_guard lock(mutex_);
  if (snapshot_sequence != epoch_) return;
  forget(KeyView{record.type, record.id});
  Key key{record.type, record.id};
  lru_.push_front(Entry{key, record, bytes});
  by_key_.emplace(std::move(key), lru_.begin());
  bytes_ += bytes;
  while (bytes_ > bytes_max_) {
    bytes_ -= lru_.back().bytes;
    by_key_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

std::size_t RecordCache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

std::size_t RecordCache::records() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

void RecordCache::forget(KeyView key) {
  const auto found = by_key_.find(key);
  if (found == by_key_.end()) return;
  bytes_ -= found->second->bytes;
  lru_.erase(found->second);
  by_key_.erase(found);
}

void RecordCache::clear() {
  lru_.clear();
  by_key_.clear();
  bytes_ = 0;
}

}  // namespace kavach::store::sqlite
