#include "guard/alert_book.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "audit/merkle_tree.h"
#include "common/file_descriptor.h"
#include "common/json_members.h"
#include "common/log.h"
#include "common/time_format.h"
#include "crypto/encoding.h"
#include "crypto/secret_bytes.h"

namespace kavach::guard {
namespace {

namespace json = boost::json;

constexpr std::string_view kAlertType = "_GuardAlert";
constexpr std::string_view kLockType = "_GuardLock";
constexpr std::size_t kListMax = 1000;

const vault::DocumentIndexValue kEveryAlert{"kind", "alert", true};
const vault::DocumentIndexValue kLocked{"state", "locked", true};

// Alert ids sort by time (zero-padded milliseconds), so the store's id order is the alerts' order.
std::string alert_id(std::int64_t at_ms) {
  return fmt::format("{:015}-{}", at_ms, crypto::to_hex(crypto::SecretBytes::random(6).view()));
}

// A lock's id: the principal's id is free text, the document id must not be.
std::string lock_id(std::string_view principal) {
  const auto hash = audit::sha256(
      std::span(reinterpret_cast<const std::uint8_t*>(principal.data()), principal.size()));
  return crypto::to_hex(std::span<const std::uint8_t>(hash).first(16));
}

json::object alert_json(const Alert& alert) {
  return {{"id", alert.id},
          {"rule", rule_name(alert.rule)},
          {"principal", alert.principal},
          {"subject", alert.subject},
          {"detail", alert.detail},
          {"at", format_instant_ms(alert.at_ms)},
          {"locked", alert.locked}};
}

std::optional<Rule> rule_from_name(std::string_view name) {
  for (const Rule rule :
       {Rule::kReadBudget, Rule::kRewriteBudget, Rule::kExportBudget, Rule::kRandomRewrite,
        Rule::kCanary, Rule::kScrub, Rule::kBackupVerification}) {
    if (rule_name(rule) == name) return rule;
  }
  return std::nullopt;
}

audit::AuditEntry guard_entry(audit::Action action, std::string_view principal,
                              std::string_view actor, std::int64_t at_ms) {
  audit::AuditEntry entry;
  entry.time_ms = at_ms;
  entry.action = action;
  entry.basis = audit::Basis::kOperator;
  entry.actor_kind = actor.empty() ? audit::ActorKind::kNode : audit::ActorKind::kOperator;
  entry.actor_id = actor.empty() ? "kavach-guard" : std::string(actor);
  entry.resource_type = std::string(kLockType);
  entry.resource_id = lock_id(principal);
  return entry;
}

}  // namespace

std::string_view rule_name(Rule rule) {
  switch (rule) {
    case Rule::kReadBudget:
      return "read-budget";
    case Rule::kRewriteBudget:
      return "rewrite-budget";
    case Rule::kExportBudget:
      return "export-budget";
    case Rule::kRandomRewrite:
      return "random-rewrite";
    case Rule::kCanary:
      return "canary";
    case Rule::kScrub:
      return "scrub";
    case Rule::kBackupVerification:
      return "backup-verification";
  }
  return "unknown";
}

void SpoolAlertNotifier::notify(const Alert& alert) {
  const std::string line = json::serialize(alert_json(alert)) + "\n";
  std::lock_guard lock(mutex_);
  FileDescriptor fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (fd.get() < 0 || !write_all(fd.get(), line) || ::fsync(fd.get()) != 0) {
    log::error("alert_spool_failed", {{"path", path_.string()}});
  }
}

Result<Alert> AlertBook::raise(Rule rule, std::string principal, std::string subject,
                               std::string detail, bool lock_principal) {
  Alert alert;
  alert.at_ms = unix_ms(clock_.now());
  alert.id = alert_id(alert.at_ms);
  alert.rule = rule;
  alert.principal = std::move(principal);
  alert.subject = std::move(subject);
  alert.detail = std::move(detail);
  alert.locked = lock_principal && !alert.principal.empty();
  // The log line first: it is the one channel that cannot fail with the store.
  log::error("ALERT", {{"rule", std::string(rule_name(rule))},
                       {"principal", alert.principal},
                       {"subject", alert.subject},
                       {"detail", alert.detail},
                       {"locked", alert.locked ? "yes" : "no"}});
  {
    std::lock_guard lock(mutex_);
    ++raised_;
    if (alert.locked) locked_.insert(alert.principal);
  }
  publish_metrics();
  if (notifier_ != nullptr) notifier_->notify(alert);
  vault::Document document{std::string(kAlertType), alert.id, "", 0, 0, alert_json(alert)};
  RETURN_IF_ERROR(documents_.write(document, {kEveryAlert}));
  if (alert.locked) RETURN_IF_ERROR(lock(alert));
  return alert;
}

Status AlertBook::lock(const Alert& alert) {
  const std::string id = lock_id(alert.principal);
  ASSIGN_OR_RETURN(auto existing, documents_.read(kLockType, id));
  vault::Document document =
      existing ? std::move(*existing) : vault::Document{std::string(kLockType), id, "", 0, 0, {}};
  document.body = {{"principal", alert.principal},
                   {"alert", alert.id},
                   {"locked_at_ms", alert.at_ms},
                   {"state", "locked"}};
  store::WriteBatch also;
  RETURN_IF_ERROR(audit::append_entry(
      also, guard_entry(audit::Action::kPrincipalLock, alert.principal, "", alert.at_ms)));
  return documents_.write(document, {kLocked}, std::move(also));
}

Status AlertBook::release(std::string_view principal, std::string_view released_by) {
  ASSIGN_OR_RETURN(auto existing, documents_.read(kLockType, lock_id(principal)));
  if (!existing || string_member(existing->body, "state") != "locked") {
    return make_error(ErrorCode::kNotFound, fmt::format("{} is not locked", principal));
  }
  const std::int64_t now = unix_ms(clock_.now());
  existing->body["state"] = "released";
  existing->body["released_at_ms"] = now;
  existing->body["released_by"] = released_by;
  store::WriteBatch also;
  RETURN_IF_ERROR(audit::append_entry(
      also, guard_entry(audit::Action::kPrincipalRelease, principal, released_by, now)));
  RETURN_IF_ERROR(documents_.write(*existing, {{"state", "released", true}}, std::move(also)));
  {
    std::lock_guard lock(mutex_);
    locked_.erase(std::string(principal));
  }
  publish_metrics();
  log::warn("principal_released",
            {{"principal", std::string(principal)}, {"by", std::string(released_by)}});
  return {};
}

Result<std::vector<Alert>> AlertBook::alerts(std::size_t limit) {
  std::vector<Alert> all;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(const auto page,
                     documents_.find_documents(kAlertType, kEveryAlert, kListMax, after));
    if (page.empty()) break;
    for (const auto& document : page) {
      Alert alert;
      alert.id = document.id;
      alert.rule = rule_from_name(string_member(document.body, "rule")).value_or(Rule::kScrub);
      alert.principal = string_member(document.body, "principal");
      alert.subject = string_member(document.body, "subject");
      alert.detail = string_member(document.body, "detail");
      alert.at_ms = parse_instant_ms(string_member(document.body, "at")).value_or(0);
      alert.locked = bool_member(document.body, "locked");
      all.push_back(std::move(alert));
    }
    after = page.back().id;
  }
  std::reverse(all.begin(), all.end());
  if (all.size() > limit) all.resize(limit);
  return all;
}

