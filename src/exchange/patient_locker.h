// PatientLocker: a patient's own records, from the hospitals that keep them to the patient's
// browser, end to end encrypted through the consent manager.
//
// ABDM's way for a patient to see their records is a self-requested consent (PATRQT) whose data
// flows to the patient's health locker. Kavach's locker is the patient's browser tab: it makes a
// Fidelius key pair and sends only the public half (web/src/fidelius.js). The CM makes the
// self-requested consent, granted as made and lasting `lifetime`, for the HIPs the patient chose
// (all they linked, by default), and asks each HIP for the records under it
// (HealthInformationRelay::request_for_patient), with this locker's URL as dataPushUrl. The HIPs
// encrypt every page for the browser's key, so what the locker keeps is ciphertext the CM cannot
// open; the browser fetches the pages and decrypts them. Every step is logged as any exchange is:
// the consent and the data request at the CM, each read and page at the HIP, each page's arrival
// here.
//
// Pages are kept in memory only, bounded per request and in all, and dropped at the consent's
// dataEraseAt or when the patient asks again: the key that opens them lives only in the tab that
// asked, so a page kept past a restart or a closed tab could never be read. A CM that restarts
// mid-transfer answers the HIP's next page "unknown transaction", and the patient asks again.
// A page's `link` entry (a document too large for one message) is fetched here, from under the
// HIP's registered URL only, and kept inline, so the browser never talks to a HIP.
// Thread-safety: safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "audit/audit_entry.h"
#include "common/clock.h"
#include "consent/consent_manager.h"
#include "exchange/health_information.h"
#include "exchange/health_information_relay.h"
#include "exchange/hiu_data_flow.h"
#include "exchange/patient_links.h"

namespace kavach::exchange {

// Where the HIPs push pages for the locker, below the CM's public URL.
inline constexpr std::string_view kLockerTransferPath = "/cm/v1/locker/transfer";

struct PatientLockerOptions {
  std::string push_url;  // <the CM's public URL>/cm/v1/locker/transfer
  std::chrono::minutes lifetime{60};
  std::size_t request_bytes_max = 64 * 1024 * 1024;  // the pages of one request
  std::size_t total_bytes_max = 512 * 1024 * 1024;   // of all requests held
  std::size_t requests_per_patient_max = 2;          // the oldest is dropped beyond
};

// What the patient asks for; empty means everything: every clinical HI type (kClinicalHiTypes),
// every linked HIP, all dates.
struct LockerAsk {
  std::vector<consent::HiType> hi_types;
  std::vector<std::string> hip_ids;
  std::optional<consent::DateRange> date_range;
  KeyMaterial key_material;  // the browser's public key and nonce
};

// The browser's ask, {keyMaterial, hiTypes?, hips?, dateRange?}; kInvalidArgument names the field.
Result<LockerAsk> parse_locker_ask(const boost::json::object& body);

struct LockerTransfer {
  std::string transaction_id;  // empty when the request could not be made
  std::string hip_id;
  std::string hip_name;
  std::string status;  // the HIP's: REQUESTED, ACKNOWLEDGED, TRANSFERRED or FAILED
  std::string detail;  // why it failed, when the locker knows
  std::int64_t page_count = 0;
  std::vector<std::int64_t> pages;  // the numbers of the pages held, ascending
};

struct LockerRequest {
  std::string id;  // the self-requested consent's id
  std::int64_t created_at_ms = 0;
  std::int64_t erase_at_ms = 0;
  std::vector<LockerTransfer> transfers;
};

class PatientLocker {
 public:
  PatientLocker(vault::SealedDocuments& documents, consent::ConsentManager& manager,
                consent::PatientAccounts& accounts, consent::FacilityRegistry& registry,
                PatientLinks& links, HealthInformationRelay& relay, LinkFetch fetch_link,
                const Clock& clock, PatientLockerOptions options)
      : documents_(documents),
        manager_(manager),
        accounts_(accounts),
        registry_(registry),
        links_(links),
        relay_(relay),
        fetch_link_(std::move(fetch_link)),
        clock_(clock),
        options_(std::move(options)) {}

  // `caller` asks for the records of `abha_number` (their own, or as nominee or guardian).
  // kFailedPrecondition when no hospital is linked; the consent manager's and the relay's
  // refusals come back as they are.
  Result<LockerRequest> request(const consent::PatientSession& caller, std::string_view abha_number,
                                const LockerAsk& ask);
  // The request with each transfer's status and the pages held; kNotFound for a request of
  // someone else, or one already dropped.
  Result<LockerRequest> status(const consent::PatientSession& caller, std::string_view abha_number,
                               std::string_view request_id);
  // One page as the HIP pushed it (link entries inline): ciphertext for the browser.
  Result<boost::json::object> page(const consent::PatientSession& caller,
                                   std::string_view abha_number, std::string_view request_id,
                                   std::string_view transaction_id, std::int64_t page_number);
  // A page pushed to kLockerTransferPath. kNotFound for a transaction the locker does not hold
  // (the HIP retries, then fails the transfer); kResourceExhausted past the byte bounds;
  // kInvalidArgument for a malformed page.
  Status receive_page(const boost::json::object& body);

 private:
  struct HeldTransfer {
    std::string consent_id;  // the artefact for this HIP
    std::string hip_id;
    std::string hip_url;  // where its link entries may point
    std::int64_t page_count = 0;
    std::map<std::int64_t, boost::json::object> pages;
  };
  struct Held {
    std::string id;
    std::string account_id;
    std::uint64_t sequence = 0;  // the order requests were made in
    std::int64_t created_at_ms = 0;
    std::int64_t erase_at_ms = 0;
    std::size_t bytes = 0;
    std::vector<LockerTransfer> transfers;  // in the order asked
    std::map<std::string, HeldTransfer> by_transaction;
  };

  // Drops requests past their erase time, and the oldest of `account_id` beyond the bound.
  void drop_locked(std::int64_t now_ms, std::string_view account_id);
  void forget_locked(std::map<std::string, Held>::iterator held);
  Result<LockerRequest> view(const consent::PatientSession& caller, std::string_view abha_number,
                             std::string_view request_id);
  // The log entry of a page's arrival (data.transfer, with the page's SHA-256).
  audit::AuditEntry arrival_entry(const Held& held, const HeldTransfer& transfer,
                                  std::string_view transaction_id, std::string_view payload) const;

  vault::SealedDocuments& documents_;
  consent::ConsentManager& manager_;
  consent::PatientAccounts& accounts_;
  consent::FacilityRegistry& registry_;
  PatientLinks& links_;
  HealthInformationRelay& relay_;
  LinkFetch fetch_link_;
  const Clock& clock_;
  const PatientLockerOptions options_;

  std::mutex mutex_;
  std::map<std::string, Held> held_;                   // by request id
  std::map<std::string, std::string> by_transaction_;  // transaction id -> request id
  std::size_t total_bytes_ = 0;
  std::uint64_t sequence_ = 0;
};

}  // namespace kavach::exchange
