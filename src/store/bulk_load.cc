#include "store/store.h"

namespace kavach::store {
namespace {

// The default bulk load: every batch is an ordinary, durable commit.
class CommittingBulkLoad final : public BulkLoad {
 public:
  explicit CommittingBulkLoad(Store& store) : store_(store) {}
  Result<CommitReceipt> add(WriteBatch batch) override { return store_.commit(std::move(batch)); }
  Status finish() override { return {}; }

 private:
  Store& store_;
};

}  // namespace

Result<std::unique_ptr<BulkLoad>> Store::begin_bulk_load() {
  ASSIGN_OR_RETURN(const auto records, changes_since(0, 1));
  ASSIGN_OR_RETURN(const auto keys, list_keys("", 1));
  ASSIGN_OR_RETURN(const auto audit, audit_size());
  if (!records.empty() || !keys.empty() || audit != 0) {
    return make_error(ErrorCode::kFailedPrecondition, "a bulk load needs an empty store");
  }
  return std::unique_ptr<BulkLoad>(new CommittingBulkLoad(*this));
}

}  // namespace kavach::store
