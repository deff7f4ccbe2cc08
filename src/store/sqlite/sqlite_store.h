// SqliteStore: the embedded Store backend, one database file in the node's data directory.
//
// Durability: WAL journal with synchronous=FULL, so a commit that returned survives kill -9 and
// power loss. Throughput: one writer thread applies queued batches in a single transaction (group
// commit), each batch inside its own savepoint so one batch's conflict does not fail the others;
// readers use a pool of connections that read the last committed state concurrently with the
// writer. Other processes (the CLI while the server runs) may write to the same file; SQLite's lock
// and the busy timeout serialise them.
//
// Blind-index rows go through an index journal (index_journal.h): a commit appends them, the
// writer merges them into the sorted index table later, many at a time, and queries read both.
//
// Thread-safety: all public methods are safe from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "store/sqlite/index_journal.h"
#include "store/sqlite/record_cache.h"
#include "store/sqlite/sqlite_connection.h"
#include "store/store.h"

namespace kavach::store::sqlite {

class SqliteStore final : public Store {
 public:
  // The schema version this binary writes; a database with a newer one is refused at open.
  static constexpr int kSchemaVersion = 8;

  struct Options {
    // The schema version to migrate to (tests open a database at an earlier one to check its
    // migration).
    int schema_version = kSchemaVersion;
    // Record writes the index journal may hold before the writer merges the oldest into the index
    // table. Each costs memory in every process reading the store (a full journal of Patients, 29
    // index rows each, took peak RSS from about 105 to 177 MB), and a larger journal lets merges
    // take more rows per index page.
    std::int64_t journal_records_max = 6000;
    // Record writes merged in the first merge. The next is twice as large after a merge quicker
    // than journal_merge_time, half as large after one slower than twice that (up to half of
    // journal_records_max). Commits wait while a merge runs, so this bounds their wait: 150 ms
    // gave creates a p99 of 175 ms, 30 ms one of 48 ms at the same throughput (1M records).
    std::int64_t journal_merge_records = 300;
    std::chrono::milliseconds journal_merge_time{30};
    // With no commit for this long, the writer merges the whole journal down.
    std::chrono::milliseconds journal_idle_merge_after{500};
    // Current record versions kept between read transactions (record_cache.h); 0 turns it off.
    // 32 MiB holds about 20,000 Observations.
    std::size_t record_cache_bytes = std::size_t{32} << 20;
  };

