// PatientAccounts: health IDs at the consent manager. A person enrols with name, year (or date)
// of birth, gender and mobile number, proven by a one-time code to that number, and gets an
// ABHA-style 14-digit number (Luhn-checked) and, if they choose one, an ABHA address
// "name@suffix"; both resolve to the one account. Enrolling again with the same mobile, name and
// birth year offers the existing health ID instead of making a second one.
//
// Sign-in is by health ID or address plus a one-time code, or a password (Argon2id) once set;
// sessions expire and the patient can list and end them. A patient may lock their ID, after which
// no new consent request reaches them, and unlock it; name a nominee who may act for them; and a
// guardian may enrol and act for a minor.
//
// Uniqueness (of numbers, addresses and person) is enforced by claim documents whose ids are
// keyed hashes of the claimed value, created with the store's compare-and-swap, so two concurrent
// enrolments cannot take the same address or make a duplicate. Everything identifying is sealed
// under the account's own data key and searched only through blind indexes.
// Thread-safety: safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/attempt_limiter.h"
#include "common/error.h"
#include "consent/one_time_codes.h"
#include "vault/key_vault.h"
#include "vault/sealed_documents.h"

namespace kavach::consent {

inline constexpr std::string_view kAccountType = "_Account";
inline constexpr std::string_view kClaimType = "_Claim";
inline constexpr std::string_view kSessionType = "_PatientSession";
inline constexpr std::string_view kSessionKey = "node/patient-sessions";
inline constexpr std::size_t kPasswordMin = 8;
inline constexpr std::size_t kPasswordMax = 128;
inline constexpr std::size_t kPersonNameMax = 100;
inline constexpr std::size_t kSessionsListedMax = 100;
inline constexpr int kAdultAge = 18;

struct EnrolmentForm {
  std::string name;
  int year_of_birth = 0;
  std::string date_of_birth;  // optional, YYYY-MM-DD; its year must be year_of_birth
  std::string gender;         // M, F, O or U
  std::string mobile;         // 10 digits, optionally with +91
  std::string address_name;   // optional: the chosen name of "name@suffix"
};

struct Account {
  // The pseudonymous account id: a keyed hash of the number, used as the record id, the data-key
  // partition and the audit subject, so the number itself is never stored in plaintext.
  std::string id;
  std::string abha_number;  // 14 digits
  std::string address;      // "name@suffix", or "<number>@suffix" when none was chosen
  std::string name;
  std::string gender;
  int year_of_birth = 0;
  std::string date_of_birth;
  std::string mobile;
  bool locked = false;
  bool has_password = false;
  std::string nominee;   // the ABHA number of the nominee, if any
  std::string guardian;  // the ABHA number of a minor's guardian, if any
  std::int64_t created_at_ms = 0;
};

struct EnrolmentOutcome {
  Account account;
  bool created = false;  // false: the person already had this health ID, which is offered
};

struct PatientSession {
  std::string id;
  std::string account_id;  // Account::id of the signed-in patient
  std::string abha_number;
  std::string method;  // "otp" or "password"
  std::int64_t created_at_ms = 0;
  std::int64_t expires_at_ms = 0;
  bool ended = false;
};

struct NewSession {
  PatientSession session;
  std::string token;  // shown once; only a MAC of its secret is stored
};

struct AccountLimits {
  std::chrono::milliseconds session_lifetime{std::chrono::hours(2)};
  auth::AttemptLimits lookups_per_peer{30, 0.5, 10'000};
  auth::AttemptLimits passwords_per_peer{10, 0.2, 10'000};
  auth::AttemptLimits passwords_per_account{5, 1.0 / 60, 100'000};
};

// "91xxxxxxxxxx" normalised to 10 digits; kInvalidArgument if not an Indian mobile number.
Result<std::string> parse_mobile(std::string_view text);

class PatientAccounts {
 public:
  PatientAccounts(vault::SealedDocuments& documents, vault::KeyVault& keys, OneTimeCodes& codes,
                  std::string cm_suffix, const Clock& clock, AccountLimits limits = {})
      : documents_(documents),
        keys_(keys),
        codes_(codes),
        suffix_(std::move(cm_suffix)),
        clock_(clock),
        limits_(limits),
        lookups_per_peer_(limits.lookups_per_peer, clock),
        passwords_per_peer_(limits.passwords_per_peer, clock),
        passwords_per_account_(limits.passwords_per_account, clock) {}

  const std::string& suffix() const { return suffix_; }

  // Checks the form and sends a code to its mobile number.
  Result<CodeTicket> start_enrolment(const EnrolmentForm& form, std::string_view peer);
  // Redeems the code and creates the account (or offers the existing one).
  Result<EnrolmentOutcome> confirm_enrolment(std::string_view ticket, std::string_view code,
                                             std::string_view peer);
  // A guardian enrols a minor (under 18), who has no mobile of their own.
  Result<EnrolmentOutcome> enrol_minor(const PatientSession& guardian, EnrolmentForm form);

  // The account by number (with or without hyphens) or address; kNotFound otherwise.
  Result<Account> resolve(std::string_view health_id);
  Result<Account> account(std::string_view abha_number);
  // The pseudonymous id of the account with this number (whether or not it exists).
  Result<std::string> account_id_for(std::string_view abha_number);

  Result<CodeTicket> start_sign_in(std::string_view health_id, std::string_view peer);
  Result<NewSession> confirm_sign_in(std::string_view ticket, std::string_view code,
                                     std::string_view peer);
  Result<NewSession> sign_in_with_password(std::string_view health_id, std::string_view password,
                                           std::string_view peer);
  // kUnauthenticated for a malformed, unknown, ended or expired token.
  Result<PatientSession> authenticate(std::string_view token);
  Result<std::vector<PatientSession>> sessions(const PatientSession& caller);
  Status end_session(const PatientSession& caller, std::string_view session_id);

  Status set_password(const PatientSession& caller, std::string_view password);
  Status set_locked(const PatientSession& caller, bool locked);
  // `nominee` is a health ID; empty removes the nominee.
  Status set_nominee(const PatientSession& caller, std::string_view nominee);
  // The account `caller` may act for: their own, one that named them nominee, or a minor they
  // are guardian of. kPermissionDenied otherwise.
  Result<Account> acting_for(const PatientSession& caller, std::string_view abha_number);

 private:
  Result<Account> create_account(const EnrolmentForm& form, const std::string& guardian);
  Result<std::optional<std::string>> claimed_by(std::string_view claim);
  Result<std::string> claim_id(std::string_view claim);
  Result<NewSession> open_session(const Account& account, std::string_view method);
  Status change_account(const PatientSession& caller, std::string_view abha_number,
                        std::string_view what,
                        const std::function<Status(boost::json::object&)>& change);
  Result<vault::Document> account_document(std::string_view abha_number);

  vault::SealedDocuments& documents_;
  vault::KeyVault& keys_;
  OneTimeCodes& codes_;
  const std::string suffix_;
  const Clock& clock_;
  const AccountLimits limits_;
  auth::AttemptLimiter lookups_per_peer_;
  auth::AttemptLimiter passwords_per_peer_;
  auth::AttemptLimiter passwords_per_account_;
};

}  // namespace kavach::consent
