// PostgresStore: the Store backend for deployments beyond one machine.
//
// Every patient-owned table leads its primary key with partition_key, so a Citus cluster can
// distribute the tables by that column. Commits run in one transaction on a pooled connection;
// sequence numbers for the change feed come from a counter row whose lock is held until commit, so
// the feed is in commit order. Migrations run forward at open under an advisory lock and refuse a
// database whose schema is newer than the binary.
//
// Thread-safety: all public methods are safe from any thread.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/postgres/postgres_connection.h"
#include "store/store.h"

namespace kavach::store::postgres {

class PostgresStore final : public Store {
 public:
  // The schema version this binary writes; a database with a newer one is refused at open.
  static constexpr int kSchemaVersion = 5;

  static Result<std::unique_ptr<PostgresStore>> open(const std::string& url, std::size_t pool_size);

  Result<CommitReceipt> commit(WriteBatch batch) override;
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
  // The position is the kavach_sequence counter read in the lookup's own snapshot: commits take
  // their sequences under that row's lock, held to their end, so sequences are in commit order and
  // every version the snapshot shows, and none it does not, is at or below the counter it shows.
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
  int schema_version() const override { return schema_version_; }
  std::string_view backend_name() const override { return "postgresql"; }

 private:
  class Lease;
  PostgresStore(std::string url, std::size_t pool_size)
      : url_(std::move(url)), pool_size_(pool_size) {}
  Result<Lease> lease();
  void give_back(std::unique_ptr<PgConnection> connection);
  Result<CommitReceipt> apply_batch(PgConnection& connection, const WriteBatch& batch);
  Status apply_audit(PgConnection& connection, const WriteBatch& batch, CommitReceipt& receipt);
  Result<std::vector<RecordVersion>> query_records(const std::string& name, const std::string& sql,
                                                   const PgParams& params);

  const std::string url_;
  const std::size_t pool_size_;
  int schema_version_ = 0;

  std::mutex pool_mutex_;
  std::condition_variable pool_changed_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // GUARDED_BY(pool_mutex_)
  std::size_t open_connections_ = 0;                 // GUARDED_BY(pool_mutex_)
};

}  // namespace kavach::store::postgres
