// FaultInjectingStore: a Store that fails its Nth call (counting every method), for the
// fault-injection loops of issue 7. In kBeforeCall mode the failing call does not reach the store;
// in kAfterCommit mode a failing commit is applied and then reported as failed (the answer was
// lost), which is what a caller sees when the process or the connection dies at that moment.
// Thread-safety: the counter is atomic; meant for single-threaded workloads.
#pragma once

#include <atomic>
#include <limits>

#include "store/forwarding_store.h"

namespace kavach::testing {

class FaultInjectingStore final : public store::ForwardingStore {
 public:
  enum class Mode { kBeforeCall, kAfterCommit };

  FaultInjectingStore(std::unique_ptr<store::Store> inner, std::int64_t fail_at, Mode mode)
      : ForwardingStore(std::move(inner)), fail_at_(fail_at), mode_(mode) {}

  std::int64_t calls() const { return calls_.load(); }
  bool fired() const { return calls_.load() >= fail_at_.load(); }
  // No fault from here on (for the checks after a workload).
  void disarm() { fail_at_ = std::numeric_limits<std::int64_t>::max(); }

  Result<store::CommitReceipt> commit(store::WriteBatch batch) override {
    if (!next()) return ForwardingStore::commit(std::move(batch));
    if (mode_ == Mode::kAfterCommit) (void)ForwardingStore::commit(std::move(batch));
    return injected();
  }
  Result<std::optional<store::RecordVersion>> read_current(const std::string& type,
                                                           const std::string& id) override {
    if (next()) return injected();
    return ForwardingStore::read_current(type, id);
  }
  Result<std::vector<store::RecordVersion>> read_current_many(
      const std::string& type, std::span<const std::string> ids) override {
    if (next()) return injected();
    return ForwardingStore::read_current_many(type, ids);
  }
  Result<std::optional<store::RecordVersion>> read_version(const std::string& type,
                                                           const std::string& id,
                                                           std::int64_t version) override {
    if (next()) return injected();
    return ForwardingStore::read_version(type, id, version);
  }
  Result<std::vector<store::RecordVersion>> history(const std::string& type, const std::string& id,
                                                    std::size_t limit) override {
    if (next()) return injected();
    return ForwardingStore::history(type, id, limit);
  }
  Result<std::vector<std::string>> find(const store::IndexQuery& query) override {
    if (next()) return injected();
    return ForwardingStore::find(query);
  }
  Result<store::IndexMatches> find_any(const std::string& type, const std::string& name,
                                       const std::vector<store::Bytes>& values,
                                       const std::string& after_id, std::size_t limit) override {
    if (next()) return injected();
    return ForwardingStore::find_any(type, name, values, after_id, limit);
  }
  Result<std::vector<std::string>> find_recorded(const std::string& type,
                                                 const store::RecordedRange& range,
                                                 const std::string& after_id,
                                                 std::size_t limit) override {
    if (next()) return injected();
    return ForwardingStore::find_recorded(type, range, after_id, limit);
  }
  Result<std::optional<store::WrappedKey>> read_key(const std::string& name) override {
    if (next()) return injected();
    return ForwardingStore::read_key(name);
  }

 private:
  bool next() { return ++calls_ == fail_at_.load(); }
  static tl::unexpected<Error> injected() {
    return tl::unexpected(Error{ErrorCode::kUnavailable, "injected storage fault"});
  }

  std::atomic<std::int64_t> calls_{0};
  std::atomic<std::int64_t> fail_at_;
  const Mode mode_;
};

}  // namespace kavach::testing
