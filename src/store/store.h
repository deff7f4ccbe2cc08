// The storage seam. Every domain persists through this interface; two backends implement it and
// pass one shared test suite (tests/store/store_contract_test.cc): SQLite (embedded, the default)
// and PostgreSQL (one server or a Citus cluster keyed by patient).
//
// What the store keeps:
//  - records: append-only versions of (type, id), each carrying a partition key (the patient it
//    belongs to), a sealed payload the store never sees in plaintext, and a deleted flag for
//    tombstones. Versions are never updated or removed.
//  - a secondary index over the current version of each record: (type, name, value) -> id, where
//    values are blind-index tags or other non-identifying keys computed by the caller.
//  - an ordered change feed: every committed version gets a sequence number, increasing in commit
//    order, so a reader that has seen sequence N has seen every commit before it.
//  - wrapped data keys by name (patient data keys and node keys), which may be re-wrapped or
//    destroyed (crypto-shredding).
//  - the audit log: entries numbered 0, 1, 2, ... in commit order, written in the same atomic batch
//    as the action they record, with the Merkle tree's full tiles and the signed checkpoints that
//    the audit domain derives from them. All three are append-only.
//
// Writes are atomic batches with optimistic concurrency: each record write states the version it
// expects to replace, and a batch whose expectation fails is refused whole (kConflict). commit()
// returns only after the batch is durable on disk.
//
// Thread-safety: every method may be called concurrently from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"

namespace kavach::store {

using Bytes = std::vector<std::uint8_t>;

// The version expected to be current before a write: kNoVersion for a create.
inline constexpr std::int64_t kNoVersion = 0;
// Skip the optimistic check (used by migrations and tools that hold their own lock).
inline constexpr std::int64_t kAnyVersion = -1;

struct RecordVersion {
  std::string partition;  // the patient this record belongs to ("" for node-wide records)
  std::string type;
  std::string id;
  std::int64_t version = 0;   // 1 for the first version, then 2, 3, ...
  std::int64_t sequence = 0;  // change-feed position, assigned by commit()
  std::int64_t recorded_at_ms = 0;
  bool deleted = false;  // a tombstone: the record was deleted in this version
  Bytes payload;         // sealed by the vault; opaque to the store
  // The SHA-256 of `payload`, computed by the vault when it sealed it and stored beside it, so a
  // read's audit entry names the content without hashing it again; empty for a version written
  // without one (the vault then hashes the payload itself). Opaque to the store too.
  Bytes payload_sha256;
};

// find_any's answer: the ids, and the change-feed position the index was read at. A record whose
// current version, read afterwards, has a sequence at or below `as_of_sequence` is the version the
// index was read for, so it carries one of the entries asked for; a later version may not. 0 when
// the store cannot say (a search then checks every record it reads).
struct IndexMatches {
  std::vector<std::string> ids;
  std::int64_t as_of_sequence = 0;
};

struct IndexEntry {
  std::string name;  // for example "family" or "subject"
  Bytes value;       // a blind-index tag or another non-identifying key
  bool operator==(const IndexEntry&) const = default;
};

// One row of the index, with the record it belongs to (a whole-store scan's unit).
struct IndexRow {
  std::string partition;
  std::string type;
  std::string id;
  IndexEntry entry;
  bool operator==(const IndexRow&) const = default;
};

struct RecordWrite {
  RecordVersion record;  // sequence is ignored and assigned by the store
  std::int64_t expected_version = kNoVersion;
  // Replaces every index entry of (type, id); ignored and cleared for tombstones.
  std::vector<IndexEntry> index;
};

struct WrappedKey {
  std::string name;    // "patient/<id>" or "node/<purpose>"
  std::string kek_id;  // which key-encryption key wrapped it
  Bytes wrapped;       // empty once erased
  std::int64_t created_at_ms = 0;
  std::int64_t erased_at_ms = 0;  // 0 while the key lives
  bool erased() const { return erased_at_ms != 0; }
};

struct KeyWrite {
  enum class Kind {
    kCreateIfAbsent,  // insert; a key already present under the name is left as it is
    // insert; fails (kAlreadyExists) if a key is present under the name: the batch carries
    // records sealed under this key, which must then be the stored one
    kCreate,
    kRewrap,  // replace wrapped and kek_id; fails (kConflict) if kek_id is not expected_kek_id
    kErase,   // destroy the wrapped bytes for good and stamp erased_at_ms
  };
  Kind kind = Kind::kCreateIfAbsent;
  WrappedKey key;
  std::string expected_kek_id;
};

// An audit log entry to append. Its index is assigned by commit().
struct AuditAppend {
  std::string subject;  // the patient the entry concerns ("" for node-wide entries), for lookups
  Bytes entry;          // the canonical encoding (audit/audit_entry.h)
};

struct StoredAuditEntry {
  std::int64_t index = 0;
  std::string subject;
  Bytes entry;
};

// A full tile of the audit Merkle tree (C2SP tlog-tiles): 256 hashes of 32 bytes at `level`.
struct AuditTile {
  int level = 0;
  std::int64_t index = 0;
  Bytes hashes;
  bool operator==(const AuditTile&) const = default;
};

// A signed checkpoint note of the audit log at `size` entries.
struct StoredCheckpoint {
  std::int64_t size = 0;
  std::string note;
  std::int64_t recorded_at_ms = 0;
  bool operator==(const StoredCheckpoint&) const = default;
};

struct WriteBatch {
  std::vector<RecordWrite> records;
  std::vector<KeyWrite> keys;
  std::vector<AuditAppend> audit;  // appended in this order, with consecutive indexes
  // Derived tree data written by the audit log's checkpointer. A tile or checkpoint already stored
  // is left as it is (they are deterministic, so a second writer produces the same bytes).
  std::vector<AuditTile> audit_tiles;
  std::vector<StoredCheckpoint> checkpoints;
  bool empty() const {
    return records.empty() && keys.empty() && audit.empty() && audit_tiles.empty() &&
           checkpoints.empty();
  }
  std::size_t operations() const {
    return records.size() + keys.size() + audit.size() + audit_tiles.size() + checkpoints.size();
  }
};

struct CommitReceipt {
  std::int64_t first_sequence = 0;  // 0 when the batch wrote no record
  std::int64_t last_sequence = 0;
  std::int64_t first_audit_index = -1;  // -1 when the batch appended no audit entry
};

// The outcome of a commit queued with Store::commit_queued, known once the batch is durable or
// has failed. Copies share the one outcome. Thread-safety: safe from any thread.
class CommitTicket {
 public:
  using Callback = std::function<void(const Result<CommitReceipt>&)>;

