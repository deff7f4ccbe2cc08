// Admin requests to a backup server: the only way to remove anything from a repository or to
// shorten how long it keeps snapshots (issue 7).
//
// The admin key is an Ed25519 key kept offline, never on a node: ransomware holding everything a
// node has still cannot prune. A request is a signed note (audit/signed_note.h) whose text is
//   kavach-backup-admin v1
//   <operation> <argument>        prune <before unix ms> | retention <days>
//   issued <unix ms>
// The server holds only the verifier key, and accepts a request issued within kAdminRequestSkew
// of its clock, each issue time at most once (a captured request cannot be replayed later).
//
// The admin key file (text, mode 0600): "kavach-backup-admin-key v1\nseed <64 hex>\n".
// Thread-safety: AdminRequestGate serialises its replay check; the rest are functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>

#include "audit/signed_note.h"
#include "common/clock.h"
#include "common/error.h"

namespace kavach::backup {

inline constexpr std::chrono::minutes kAdminRequestSkew{5};
inline constexpr std::string_view kAdminKeyName = "kavach-backup-admin";

enum class AdminOperation { kPrune, kRetention };

struct AdminRequest {
  AdminOperation operation = AdminOperation::kPrune;
  std::int64_t argument = 0;  // before unix ms, or days
  std::int64_t issued_ms = 0;
};

// Creates an admin key file (refusing to overwrite one) and returns its signer.
Result<audit::NoteSigner> create_admin_key(const std::filesystem::path& path);
Result<audit::NoteSigner> load_admin_key(const std::filesystem::path& path);

// The signed note for `request`.
Result<std::string> sign_admin_request(const audit::NoteSigner& signer,
                                       const AdminRequest& request);

class AdminRequestGate {
 public:
  AdminRequestGate(audit::NoteVerifier verifier, const Clock& clock)
      : verifier_(std::move(verifier)), clock_(clock) {}
  // The request in `note`: kPermissionDenied unless signed by the admin key, fresh and unseen.
  Result<AdminRequest> open(std::string_view note);

 private:
  audit::NoteVerifier verifier_;
  const Clock& clock_;
  std::mutex mutex_;
  std::set<std::int64_t> seen_issued_ms_;  // GUARDED_BY(mutex_), within the skew window only
};

}  // namespace kavach::backup