Result<std::vector<Lock>> AlertBook::locks() {
  std::vector<Lock> locks;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(const auto page,
                     documents_.find_documents(kLockType, kLocked, kListMax, after));
    if (page.empty()) break;
    for (const auto& document : page) {
      locks.push_back(Lock{string_member(document.body, "principal"),
                           string_member(document.body, "alert"),
                           integer_member(document.body, "locked_at_ms")});
    }
    after = page.back().id;
  }
  return locks;
}

bool AlertBook::is_locked(std::string_view principal) const {
  std::lock_guard lock(mutex_);
  return locked_.find(principal) != locked_.end();
}

Status AlertBook::refresh() {
  ASSIGN_OR_RETURN(const auto current, locks());
  std::set<std::string, std::less<>> principals;
  for (const auto& lock : current) principals.insert(lock.principal);
  {
    std::lock_guard lock(mutex_);
    locked_ = std::move(principals);
  }
  publish_metrics();
  return {};
}

void AlertBook::publish_metrics() {
  if (metrics_ == nullptr) return;
  std::size_t locked = 0;
  std::size_t raised = 0;
  {
    std::lock_guard lock(mutex_);
    locked = locked_.size();
    raised = raised_;
  }
  metrics_->set_gauge("kavach_guard_locked_principals", static_cast<double>(locked));
  metrics_->set_gauge("kavach_guard_alerts_raised", static_cast<double>(raised));
}

}  // namespace kavach::guard
