// RecordCache: current record versions, as stored (sealed), kept between read transactions.
//
// Why: SQLite drops a connection's whole page cache when a read transaction begins on a WAL that
// changed since its last one, and every commit changes it, including the audit entry each read
// commits. So each search read its 20 records' index and table pages again with a pread apiece
// (8.4 preads per search by subject under load, 2.7 with this cache; 36 when no two searches
// shared a commit), and read_current_many was a fifth of a search's CPU. This cache keeps what
// those pages held, above SQLite.
//
// Coherence comes from the change feed: records are append-only and every version takes the next
// sequence, in commit order, whichever process commits it. The cache is valid as of one
// sequence, its epoch. A reader whose snapshot's last sequence is the epoch may use it; one whose
// snapshot is newer first catches it up, forgetting every record written after the epoch (read
// from the snapshot, so writes by another process are seen too); one whose snapshot is older
// reads the store. Payloads stay sealed: nothing in it is readable without the patient's key.
//
// Thread-safety: every method is safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/error.h"
#include "store/store.h"

namespace kavach::store::sqlite {

class RecordCache {
 public:
  // At most `bytes_max` bytes of records (payloads and names, with a per-entry overhead); 0 turns
  // the cache off.
  explicit RecordCache(std::size_t bytes_max) : bytes_max_(bytes_max) {}

  // The (type, id) of the records written after sequence `after` up to `through`, as the
  // reader's snapshot has them.
  using ChangedRecords = std::function<Result<std::vector<std::pair<std::string, std::string>>>(
      std::int64_t after, std::int64_t through)>;
  // Brings the cache to `snapshot_sequence`, the last sequence of the caller's snapshot, and
  // says whether the caller may use it (find, insert) for that snapshot. A cache further behind
  // than kChangesCaughtUpMax writes is emptied instead of caught up. `changed` runs without the
  // cache's lock, so other readers go on while it reads the store.
  Result<bool> catch_up(std::int64_t snapshot_sequence, const ChangedRecords& changed);

  // The record's current version as of `snapshot_sequence`, if the cache holds it then.
  std::optional<RecordVersion> find(std::int64_t snapshot_sequence, std::string_view type,
                                    std::string_view id);
  // Keeps `record`, read in a snapshot whose last sequence is `snapshot_sequence`, unless the
  // cache has moved on since. A record of more than a 64th of the cache (a large Binary) is not
  // kept: it would push out many others.
  void insert(std::int64_t snapshot_sequence, const RecordVersion& record);

  bool enabled() const { return bytes_max_ > 0; }
  std::size_t bytes() const;
  std::size_t records() const;

  static constexpr std::size_t kChangesCaughtUpMax = 4096;

 private:
  struct Key {
    std::string type;
    std::string id;
  };
  // Lookups take the names as views: record ids are longer than a string's inline buffer, so an
  // owning key cost two allocations per record looked up, under the lock.
  struct KeyView {
    std::string_view type;
    std::string_view id;
  };
  static KeyView view(const Key& key) { return {key.type, key.id}; }
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(KeyView key) const noexcept;
    std::size_t operator()(const Key& key) const noexcept { return (*this)(view(key)); }
  };
  struct KeyEqual {
    using is_transparent = void;
    static bool same(KeyView a, KeyView b) { return a.type == b.type && a.id == b.id; }
    bool operator()(const Key& a, const Key& b) const { return same(view(a), view(b)); }
    bool operator()(const Key& a, KeyView b) const { return same(view(a), b); }
    bool operator()(KeyView a, const Key& b) const { return same(a, view(b)); }
  };
  struct Entry {
    Key key;
    RecordVersion record;
    std::size_t bytes = 0;
  };
  using Lru = std::list<Entry>;  // most recently used first

  void forget(KeyView key);  // REQUIRES(mutex_)
  void clear();              // REQUIRES(mutex_)

  const std::size_t bytes_max_;
  mutable std::mutex mutex_;
  std::int64_t epoch_ = -1;  // GUARDED_BY(mutex_); -1: none yet
  Lru lru_;                  // GUARDED_BY(mutex_)
  std::unordered_map<Key, Lru::iterator, KeyHash, KeyEqual> by_key_;  // GUARDED_BY(mutex_)
  std::size_t bytes_ = 0;                                             // GUARDED_BY(mutex_)
};

}  // namespace kavach::store::sqlite
