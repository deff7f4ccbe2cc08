// SqliteStore: the embedded Store backend, one database file in the node's data directory.
//
// Durability: WAL journal with synchronous=FULL, so a commit that returned survives kill -9 and
// power loss. Throughput: one writer thread applies queued batches in a single transaction (group
// commit), each batch inside its own savepoint so one batch's conflict does not fail the others;
// readers use a pool of connections that read the last committed state concurrently with the
// writer. Other processes (the CLI while the server runs) may write to the same file; SQLite's lock
// and the busy timeout serialise them.
//
// Thread-safety: all public methods are safe from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_connection.h"
#include "store/store.h"

namespace kavach::store::sqlite {

class SqliteStore final : public Store {
 public:
  // The schema version this binary writes; a database with a newer one is refused at open.
  static constexpr int kSchemaVersion = 4;

  // Opens (creating if needed) the database at `path` and migrates its schema forward, to
  // `schema_version` (tests open a database at an earlier version to check its migration).
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& path,
                                                   int schema_version = kSchemaVersion);
  ~SqliteStore() override;

  Result<CommitReceipt> commit(WriteBatch batch) override;
  Result<std::optional<RecordVersion>> read_current(const std::string& type,
                                                    const std::string& id) override;
  Result<std::optional<RecordVersion>> read_version(const std::string& type, const std::string& id,
                                                    std::int64_t version) override;
  Result<std::vector<RecordVersion>> history(const std::string& type, const std::string& id,
                                             std::size_t limit) override;
  Result<std::vector<std::string>> find(const IndexQuery& query) override;
  Result<std::vector<IndexEntry>> index_entries(const std::string& type,
                                                const std::string& id) override;
  Result<std::vector<std::string>> find_any(const std::string& type, const std::string& name,
                                            const std::vector<Bytes>& values,
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
  int schema_version() const override { return schema_version_; }
  std::string_view backend_name() const override { return "sqlite"; }

 private:
  struct PendingCommit {
    WriteBatch batch;
    std::promise<Result<CommitReceipt>> done;
    // When set, the writer runs this alone instead of applying `batch` (bulk load steps).
    std::function<Status()> control;
  };
  class SqliteBulkLoad;
  // Runs `step` on the writer thread, between group commits.
  Status run_on_writer(std::function<Status()> step);
  Status start_bulk_load();
  Status finish_bulk_load();
  class ReaderLease;

  explicit SqliteStore(std::filesystem::path path) : path_(std::move(path)) {}
  Status start(int schema_version);
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
  Result<Connection> open_connection() const;
  Result<ReaderLease> lease_reader();
  void return_reader(Connection connection);

  const std::filesystem::path path_;
  int schema_version_ = 0;

  // Only the writer thread touches writer_, bulk_loading_ and dropped_indexes_.
  std::unique_ptr<Connection> writer_;
  bool bulk_loading_ = false;
  std::vector<std::string> dropped_indexes_;  // their CREATE statements
  std::thread writer_thread_;

  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<std::unique_ptr<PendingCommit>> queue_;  // GUARDED_BY(queue_mutex_)
  bool stopping_ = false;                             // GUARDED_BY(queue_mutex_)

  std::mutex readers_mutex_;
  std::vector<Connection> idle_readers_;  // GUARDED_BY(readers_mutex_)
};

}  // namespace kavach::store::sqlite
