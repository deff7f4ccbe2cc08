// AccessGuard: detects mass access by one principal and locks it down (issue 7, docs/guard.md).
//
// It watches every audit entry as it is committed (WatchedStore below feeds it), so every read,
// search, export and rewrite is seen whichever API made it, and it inspects the content of each
// rewrite before it is sealed. Rules, per principal (a client or a professional):
//  - read budget: distinct patients read in an hour;
//  - rewrite budget: updates and deletes of existing records in ten minutes;
//  - export budget: records exported in bulk in an hour;
//  - random rewrites: rewrites whose JSON looks like ciphertext (Shannon entropy per byte);
//  - canary patients: any access to one.
// Crossing a rule raises an alert and locks the principal (AlertBook); the router then refuses it.
// Counts live in memory in fixed windows, so a restart starts them afresh; locks are stored.
// Thread-safety: safe from any thread.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "audit/audit_entry.h"
#include "guard/alert_book.h"
#include "guard/guard_policy.h"
#include "store/forwarding_store.h"

namespace kavach::guard {

// Bits of Shannon entropy per byte of `text` (0 to 8).
double entropy_bits_per_byte(std::string_view text);

class AccessGuard {
 public:
  AccessGuard(GuardPolicy policy, AlertBook& alerts, const Clock& clock)
      : policy_(std::move(policy)), alerts_(alerts), clock_(clock) {}

  // Counts a committed audit entry against its principal's budgets.
  void observe(const audit::EntryFacts& entry);
  void observe(const audit::AuditEntry& entry);
  // Before a rewrite of a `type` record by `principal` is sealed: kPermissionDenied when its
  // content pushes the principal over the random-rewrite budget (the principal is then locked).
  Status inspect_rewrite(std::string_view principal, std::string_view type, std::string_view json);
  // kPermissionDenied when the principal is locked.
  Status check_principal(std::string_view principal) const;

  const GuardPolicy& policy() const { return policy_; }

 private:
  struct Window {
    std::int64_t started_ms = 0;
    std::set<std::string> patients;
    std::size_t rewrites = 0;
    std::size_t exported = 0;
    std::size_t random_rewrites = 0;
    std::set<Rule> alerted;  // once per rule and window
  };
  // The principal's window for a rule family of `length_ms`, restarted when it has run out.
  Window& window(const std::string& principal, std::int64_t length_ms, std::int64_t now_ms);
  void alert(Window& window, Rule rule, const std::string& principal, const std::string& subject,
             std::string detail);

  const GuardPolicy policy_;
  AlertBook& alerts_;
  const Clock& clock_;
  std::mutex mutex_;
  std::map<std::pair<std::string, std::int64_t>, Window> windows_;  // GUARDED_BY(mutex_)
};

// A store whose committed audit entries are shown to a function (the guard's observe()).
class WatchedStore final : public store::ForwardingStore {
 public:
  using Observer = std::function<void(const audit::EntryFacts&)>;
  using ForwardingStore::ForwardingStore;
  // Set once, before the store is shared between threads.
  void set_observer(Observer observer) { observer_ = std::move(observer); }
  Result<store::CommitReceipt> commit(store::WriteBatch batch) override;
  // Observes the batch's entries once it is queued: a request answered only when they are durable
  // is counted as the access it attempts, whether or not its log then fails.
  store::CommitTicket commit_queued(store::WriteBatch batch) override;

 private:
  Observer observer_;
};

}  // namespace kavach::guard
