// The index journal: blind-index rows of recent record writes, kept out of the sorted
// record_index table until many can be merged into it at once.
//
// Why: blind-index values are random, so each of a record's 15 to 30 index rows lands on a random
// page of the record_index B-tree, and every page a commit touches is written whole to the WAL and
// again at the checkpoint. That was about 85% of a create's cost (bench/RESULTS.md, session 10).
// Instead a commit appends one index_journal row per record write (the table is keyed by the
// record's sequence, so appends fill its last page), durable with the record itself; the writer
// later merges the oldest journal rows into record_index in key order, many rows per page.
//
// Queries answer from record_index plus the journal: a record the journal holds is answered from
// the journal alone, since its index was replaced after record_index last saw it. IndexJournal is
// the in-memory copy of the journal table that queries consult. It is a cache of the table, caught
// up from the snapshot each query reads, so rows written by another process (the CLI while the
// server runs) and merges made by another process are seen too.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "store/store.h"

namespace kavach::store::sqlite {

// The journal table's state in one snapshot: rows up to merged_through are in record_index, and
// the journal holds the writes after it, up to last_sequence.
struct JournalState {
  std::int64_t merged_through = 0;
  std::int64_t last_sequence = 0;
};

// One journal row: the index entries a record write left (none for a tombstone).
struct JournalRow {
  std::int64_t sequence = 0;
  std::string type;
  std::string id;
  std::string partition;
  std::vector<IndexEntry> entries;
};

// An index entry viewed inside its record's encoded entries (which must outlive it): a merge
// reads thousands of journal rows, and owning copies were two allocations per entry.
struct IndexEntryView {
  std::string_view name;
  std::span<const std::uint8_t> value;
};
IndexEntryView view_of(const IndexEntry& entry);

// The order of a record's encoded entries: by name, then value (bytes compared unsigned).
bool index_entry_less(const IndexEntry& a, const IndexEntry& b);
bool entry_view_less(const IndexEntryView& a, const IndexEntryView& b);
// The stored form of a record's entries: sorted by (name, value), each once, length-prefixed.
Bytes encode_index_entries(std::vector<IndexEntry> entries);
// Refuses (kDataLoss) bytes that are not a whole encoding.
Result<std::vector<IndexEntry>> decode_index_entries(std::span<const std::uint8_t> bytes);
// The same, as views into `bytes`, in their (encoded, so sorted) order.
Result<std::vector<IndexEntryView>> decode_index_entry_views(std::span<const std::uint8_t> bytes);

// Which rows of the journal a query needs: one type's, or (nullopt) every type's.
using JournalScope = std::optional<std::string>;

// Not thread-safe: SqliteStore guards it with a shared mutex.
//
// The copy is caught up type by type: a query about one type loads only that type's new rows.
// Background pollers look up their own few records several times a second; loading every write
// for them (a whole ingest's rows, soon merged and dropped again) took about 8% of an ingest's
// CPU.
class IndexJournal {
 public:
  // Where this copy stands against a snapshot's state, for the rows in `scope`: current enough to
  // answer from, behind it (catch up from the snapshot), or ahead of it (a merge the snapshot
  // does not yet show; take a newer snapshot).
  enum class Fit { kCurrent, kBehind, kAhead };
  Fit fit(const JournalState& snapshot, const JournalScope& scope) const;

  // Catching up: forget the writes merged through `merged_through` (of every type), then add the
  // scope's rows after loaded_through(scope) in sequence order, then record the state reached.
  void drop_merged(std::int64_t merged_through);
  void add(JournalRow row);
  void caught_up_to(const JournalState& snapshot, const JournalScope& scope);
  // Every row of the scope up to this sequence has been added (or merged since).
  std::int64_t loaded_through(const JournalScope& scope) const;

  // Whether the journal holds a write of (type, id): record_index's rows for it are then stale.
  bool holds(const std::string& type, const std::string& id) const;
  // The entries of the write held for (type, id), or nullptr if none is held.
  const std::vector<IndexEntry>* entries(const std::string& type, const std::string& id) const;
  // Ids of held records whose entries include (name, value), after `after_id`, in id order, at
  // most `limit`.
  std::vector<std::string> find(const std::string& type, const std::string& name,
                                const Bytes& value, const std::string& after_id,
                                std::size_t limit) const;
  // The held index rows after `after`, in (type, name, value, id) order, at most `limit`.
  std::vector<IndexRow> scan(const std::optional<IndexRow>& after, std::size_t limit) const;
  std::size_t records() const;

 private:
  using ValueKey = std::pair<std::string, Bytes>;  // name, value
  struct Held {
    std::int64_t sequence = 0;
    std::string partition;
    std::vector<IndexEntry> entries;
  };
  // The held writes of one type.
  struct TypeCopy {
    std::int64_t loaded_through = 0;
    std::map<std::string, Held, std::less<>> records;  // by id
    std::map<std::int64_t, std::string> by_sequence;   // id by sequence
    std::map<ValueKey, std::set<std::string>> by_value;
    void forget(std::map<std::string, Held, std::less<>>::iterator held);
  };
  const TypeCopy* copy_of(std::string_view type) const;

  std::int64_t merged_through_ = 0;
  // Every type's rows are loaded through at least this (an every-type catch-up reached it).
  std::int64_t all_loaded_through_ = 0;
  std::map<std::string, TypeCopy, std::less<>> types_;
};

// Whether a precedes b in record_index's key order (type, name, value, id).
bool index_key_less(const IndexRow& a, const IndexRow& b);

// A row a merge inserts, viewing the journal row it comes from.
struct MergeRow {
  std::string_view type;
  std::string_view id;
  std::string_view partition;
  IndexEntryView entry;
};

// `rows` in record_index's key order (type, name, value, id), as pointers into `rows` (a merge
// inserts them in this order).
std::vector<const MergeRow*> in_key_order(const std::vector<MergeRow>& rows);

}  // namespace kavach::store::sqlite
