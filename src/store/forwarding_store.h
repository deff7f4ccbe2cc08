// Store decorators: ForwardingStore passes every call to the store it wraps, and a decorator
// overrides only what it changes. ReadOnlyStore is the emergency read-only mode's store.
// Thread-safety: as the wrapped store.
#pragma once

#include <algorithm>
#include <memory>

#include "store/store.h"

namespace kavach::store {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  Result<CommitReceipt> commit(WriteBatch batch) override {
    return inner_->commit(std::move(batch));
  }
  Result<std::optional<RecordVersion>> read_current(const std::string& type,
                                                    const std::string& id) override {
    return inner_->read_current(type, id);
  }
  Result<std::vector<RecordVersion>> read_current_many(const std::string& type,
                                                       std::span<const std::string> ids) override {
    return inner_->read_current_many(type, ids);
  }
  Result<std::optional<RecordVersion>> read_version(const std::string& type, const std::string& id,
                                                    std::int64_t version) override {
    return inner_->read_version(type, id, version);
  }
  Result<std::vector<RecordVersion>> history(const std::string& type, const std::string& id,
                                             std::size_t limit) override {
    return inner_->history(type, id, limit);
  }
  Result<std::vector<IndexEntry>> index_entries(const std::string& type,
                                                const std::string& id) override {
    return inner_->index_entries(type, id);
  }
  Result<std::vector<std::string>> find(const IndexQuery& query) override {
    return inner_->find(query);
  }
  Result<IndexMatches> find_any(const std::string& type, const std::string& name,
                                const std::vector<Bytes>& values, const std::string& after_id,
                                std::size_t limit) override {
    return inner_->find_any(type, name, values, after_id, limit);
  }
  Result<std::vector<std::string>> find_recorded(const std::string& type,
                                                 const RecordedRange& range,
                                                 const std::string& after_id,
                                                 std::size_t limit) override {
    return inner_->find_recorded(type, range, after_id, limit);
  }
  Result<std::vector<RecordVersion>> type_history(const std::string& type, std::int64_t before,
                                                  std::size_t limit) override {
    return inner_->type_history(type, before, limit);
  }
  Result<std::vector<RecordVersion>> partition_records(const std::string& partition,
                                                       const std::string& after_type,
                                                       const std::string& after_id,
                                                       std::size_t limit) override {
    return inner_->partition_records(partition, after_type, after_id, limit);
  }
  Result<std::vector<RecordVersion>> changes_since(std::int64_t after, std::size_t limit) override {
    return inner_->changes_since(after, limit);
  }
  Result<std::vector<RecordVersion>> scan_records(const std::optional<RecordVersion>& after,
                                                  std::size_t limit) override {
    return inner_->scan_records(after, limit);
  }
  Result<std::vector<IndexRow>> scan_index(const std::optional<IndexRow>& after,
                                           std::size_t limit) override {
    return inner_->scan_index(after, limit);
  }
  Result<std::optional<WrappedKey>> read_key(const std::string& name) override {
    return inner_->read_key(name);
  }
  Result<std::vector<WrappedKey>> list_keys(const std::string& after, std::size_t limit) override {
    return inner_->list_keys(after, limit);
  }
  Result<std::vector<StoredAuditEntry>> read_audit_entries(std::int64_t begin,
                                                           std::size_t limit) override {
    return inner_->read_audit_entries(begin, limit);
  }
  Result<std::vector<StoredAuditEntry>> audit_entries_about(const std::string& subject,
                                                            std::int64_t after,
                                                            std::size_t limit) override {
    return inner_->audit_entries_about(subject, after, limit);
  }
  Result<std::int64_t> audit_size() override { return inner_->audit_size(); }
  Result<std::vector<AuditTile>> read_audit_tiles(int level, std::int64_t begin,
                                                  std::size_t limit) override {
    return inner_->read_audit_tiles(level, begin, limit);
  }
  Result<std::vector<StoredCheckpoint>> read_checkpoints(std::int64_t after,
                                                         std::size_t limit) override {
    return inner_->read_checkpoints(after, limit);
  }
  Result<std::optional<StoredCheckpoint>> latest_checkpoint() override {
    return inner_->latest_checkpoint();
  }
  Result<std::unique_ptr<BulkLoad>> begin_bulk_load() override { return inner_->begin_bulk_load(); }
  ReadScope hold_reads() override { return inner_->hold_reads(); }
  int schema_version() const override { return inner_->schema_version(); }
  std::string_view backend_name() const override { return inner_->backend_name(); }

 protected:
  Store& inner() { return *inner_; }

 private:
  std::unique_ptr<Store> inner_;
};

// Refuses to change records or keys, for the emergency read-only mode (`kavach serve --read-only`,
// issue 7). Reads pass through, and so does the audit log: every read in emergency mode is audited
// and signed as usual. Key erasures pass too, since destroying a key (a consent's expiry at a HIU,
// a patient's erasure) must never wait for the rebuilt node. Everything else is refused with
// kUnavailable (503), saying why.
class ReadOnlyStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  Result<CommitReceipt> commit(WriteBatch batch) override {
    const bool changes_data =
        !batch.records.empty() ||
        std::any_of(batch.keys.begin(), batch.keys.end(),
                    [](const KeyWrite& write) { return write.kind != KeyWrite::Kind::kErase; });
    if (changes_data) {
      return make_error(ErrorCode::kUnavailable,
                        "this node is in emergency read-only mode (serving a backup while the "
                        "main system is rebuilt); records cannot be written until it is back");
    }
    return inner().commit(std::move(batch));
  }
  Result<std::unique_ptr<BulkLoad>> begin_bulk_load() override {
    return make_error(ErrorCode::kUnavailable, "this node is in emergency read-only mode");
  }
};

}  // namespace kavach::store