  // Opens (creating if needed) the database at `path` and migrates its schema forward.
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& path,
                                                   Options options);
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& path) {
    return open(path, Options{});
  }
  ~SqliteStore() override;

  Result<CommitReceipt> commit(WriteBatch batch) override;
  // Queued to the writer thread, which completes the ticket after the group commit's fsync.
  CommitTicket commit_queued(WriteBatch batch) override;
  Result<std::optional<RecordVersion>> read_current(const std::string& type,
                                                    const std::string& id) override;
  Result<std::vector<RecordVersion>> read_current_many(const std::string& type,
                                                       std::span<const std::string> ids) override;
  Result<std::optional<RecordVersion>> read_version(const std::string& type, const std::string& id,
                                                    std::int64_t version) override;
  Result<std::vector<RecordVersion>> history(const std::string& type, const std::string& id,
                                             std::size_t limit) override;
  Result<std::vector<std::string>> find(const IndexQuery& query) override;
  Result<std::vector<IndexEntry>> index_entries(const std::string& type,
                                                const std::string& id) override;
  // The position is the last journal sequence of the snapshot the index was read in.
  Result<IndexMatches> find_any(const std::string& type, const std::string& name,
                                const std::vector<Bytes>& values, const std::string& after_id,
                                std::size_t limit) override;
  Result<std::vector<std::string>> find_recorded(const std::string& type,
                                                 const RecordedRange& range,
                                                 const std::string& after_id,
                                                 std::size_t limit) override;
  Result<std::vector<RecordVersion>> type_history(const std::string& type, std::int64_t before,
                                                  std::size_t limit) override;
  Result<std::vector<RecordVersion>> partition_records(const std::string& partition,
                                                       const std::string& after_type,
                                                       const std::string& after_id,
                                                       std::size_t limit) override;
  Result<std::vector<RecordVersion>> changes_since(std::int64_t after, std::size_t limit) override;
  Result<std::vector<RecordVersion>> scan_records(const std::optional<RecordVersion>& after,
                                                  std::size_t limit) override;
  Result<std::vector<IndexRow>> scan_index(const std::optional<IndexRow>& after,
                                           std::size_t limit) override;
  Result<std::optional<WrappedKey>> read_key(const std::string& name) override;
  Result<std::vector<WrappedKey>> list_keys(const std::string& after, std::size_t limit) override;
  Result<std::vector<StoredAuditEntry>> read_audit_entries(std::int64_t begin,
                                                           std::size_t limit) override;
  Result<std::vector<StoredAuditEntry>> audit_entries_about(const std::string& subject,
                                                            std::int64_t after,
                                                            std::size_t limit) override;
  Result<std::int64_t> audit_size() override;
  Result<std::vector<AuditTile>> read_audit_tiles(int level, std::int64_t begin,
                                                  std::size_t limit) override;
  Result<std::vector<StoredCheckpoint>> read_checkpoints(std::int64_t after,
                                                         std::size_t limit) override;
  Result<std::optional<StoredCheckpoint>> latest_checkpoint() override;
  // Into an empty store: no fsync until finish(), the secondary indexes dropped and built again at
  // the end, and blind-index rows staged unordered and inserted in key order at the end (random
  // inserts into the index B-tree were most of a restore's time).
  Result<std::unique_ptr<BulkLoad>> begin_bulk_load() override;
  // One pooled connection for the thread's reads, in one deferred read transaction begun at the
  // first read and ended by a commit from the thread or the scope's end.
  ReadScope hold_reads() override;
  int schema_version() const override { return schema_version_; }
  std::string_view backend_name() const override { return "sqlite"; }

 private:
  struct PendingCommit {
    WriteBatch batch;
    CommitTicket done;
    // When set, the writer runs this alone instead of applying `batch` (bulk load steps).
    std::function<Status()> control;
  };
  class SqliteBulkLoad;
  // Runs `step` on the writer thread, between group commits.
  Status run_on_writer(std::function<Status()> step);
  Status start_bulk_load();
  Status finish_bulk_load();
  class ReaderLease;
  class HeldReads;

  SqliteStore(std::filesystem::path path, Options options)
      : path_(std::move(path)), options_(options), record_cache_(options.record_cache_bytes) {}
  Status start(int schema_version);
  // WAL sizes, in pages, at which a commit asks the checkpointer thread for a checkpoint, and at
  // which the writer runs one itself.
  static constexpr int kWalPagesCheckpointInBackground = 4000;
  static constexpr int kWalPagesCheckpointOnWriter = 64000;
  static int on_wal_commit(void* context, sqlite3* db, const char* schema, int pages);
  void checkpointer_loop(Connection& connection);
  void writer_loop();
  void apply_group(std::vector<std::unique_ptr<PendingCommit>>& group);
  // The next record sequence and audit index to assign within a group commit.
  struct Counters {
    std::int64_t next_sequence = 1;
    std::int64_t next_audit_index = 0;
  };
  Result<Counters> read_counters();
  Result<CommitReceipt> apply_batch(const WriteBatch& batch, Counters& counters);
  Status apply_records(const WriteBatch& batch, Counters& counters, CommitReceipt& receipt);
  Status apply_keys(const WriteBatch& batch);
  Status apply_audit(const WriteBatch& batch, Counters& counters, CommitReceipt& receipt);
  // Moves the oldest journal rows (at most `rows`) into the index table, in key order, in one
  // transaction committed without an fsync of its own. Returns how many it moved.
  Result<std::int64_t> merge_index_journal(std::int64_t rows);
  Result<std::int64_t> merge_journal_rows(std::int64_t rows);
  // Sets the writer back to synchronous=FULL after a merge, if it is not already.
  Status restore_synchronous_full();
  // A merge of merge_records_ writes, which it then adapts to the merge's time.
  Result<std::int64_t> merge_index_journal_timed();
  Result<JournalState> read_journal_state(Connection& connection);
  // After a group commit: merges once when the journal holds more than its bound (and on until
  // it holds at most twice the bound, should it hold more); when idle, merges it all down while
  // no commit is waiting.
  void merge_journal_after_commit();
  void merge_journal_while_idle();
  // Runs `query` inside one read snapshot, with the journal's copy caught up to that snapshot for
  // the rows in `scope` (the query must look at no others).
  using IndexRead = std::function<Status(Connection&, const IndexJournal&)>;
  // With `as_of_sequence`, also says the change-feed position the index was read at (left alone
  // when the store has no journal, whose reads are not one snapshot).
  Status read_index(const JournalScope& scope, const IndexRead& query,
                    std::int64_t* as_of_sequence = nullptr);
  // Whether the open database has the index journal (schema 5) and the per-record entries its
  // merges read (schema 6); without them, as in a test that writes an older schema, index rows go
  // straight into the index table.
  bool journaled() const { return schema_version_ >= 6; }
  // Whether records carry payload_sha256 (schema 8).
  bool has_payload_digests() const { return schema_version_ >= 8; }
  Status catch_up_journal(Connection& reader, const JournalState& snapshot,
                          const JournalScope& scope);
  // Ids from the index table after `after_id` in id order, at most `limit`, skipping records the
  // journal holds. `sql` selects id with ?1 type, ?2 after id, ?3 limit; `bind` binds the rest.
  Result<std::vector<std::string>> indexed_ids(Connection& reader, const IndexJournal& journal,
                                               const std::string& type, const std::string& sql,
                                               const std::function<void(Statement&)>& bind,
                                               std::string after_id, std::size_t limit);
  // The last sequence of the reader's snapshot, with the record cache caught up to it, if the
  // cache may serve that snapshot.
  Result<std::optional<std::int64_t>> record_cache_snapshot(Connection& reader);
  Result<Connection> open_connection() const;
  // The thread's held reads' connection (in its read transaction) or one from the pool.
  Result<ReaderLease> lease_reader();
  Result<Connection> take_reader();
  void return_reader(Connection connection);
  // The scope this thread holds on this store, if any.
  HeldReads* held_reads();
  // Ends the read transaction of this thread's held reads, so that its next read sees a write.
  void end_held_snapshot();

  const std::filesystem::path path_;
  const Options options_;
  int schema_version_ = 0;
  // Formatted at start for the schema opened: the columns read_record reads, and two statements.
  std::string record_columns_;
  std::string current_version_sql_;
  std::string insert_record_sql_;

  // Only the writer thread touches writer_, bulk_loading_, merge_records_, dropped_indexes_ and
  // writer_synchronous_full_.
  std::unique_ptr<Connection> writer_;
  bool bulk_loading_ = false;
  bool writer_synchronous_full_ = true;       // false from a merge's start until it is set back
  std::int64_t merge_records_ = 0;            // 0 until the first merge
  std::vector<std::string> dropped_indexes_;  // their CREATE statements
  std::thread writer_thread_;

  std::thread checkpointer_thread_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wanted_;
  bool checkpoint_requested_ = false;  // GUARDED_BY(checkpoint_mutex_)
  bool checkpoint_stopping_ = false;   // GUARDED_BY(checkpoint_mutex_)
  // Held while a checkpoint runs, so the writer's truncating checkpoint after a key erasure waits
  // for the checkpointer's rather than failing.
  std::mutex checkpoint_running_mutex_;

  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<std::unique_ptr<PendingCommit>> queue_;  // GUARDED_BY(queue_mutex_)
  bool stopping_ = false;                             // GUARDED_BY(queue_mutex_)

  // Readers share it while they answer from the journal copy; catching up takes it alone.
  std::shared_mutex journal_mutex_;
  IndexJournal journal_;  // GUARDED_BY(journal_mutex_)

  std::mutex readers_mutex_;
  std::vector<Connection> idle_readers_;  // GUARDED_BY(readers_mutex_)

  RecordCache record_cache_;
};

}  // namespace kavach::store::sqlite