  // A ticket whose outcome is not known yet.
  CommitTicket();
  // A ticket whose outcome is known already.
  static CommitTicket done(Result<CommitReceipt> outcome);

  // Sets the outcome (the first call counts) and runs the waiting callback, if any, here.
  void complete(Result<CommitReceipt> outcome) const;
  // Runs `callback` with the outcome: at once on this thread if it is known, else on the thread
  // that completes the ticket, so it must be quick (hand the work on). One callback per ticket.
  void when_done(Callback callback) const;
  // Blocks until the outcome is known and the callback, if one was waiting, has run: a waiter
  // may rely on what the callback did.
  Result<CommitReceipt> wait() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// A span of record times, [from_ms, to_ms): by default all of time.
struct RecordedRange {
  std::int64_t from_ms = std::numeric_limits<std::int64_t>::min();
  std::int64_t to_ms = std::numeric_limits<std::int64_t>::max();
  bool all_time() const {
    return from_ms == std::numeric_limits<std::int64_t>::min() &&
           to_ms == std::numeric_limits<std::int64_t>::max();
  }
};

struct IndexQuery {
  std::string type;
  IndexEntry entry;
  std::string after_id;  // paging: ids greater than this, in id order
  std::size_t limit = 100;
};

// Loading an empty store faster than commit() can, for a restore (backup/restorer.h). Batches
// are applied as commit() applies them, with two differences the caller accepts: nothing need be
// durable, nor the records and index queryable, until finish() returns; and a record's index
// entries must be given once, with its last version (earlier versions carry none), and a backend
// need not check versions (give kAnyVersion). A load that fails or is
// abandoned before finish() leaves a store to throw away, not to use.
class BulkLoad {
 public:
  virtual ~BulkLoad() = default;
  [[nodiscard]] virtual Result<CommitReceipt> add(WriteBatch batch) = 0;
  [[nodiscard]] virtual Status finish() = 0;
};

// While a ReadScope lives, the reads its thread makes through the store that gave it share one
// database connection and, where the backend can, one read snapshot: a search reads its index,
// the patient's data key and its records, and a read transaction for each made it about a sixth
// slower (SQLite takes its WAL index lock at each, and drops the connection's page cache when the
// WAL changed since its last one, as it has after nearly every group commit). A write through the
// store on that thread ends the snapshot, so a read after it sees the write; a read that has to
// start over (SqliteStore's index journal) may begin a new one. Scopes are for reads that take a
// moment: hold none across a wait for anything but the store's own commits (on SQLite, a key
// erasure's commit truncates the WAL and waits for every snapshot held meanwhile). Destroy it on
// the thread that made it, before the store. Empty for a backend that shares nothing between reads
// (PostgresStore: each read borrows a pooled connection) and for a scope made while one for the
// same store is held on the thread.
class ReadScope {
 public:
  class Holder {
   public:
    virtual ~Holder() = default;
  };
  ReadScope() = default;
  explicit ReadScope(std::unique_ptr<Holder> holder) : holder_(std::move(holder)) {}
  bool holds() const { return holder_ != nullptr; }

