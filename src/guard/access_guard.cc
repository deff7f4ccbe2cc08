#include "guard/access_guard.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "common/log.h"

namespace kavach::guard {
namespace {

constexpr std::int64_t kHourMs = 60 * 60 * 1000;
constexpr std::int64_t kTenMinutesMs = 10 * 60 * 1000;
// Windows of principals idle for longer than this are dropped, so memory follows activity.
constexpr std::size_t kWindowsMax = 100'000;

bool is_read(audit::Action action) {
  return action == audit::Action::kRecordRead || action == audit::Action::kRecordSearch ||
         action == audit::Action::kRecordHistory;
}

bool is_rewrite(audit::Action action) {
  return action == audit::Action::kRecordUpdate || action == audit::Action::kRecordDelete;
}

// Only people and machines acting on records have budgets; the node's own jobs and operators at
// its console (erasure, rotation) do not.
bool is_budgeted(audit::ActorKind kind) {
  return kind == audit::ActorKind::kClient || kind == audit::ActorKind::kProfessional;
}

}  // namespace

double entropy_bits_per_byte(std::string_view text) {
  if (text.empty()) return 0;
  std::array<std::size_t, 256> counts{};
  for (const char c : text) ++counts[static_cast<unsigned char>(c)];
  double bits = 0;
  const double size = static_cast<double>(text.size());
  for (const auto count : counts) {
    if (count == 0) continue;
    const double p = static_cast<double>(count) / size;
    bits -= p * std::log2(p);
  }
  return bits;
}

AccessGuard::Window& AccessGuard::window(const std::string& principal, std::int64_t length_ms,
                                         std::int64_t now_ms) {
  if (windows_.size() > kWindowsMax) {
    std::erase_if(windows_, [&](const auto& item) {
      return now_ms - item.second.started_ms > item.first.second;
    });
  }
  Window& window = windows_[{principal, length_ms}];
  if (now_ms - window.started_ms >= length_ms) window = Window{now_ms, {}, 0, 0, 0, {}};
  return window;
}

void AccessGuard::alert(Window& window, Rule rule, const std::string& principal,
                        const std::string& subject, std::string detail) {
  if (!window.alerted.insert(rule).second) return;  // once per rule and window
  if (auto raised = alerts_.raise(rule, principal, subject, std::move(detail), true); !raised) {
    log::error("alert_not_stored", {{"reason", raised.error().message}});
  }
}

void AccessGuard::observe(const audit::AuditEntry& entry) { observe(audit::facts_of(entry)); }

void AccessGuard::observe(const audit::EntryFacts& entry) {
  if (!is_budgeted(entry.actor_kind) || entry.actor_id.empty()) return;
  const std::int64_t now = unix_ms(clock_.now());
  std::lock_guard lock(mutex_);
  if (!entry.subject.empty() && policy_.canary_patients.contains(entry.subject)) {
    // A fresh window per touch: every access to a canary alerts.
    Window canary{now, {}, 0, 0, 0, {}};
    alert(canary, Rule::kCanary, entry.actor_id, entry.subject,
          fmt::format("{} touched canary patient {} ({})", entry.actor_id, entry.subject,
                      audit::action_name(entry.action)));
  }
  if (entry.outcome != audit::Outcome::kAllowed) return;
  if (is_read(entry.action) && !entry.subject.empty()) {
    Window& hour = window(entry.actor_id, kHourMs, now);
    hour.patients.insert(entry.subject);
    if (hour.patients.size() > policy_.patients_read_per_hour) {
      alert(hour, Rule::kReadBudget, entry.actor_id, "",
            fmt::format("{} read {} distinct patients within an hour (budget {})", entry.actor_id,
                        hour.patients.size(), policy_.patients_read_per_hour));
    }
  } else if (entry.action == audit::Action::kRecordExport) {
    Window& hour = window(entry.actor_id, kHourMs, now);
    // An export entry lists every record of one patient written into one file.
    hour.exported += std::max<std::size_t>(1, entry.records_named);
    if (hour.exported > policy_.exported_records_per_hour) {
      alert(hour, Rule::kExportBudget, entry.actor_id, "",
            fmt::format("{} exported more than {} records within an hour", entry.actor_id,
                        policy_.exported_records_per_hour));
    }
  } else if (is_rewrite(entry.action)) {
    Window& ten = window(entry.actor_id, kTenMinutesMs, now);
    // A transaction's rewrites of one patient's records are one entry listing them all.
    ten.rewrites += std::max<std::size_t>(1, entry.records_named);
    if (ten.rewrites > policy_.rewrites_per_ten_minutes) {
      alert(ten, Rule::kRewriteBudget, entry.actor_id, "",
            fmt::format("{} rewrote more than {} records within ten minutes", entry.actor_id,
                        policy_.rewrites_per_ten_minutes));
    }
  }
}

Status AccessGuard::inspect_rewrite(std::string_view principal, std::string_view type,
                                    std::string_view json) {
  // Binary holds files as they are (scans, PDFs: compressed, so near-random); it is not judged.
  if (type == "Binary" || json.size() < policy_.random_min_bytes) return check_principal(principal);
  const double bits = entropy_bits_per_byte(json);
  if (bits >= policy_.random_bits_per_byte) {
    const std::int64_t now = unix_ms(clock_.now());
    std::lock_guard lock(mutex_);
    Window& ten = window(std::string(principal), kTenMinutesMs, now);
    if (++ten.random_rewrites > policy_.random_rewrites_per_ten_minutes) {
      alert(ten, Rule::kRandomRewrite, std::string(principal), std::string(type),
            fmt::format("{} rewrote {} records with content that looks encrypted ({:.2f} bits "
                        "per byte) within ten minutes",
                        principal, ten.random_rewrites, bits));
    }
  }
  return check_principal(principal);
}

Status AccessGuard::check_principal(std::string_view principal) const {
  if (!alerts_.is_locked(principal)) return {};
  return make_error(ErrorCode::kPermissionDenied,
                    fmt::format("{} is locked by the anomaly guard pending an administrator's "
                                "review; see the node's alerts",
                                principal));
}

namespace {

// The batch's entries were encoded by this process a moment ago (audit::append_entry), so their
// facts are read without decode_entry's full decode and canonical check.
std::vector<audit::EntryFacts> entries_of(const store::WriteBatch& batch) {
  std::vector<audit::EntryFacts> entries;
  entries.reserve(batch.audit.size());
  for (const auto& append : batch.audit) {
    if (auto facts = audit::read_entry_facts(append.entry)) entries.push_back(std::move(*facts));
  }
  return entries;
}

}  // namespace

Result<store::CommitReceipt> WatchedStore::commit(store::WriteBatch batch) {
  if (!observer_) return inner().commit(std::move(batch));
  const auto entries = entries_of(batch);
  ASSIGN_OR_RETURN(auto receipt, inner().commit(std::move(batch)));
  for (const auto& entry : entries) observer_(entry);
  return receipt;
}

store::CommitTicket WatchedStore::commit_queued(store::WriteBatch batch) {
  if (!observer_) return inner().commit_queued(std::move(batch));
  const auto entries = entries_of(batch);
  auto ticket = inner().commit_queued(std::move(batch));
  for (const auto& entry : entries) observer_(entry);
  return ticket;
}

}  // namespace kavach::guard
