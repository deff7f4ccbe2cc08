// InstrumentedStore wraps any Store and records each call's latency and outcome in Metrics,
// labelled by backend and operation. The server wraps its store in one; tests use stores bare.
// Thread-safety: as the wrapped store.
#pragma once

#include <chrono>
#include <memory>
#include <type_traits>

#include "common/metrics.h"
#include "store/store.h"

namespace kavach::store {

class InstrumentedStore final : public Store {
 public:
  InstrumentedStore(std::unique_ptr<Store> inner, Metrics& metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}

  Result<CommitReceipt> commit(WriteBatch batch) override {
    return timed("commit", [&] { return inner_->commit(std::move(batch)); });
  }
  // Observed when the commit is done, from queueing to its outcome, as commit() is.
  CommitTicket commit_queued(WriteBatch batch) override {
    const auto start = std::chrono::steady_clock::now();
    CommitTicket queued = inner_->commit_queued(std::move(batch));
    CommitTicket observed;
    // Not `this`: a store closing answers what it still holds while its wrapper is destroyed.
    queued.when_done([&metrics = metrics_, backend = inner_->backend_name(), start,
                      observed](const Result<CommitReceipt>& outcome) {
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      metrics.observe_store(backend, "commit", outcome.has_value(), elapsed.count());
      observed.complete(outcome);
    });
    return observed;
  }
  Result<std::optional<RecordVersion>> read_current(const std::string& type,
                                                    const std::string& id) override {
    return timed("read_current", [&] { return inner_->read_current(type, id); });
  }
  Result<std::vector<RecordVersion>> read_current_many(const std::string& type,
                                                       std::span<const std::string> ids) override {
    return timed("read_current_many", [&] { return inner_->read_current_many(type, ids); });
  }
  Result<std::optional<RecordVersion>> read_version(const std::string& type, const std::string& id,
                                                    std::int64_t version) override {
    return timed("read_version", [&] { return inner_->read_version(type, id, version); });
  }
  Result<std::vector<RecordVersion>> history(const std::string& type, const std::string& id,
                                             std::size_t limit) override {
    return timed("history", [&] { return inner_->history(type, id, limit); });
  }
  Result<std::vector<std::string>> find(const IndexQuery& query) override {
    return timed("find", [&] { return inner_->find(query); });
  }
  Result<std::vector<IndexEntry>> index_entries(const std::string& type,
                                                const std::string& id) override {
    return timed("index_entries", [&] { return inner_->index_entries(type, id); });
  }
  Result<IndexMatches> find_any(const std::string& type, const std::string& name,
                                const std::vector<Bytes>& values, const std::string& after_id,
                                std::size_t limit) override {
    return timed("find_any", [&] { return inner_->find_any(type, name, values, after_id, limit); });
  }
  Result<std::vector<std::string>> find_recorded(const std::string& type,
                                                 const RecordedRange& range,
                                                 const std::string& after_id,
                                                 std::size_t limit) override {
    return timed("find_recorded",
                 [&] { return inner_->find_recorded(type, range, after_id, limit); });
  }
  Result<std::vector<RecordVersion>> type_history(const std::string& type, std::int64_t before,
                                                  std::size_t limit) override {
    return timed("type_history", [&] { return inner_->type_history(type, before, limit); });
  }
  Result<std::vector<RecordVersion>> partition_records(const std::string& partition,
                                                       const std::string& after_type,
                                                       const std::string& after_id,
                                                       std::size_t limit) override {
    return timed("partition_records",
                 [&] { return inner_->partition_records(partition, after_type, after_id, limit); });
  }
  Result<std::vector<RecordVersion>> changes_since(std::int64_t after, std::size_t limit) override {
    return timed("changes_since", [&] { return inner_->changes_since(after, limit); });
  }
  Result<std::vector<RecordVersion>> scan_records(const std::optional<RecordVersion>& after,
                                                  std::size_t limit) override {
    return timed("scan_records", [&] { return inner_->scan_records(after, limit); });
  }
  Result<std::vector<IndexRow>> scan_index(const std::optional<IndexRow>& after,
                                           std::size_t limit) override {
    return timed("scan_index", [&] { return inner_->scan_index(after, limit); });
  }
  Result<std::optional<WrappedKey>> read_key(const std::string& name) override {
    return timed("read_key", [&] { return inner_->read_key(name); });
  }
  Result<std::vector<WrappedKey>> list_keys(const std::string& after, std::size_t limit) override {
    return timed("list_keys", [&] { return inner_->list_keys(after, limit); });
  }
  Result<std::vector<StoredAuditEntry>> read_audit_entries(std::int64_t begin,
                                                           std::size_t limit) override {
    return timed("read_audit_entries", [&] { return inner_->read_audit_entries(begin, limit); });
  }
  Result<std::vector<StoredAuditEntry>> audit_entries_about(const std::string& subject,
                                                            std::int64_t after,
                                                            std::size_t limit) override {
    return timed("audit_entries_about",
                 [&] { return inner_->audit_entries_about(subject, after, limit); });
  }
  Result<std::int64_t> audit_size() override {
    return timed("audit_size", [&] { return inner_->audit_size(); });
  }
  Result<std::vector<AuditTile>> read_audit_tiles(int level, std::int64_t begin,
                                                  std::size_t limit) override {
    return timed("read_audit_tiles", [&] { return inner_->read_audit_tiles(level, begin, limit); });
  }
  Result<std::vector<StoredCheckpoint>> read_checkpoints(std::int64_t after,
                                                         std::size_t limit) override {
    return timed("read_checkpoints", [&] { return inner_->read_checkpoints(after, limit); });
  }
  Result<std::optional<StoredCheckpoint>> latest_checkpoint() override {
    return timed("latest_checkpoint", [&] { return inner_->latest_checkpoint(); });
  }
  // The batches of a bulk load (a restore) are not observed one by one; the load is the
  // wrapped store's own (SQLite's defers its indexes), not the default of a commit per batch.
  Result<std::unique_ptr<BulkLoad>> begin_bulk_load() override {
    return timed("begin_bulk_load", [&] { return inner_->begin_bulk_load(); });
  }
  ReadScope hold_reads() override { return inner_->hold_reads(); }
  int schema_version() const override { return inner_->schema_version(); }
  std::string_view backend_name() const override { return inner_->backend_name(); }

 private:
  template <class Call>
  std::invoke_result_t<Call> timed(std::string_view operation, Call&& call) {
    const auto start = std::chrono::steady_clock::now();
    auto result = call();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    metrics_.observe_store(inner_->backend_name(), operation, result.has_value(), elapsed.count());
    return result;
  }

  std::unique_ptr<Store> inner_;
  Metrics& metrics_;
};

}  // namespace kavach::store