 private:
  std::unique_ptr<Holder> holder_;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies the batch atomically and durably, or not at all.
  [[nodiscard]] virtual Result<CommitReceipt> commit(WriteBatch batch) = 0;
  // The same, returning once the batch is queued rather than durable: the ticket tells when it
  // is, and the caller must not act on the batch as done before then. For a request answered only
  // once its audit entries are durable, without a thread blocked meanwhile (audit::QueuedEntries).
  // This default commits at once, through commit(), so a decorator that overrides only commit()
  // keeps its meaning; a store with a queue of its own overrides both.
  [[nodiscard]] virtual CommitTicket commit_queued(WriteBatch batch) {
    return CommitTicket::done(commit(std::move(batch)));
  }

  [[nodiscard]] virtual Result<std::optional<RecordVersion>> read_current(
      const std::string& type, const std::string& id) = 0;
  // The current version of each of `ids` (distinct records of `type`) that exists, tombstones
  // included, in the order of `ids`: a page of search candidates in one read.
  [[nodiscard]] virtual Result<std::vector<RecordVersion>> read_current_many(
      const std::string& type, std::span<const std::string> ids) = 0;
  [[nodiscard]] virtual Result<std::optional<RecordVersion>> read_version(const std::string& type,
                                                                          const std::string& id,
                                                                          std::int64_t version) = 0;
  // Newest first, at most `limit` versions.
  [[nodiscard]] virtual Result<std::vector<RecordVersion>> history(const std::string& type,
                                                                   const std::string& id,
                                                                   std::size_t limit) = 0;
  // The index entries of the current version of (type, id), in (name, value) order; empty for a
  // tombstone or an unknown record (backups copy them so a restore need not re-derive them).
  [[nodiscard]] virtual Result<std::vector<IndexEntry>> index_entries(const std::string& type,
                                                                      const std::string& id) = 0;
  // Ids of live (not deleted) records whose current version carries the index entry, in id order.
  [[nodiscard]] virtual Result<std::vector<std::string>> find(const IndexQuery& query) = 0;
  // Ids of live records whose current version carries an index entry named `name` with any of
  // `values` (each id once), after `after_id`, in id order, at most `limit`, and the position
  // that answer holds for (IndexMatches). One query for a value set, such as the date buckets
  // covering a range or the alternatives of "code=a,b".
  [[nodiscard]] virtual Result<IndexMatches> find_any(const std::string& type,
                                                      const std::string& name,
                                                      const std::vector<Bytes>& values,
                                                      const std::string& after_id,
                                                      std::size_t limit) = 0;
  // Ids of live records of `type` whose current version was recorded within `range`, after
  // `after_id`, in id order, at most `limit`. The candidates of a search with no selective
  // parameter (all of time) or by _lastUpdated, read from the records themselves: their times are
  // stored in plaintext there already, so the index need not repeat them for every record.
  [[nodiscard]] virtual Result<std::vector<std::string>> find_recorded(const std::string& type,
                                                                       const RecordedRange& range,
                                                                       const std::string& after_id,
                                                                       std::size_t limit) = 0;
  // Versions of every record of `type` with sequence < before (0: no bound), newest first, at
  // most `limit` (FHIR type-level history).
  [[nodiscard]] virtual Result<std::vector<RecordVersion>> type_history(const std::string& type,
                                                                        std::int64_t before,
                                                                        std::size_t limit) = 0;
  // The current, live version of each record whose current version is in `partition`, with
  // (type, id) after (after_type, after_id), in (type, id) order, at most `limit` (a patient's
  // compartment, for $everything).
  [[nodiscard]] virtual Result<std::vector<RecordVersion>> partition_records(
      const std::string& partition, const std::string& after_type, const std::string& after_id,
      std::size_t limit) = 0;
  // Versions with sequence > after, in sequence order, at most `limit`.
  [[nodiscard]] virtual Result<std::vector<RecordVersion>> changes_since(std::int64_t after,
                                                                         std::size_t limit) = 0;

