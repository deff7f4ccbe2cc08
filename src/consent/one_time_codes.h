// OneTimeCodes: six-digit codes sent to a mobile number to prove the person holds it (enrolment,
// sign-in, and later linking), as ABDM does.
//
// A code lives 10 minutes, is locked after 3 wrong tries, and works once. Issuing is rate-limited
// per number and per caller address, and redeeming per address, so codes can be neither flooded
// nor guessed. The code itself is stored only as a MAC under a node key, bound to its ticket; the
// ticket (a random id the caller holds) carries a small sealed context that the redeemer gets back
// (for example the enrolment form waiting for the code).
// Thread-safety: safe from any thread; concurrent wrong tries are counted by compare-and-swap.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "auth/attempt_limiter.h"
#include "common/error.h"
#include "consent/notifier.h"
#include "vault/key_vault.h"
#include "vault/sealed_documents.h"

namespace kavach::consent {

inline constexpr std::string_view kOneTimeCodeType = "_OneTimeCode";
inline constexpr std::string_view kOneTimeCodeKey = "node/one-time-codes";
inline constexpr std::size_t kOneTimeCodeDigits = 6;

struct OneTimeCodeLimits {
  std::chrono::milliseconds lifetime{std::chrono::minutes(10)};
  int wrong_tries_max = 3;
  // Three codes at once to a number, then one a minute; twenty from an address, then one in 5 s.
  auth::AttemptLimits issue_per_number{3, 1.0 / 60, 100'000};
  auth::AttemptLimits issue_per_peer{20, 0.2, 10'000};
  auth::AttemptLimits redeem_per_peer{30, 0.5, 10'000};
};

struct CodeTicket {
  std::string id;
  std::int64_t expires_at_ms = 0;
};

class OneTimeCodes {
 public:
  OneTimeCodes(vault::SealedDocuments& documents, vault::KeyVault& keys, Notifier& notifier,
               const Clock& clock, OneTimeCodeLimits limits = {})
      : documents_(documents),
        keys_(keys),
        notifier_(notifier),
        clock_(clock),
        limits_(limits),
        issue_per_number_(limits.issue_per_number, clock),
        issue_per_peer_(limits.issue_per_peer, clock),
        redeem_per_peer_(limits.redeem_per_peer, clock) {}

  // Sends a fresh code for `purpose` ("enrol", "sign-in") to `mobile`, with `what_for` in the
  // message. kResourceExhausted when the number or the address asked too often.
  Result<CodeTicket> issue(std::string_view purpose, std::string_view mobile,
                           std::string_view what_for, boost::json::object context,
                           std::string_view peer);
  // The ticket's context when `code` is right, the ticket is for `purpose`, unexpired, unused and
  // not locked; each failure says which of those it was (kUnauthenticated for a wrong or expired
  // code, kPermissionDenied once locked, kFailedPrecondition once used, kNotFound for no ticket).
  Result<boost::json::object> redeem(std::string_view ticket_id, std::string_view purpose,
                                     std::string_view code, std::string_view peer);

 private:
  Result<std::string> code_tag(std::string_view ticket_id, std::string_view code);

  vault::SealedDocuments& documents_;
  vault::KeyVault& keys_;
  Notifier& notifier_;
  const Clock& clock_;
  const OneTimeCodeLimits limits_;
  auth::AttemptLimiter issue_per_number_;
  auth::AttemptLimiter issue_per_peer_;
  auth::AttemptLimiter redeem_per_peer_;
};

}  // namespace kavach::consent
