// AlertBook: the guard's alerts and locked principals (issue 7, docs/guard.md).
//
// An alert is written four ways at once: a JSON log line ("ALERT ..."), a sealed node document
// (so the admin API and `kavach guard alerts` list it after a restart), the notifier (by default
// a spool file an operator's pager reads), and a metric. An alert may lock its principal: the
// router then refuses every request of that client (403) until an administrator releases it
// (admin API or `kavach guard release`); a lock and a release are audited.
// Thread-safety: safe from any thread. The lock cache is refreshed from the store by refresh(),
// so a release made by the CLI in another process takes effect at the next refresh.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/metrics.h"
#include "vault/sealed_documents.h"

namespace kavach::guard {

enum class Rule {
  kReadBudget,          // a principal read many more patients than clinical use does
  kRewriteBudget,       // a principal rewrote (updated or deleted) records in bulk
  kExportBudget,        // a principal exported more records than allowed
  kRandomRewrite,       // rewrites whose content looks like ciphertext
  kCanary,              // a canary patient was touched
  kScrub,               // a stored record failed authentication: changed beneath Kavach
  kBackupVerification,  // the scheduled verification of the backup repository failed
};
std::string_view rule_name(Rule rule);

struct Alert {
  std::string id;
  Rule rule = Rule::kReadBudget;
  std::string principal;  // the client or professional id; "" for the scrub
  std::string subject;    // the patient or record concerned, when one is
  std::string detail;
  std::int64_t at_ms = 0;
  bool locked = false;  // the principal was locked for it
};

struct Lock {
  std::string principal;
  std::string alert_id;
  std::int64_t locked_at_ms = 0;
};

class AlertNotifier {
 public:
  virtual ~AlertNotifier() = default;
  virtual void notify(const Alert& alert) = 0;
};

// Appends each alert as a JSON line to a file (mode 0600) that a pager or SIEM tails.
class SpoolAlertNotifier final : public AlertNotifier {
 public:
  explicit SpoolAlertNotifier(std::filesystem::path path) : path_(std::move(path)) {}
  void notify(const Alert& alert) override;

 private:
  std::filesystem::path path_;
  std::mutex mutex_;
};

class AlertBook {
 public:
  AlertBook(vault::SealedDocuments& documents, const Clock& clock, Metrics* metrics = nullptr,
            AlertNotifier* notifier = nullptr)
      : documents_(documents), clock_(clock), metrics_(metrics), notifier_(notifier) {}

  // Records an alert everywhere; with `lock`, also locks the principal.
  Result<Alert> raise(Rule rule, std::string principal, std::string subject, std::string detail,
                      bool lock);
  // The newest alerts first, at most `limit`.
  Result<std::vector<Alert>> alerts(std::size_t limit);
  Result<std::vector<Lock>> locks();
  bool is_locked(std::string_view principal) const;
  // Releases a locked principal; kNotFound when it is not locked.
  Status release(std::string_view principal, std::string_view released_by);
  // Reloads the set of locked principals from the store.
  Status refresh();

 private:
  Status lock(const Alert& alert);
  void publish_metrics();

  vault::SealedDocuments& documents_;
  const Clock& clock_;
  Metrics* metrics_;
  AlertNotifier* notifier_;
  mutable std::mutex mutex_;
  std::set<std::string, std::less<>> locked_;  // GUARDED_BY(mutex_)
  std::size_t raised_ = 0;                     // GUARDED_BY(mutex_), since start
};

}  // namespace kavach::guard