  // Every stored record version, in the backend's own key order, after `after` (the last version
  // of the previous page; none for the first page), at most `limit`: a sequential read of the
  // whole store, which a restore checks itself with (backup/restorer.h).
  [[nodiscard]] virtual Result<std::vector<RecordVersion>> scan_records(
      const std::optional<RecordVersion>& after, std::size_t limit) = 0;
  // Every index row, in the backend's own key order, paged the same way.
  [[nodiscard]] virtual Result<std::vector<IndexRow>> scan_index(
      const std::optional<IndexRow>& after, std::size_t limit) = 0;

  [[nodiscard]] virtual Result<std::optional<WrappedKey>> read_key(const std::string& name) = 0;
  // Keys with name > after, in name order, at most `limit` (erased ones included).
  [[nodiscard]] virtual Result<std::vector<WrappedKey>> list_keys(const std::string& after,
                                                                  std::size_t limit) = 0;

  // Audit entries with index >= begin, in index order, at most `limit`.
  [[nodiscard]] virtual Result<std::vector<StoredAuditEntry>> read_audit_entries(
      std::int64_t begin, std::size_t limit) = 0;
  // Entries about `subject` with index > after (-1 for all), in index order, at most `limit`.
  [[nodiscard]] virtual Result<std::vector<StoredAuditEntry>> audit_entries_about(
      const std::string& subject, std::int64_t after, std::size_t limit) = 0;
  // The number of audit entries (the next index to be assigned).
  [[nodiscard]] virtual Result<std::int64_t> audit_size() = 0;
  // Full tiles at `level` with index >= begin, in index order, at most `limit`.
  [[nodiscard]] virtual Result<std::vector<AuditTile>> read_audit_tiles(int level,
                                                                        std::int64_t begin,
                                                                        std::size_t limit) = 0;
  // Checkpoints with size > after, in size order, at most `limit`.
  [[nodiscard]] virtual Result<std::vector<StoredCheckpoint>> read_checkpoints(
      std::int64_t after, std::size_t limit) = 0;
  // The checkpoint with the largest size, if any.
  [[nodiscard]] virtual Result<std::optional<StoredCheckpoint>> latest_checkpoint() = 0;

  // A bulk load into this (empty) store. The default commits each batch as it comes, for a
  // backend with no faster path.
  [[nodiscard]] virtual Result<std::unique_ptr<BulkLoad>> begin_bulk_load();

  // Reads on this thread share a connection and snapshot until the scope ends (ReadScope).
  [[nodiscard]] virtual ReadScope hold_reads() { return {}; }

  // The schema version of the open database.
  virtual int schema_version() const = 0;
  // A short name for logs and metrics: "sqlite" or "postgresql".
  virtual std::string_view backend_name() const = 0;
};

}  // namespace kavach::store
