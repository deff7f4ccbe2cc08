#include "exchange/patient_locker.h"

#include <algorithm>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/time_format.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;

// "All dates" when the patient names none: from 1900 (records older than any patient alive).
constexpr std::int64_t kAllDatesFromMs = -2208988800000;  // 1900-01-01T00:00:00Z

}  // namespace

Result<LockerRequest> PatientLocker::request(const consent::PatientSession& caller,
                                             std::string_view abha_number, const LockerAsk& ask) {
  const std::int64_t now_ms = unix_ms(clock_.now());
  // Checked before a consent is made for it: every hospital would refuse an expired key.
  if (ask.key_material.expiry_ms <= now_ms) {
    return make_error(ErrorCode::kInvalidArgument, "keyMaterial.dhPublicKey has expired");
  }
  std::vector<std::string> hip_ids = ask.hip_ids;
  if (hip_ids.empty()) {
    ASSIGN_OR_RETURN(const auto linked, links_.links(caller, abha_number));
    for (const auto& hip : linked) hip_ids.push_back(hip.hip_id);
  }
  if (hip_ids.empty()) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "no hospital is linked to this health ID yet: link one first");
  }
  consent::SelfRequest self;
  self.hi_types = ask.hi_types;
  if (self.hi_types.empty()) {
    self.hi_types.assign(std::begin(consent::kClinicalHiTypes),
                         std::end(consent::kClinicalHiTypes));
  }
  self.date_range = ask.date_range.value_or(consent::DateRange{kAllDatesFromMs, now_ms});
  self.data_erase_at_ms =
      now_ms + std::chrono::duration_cast<std::chrono::milliseconds>(options_.lifetime).count();
  self.hip_ids = std::move(hip_ids);
  ASSIGN_OR_RETURN(const auto granted, manager_.self_request(caller, abha_number, self));

  {
    std::lock_guard lock(mutex_);
    Held held;
    held.id = granted.id;
    held.account_id = granted.account_id;
    held.sequence = ++sequence_;
    held.created_at_ms = now_ms;
    held.erase_at_ms = self.data_erase_at_ms;
    held_[granted.id] = std::move(held);
    drop_locked(now_ms, granted.account_id);  // the new request is the newest: never dropped
  }
  std::vector<LockerTransfer> transfers;
  for (const auto& consent_id : granted.artefact_ids) {
    LockerTransfer transfer;
    if (auto artefact = manager_.artefact(consent_id)) {
      transfer.hip_id = artefact->artefact.detail.hip_id;
    }
    if (auto hip = registry_.facility(transfer.hip_id)) transfer.hip_name = hip->name;
    // (A page that beat the lines below to the locker is answered 404, and the HIP pushes it
    // again after its backoff.)
    const HiRequest hi_request{consent_id, self.date_range, options_.push_url, ask.key_material};
    auto opened = relay_.request_for_patient(caller.account_id, hi_request);
    if (!opened) {
      // The other hospitals' records still come; this one says why it cannot.
      transfer.status = "FAILED";
      transfer.detail = opened.error().message;
    } else {
      transfer.transaction_id = opened->id;
      transfer.status = opened->status;
    }
    std::lock_guard lock(mutex_);
    const auto held = held_.find(granted.id);
    if (held == held_.end()) break;  // already dropped for a newer request
    if (opened) {
      held->second.by_transaction[opened->id] =
          HeldTransfer{opened->consent_id, opened->hip_id, opened->hip_url, 0, {}};
      by_transaction_[opened->id] = granted.id;
    }
    held->second.transfers.push_back(transfer);
    transfers.push_back(std::move(transfer));
  }
  return LockerRequest{granted.id, now_ms, self.data_erase_at_ms, std::move(transfers)};
}

void PatientLocker::forget_locked(std::map<std::string, Held>::iterator held) {
  for (const auto& [transaction_id, transfer] : held->second.by_transaction) {
    by_transaction_.erase(transaction_id);
  }
  total_bytes_ -= held->second.bytes;
  held_.erase(held);
}

void PatientLocker::drop_locked(std::int64_t now_ms, std::string_view account_id) {
  std::vector<std::map<std::string, Held>::iterator> own;
  for (auto it = held_.begin(); it != held_.end();) {
    auto current = it++;
    if (current->second.erase_at_ms <= now_ms) {
      forget_locked(current);
    } else if (current->second.account_id == account_id) {
      own.push_back(current);
    }
  }
  if (own.size() <= options_.requests_per_patient_max) return;
  std::sort(own.begin(), own.end(),
            [](const auto& a, const auto& b) { return a->second.sequence < b->second.sequence; });
  for (std::size_t i = 0; i + options_.requests_per_patient_max < own.size(); ++i) {
    forget_locked(own[i]);
  }
}

Result<LockerRequest> PatientLocker::view(const consent::PatientSession& caller,
                                          std::string_view abha_number,
                                          std::string_view request_id) {
  ASSIGN_OR_RETURN(const auto patient, accounts_.acting_for(caller, abha_number));
  std::lock_guard lock(mutex_);
  drop_locked(unix_ms(clock_.now()), patient.id);
  const auto found = held_.find(std::string(request_id));
  if (found == held_.end() || found->second.account_id != patient.id) {
    return make_error(ErrorCode::kNotFound, "no records request has that id (or it has ended)");
  }
  const auto& held = found->second;
  LockerRequest out{held.id, held.created_at_ms, held.erase_at_ms, held.transfers};
  for (auto& transfer : out.transfers) {
    const auto kept = held.by_transaction.find(transfer.transaction_id);
    if (kept == held.by_transaction.end()) continue;
    transfer.page_count = kept->second.page_count;
    for (const auto& [number, page] : kept->second.pages) transfer.pages.push_back(number);
  }
  return out;
}

Result<LockerRequest> PatientLocker::status(const consent::PatientSession& caller,
                                            std::string_view abha_number,
                                            std::string_view request_id) {
  ASSIGN_OR_RETURN(auto out, view(caller, abha_number, request_id));
  // The relay's record is where the HIP's acknowledgement and final notice land.
  for (auto& transfer : out.transfers) {
    if (transfer.transaction_id.empty()) continue;
    auto transaction = relay_.transaction(manager_.cm_id(), transfer.transaction_id);
    if (transaction) transfer.status = transaction->status;
  }
  return out;
}

Result<json::object> PatientLocker::page(const consent::PatientSession& caller,
                                         std::string_view abha_number, std::string_view request_id,
                                         std::string_view transaction_id,
                                         std::int64_t page_number) {
  ASSIGN_OR_RETURN(const auto patient, accounts_.acting_for(caller, abha_number));
  std::lock_guard lock(mutex_);
  const auto found = held_.find(std::string(request_id));
  if (found != held_.end() && found->second.account_id == patient.id &&
      found->second.erase_at_ms > unix_ms(clock_.now())) {
    const auto transfer = found->second.by_transaction.find(std::string(transaction_id));
    if (transfer != found->second.by_transaction.end()) {
      const auto page = transfer->second.pages.find(page_number);
      if (page != transfer->second.pages.end()) return page->second;
    }
  }
  return make_error(ErrorCode::kNotFound, "no such page is held");
}

Status PatientLocker::receive_page(const json::object& body) {
  ASSIGN_OR_RETURN(auto page, parse_data_page(body));
  // The transfer the page belongs to, while its request is held and not past its erase time.
  const auto transfer_of = [&](std::int64_t now_ms) -> Result<std::pair<Held*, HeldTransfer*>> {
    const auto owner = by_transaction_.find(page.transaction_id);
    if (owner != by_transaction_.end()) {
      auto& held = held_.at(owner->second);
      if (held.erase_at_ms > now_ms) {
        return std::pair{&held, &held.by_transaction.at(page.transaction_id)};
      }
    }
    return make_error(ErrorCode::kNotFound, "the locker holds no such transaction");
  };
  std::string hip_url;
  {
    std::lock_guard lock(mutex_);
    ASSIGN_OR_RETURN(const auto found, transfer_of(unix_ms(clock_.now())));
    const auto& transfer = *found.second;
    if (transfer.pages.contains(page.page_number)) return {};  // the HIP did not hear our answer
    if (transfer.page_count != 0 && transfer.page_count != page.page_count) {
      return make_error(ErrorCode::kInvalidArgument, "pageCount changed during the transfer");
    }
    hip_url = transfer.hip_url;
  }
  // Link entries are fetched outside the lock: the browser gets every page whole from here.
  for (auto& entry : page.entries) {
    if (!entry.content.empty()) continue;
    ASSIGN_OR_RETURN(entry.content, fetch_link_entry(fetch_link_, entry.link, hip_url));
    entry.link.clear();
  }
  json::object kept = data_page_to_json(page);
  const std::string payload = json::serialize(kept);

  // Taken under the lock, logged outside it (a commit), and given back if the log refuses.
  audit::AuditEntry arrival;
  bool complete = false;
  std::string consent_id;
  std::string hip_id;
  {
    std::lock_guard lock(mutex_);
    ASSIGN_OR_RETURN(const auto found, transfer_of(unix_ms(clock_.now())));
    auto& [held, transfer] = found;
    if (transfer->pages.contains(page.page_number)) return {};
    if (held->bytes + payload.size() > options_.request_bytes_max ||
        total_bytes_ + payload.size() > options_.total_bytes_max) {
      return make_error(ErrorCode::kResourceExhausted,
                        "the patient's records are more than the locker keeps at once");
    }
    held->bytes += payload.size();
    total_bytes_ += payload.size();
    transfer->page_count = page.page_count;
    transfer->pages.emplace(page.page_number, std::move(kept));
    complete = static_cast<std::int64_t>(transfer->pages.size()) == transfer->page_count;
    hip_id = transfer->hip_id;
    consent_id = transfer->consent_id;
    arrival = arrival_entry(*held, *transfer, page.transaction_id, payload);
  }
  if (auto logged = audit::record_entries(documents_.store(), std::span(&arrival, 1)); !logged) {
    std::lock_guard lock(mutex_);
    if (auto found = transfer_of(unix_ms(clock_.now())); found) {
      auto& [held, transfer] = *found;
      if (transfer->pages.erase(page.page_number) == 1) {
        held->bytes -= payload.size();
        total_bytes_ -= payload.size();
      }
    }
    return logged;
  }
  if (!complete) return {};
  // Everything arrived: the CM, as this transfer's HIU, says so, as an HIU would (ABDM notify).
  HiNotification notice;
  notice.consent_id = consent_id;
  notice.transaction_id = page.transaction_id;
  notice.done_at_ms = unix_ms(clock_.now());
  notice.notifier_type = "HIU";
  notice.notifier_id = manager_.cm_id();
  notice.session_status = SessionStatus::kTransferred;
  notice.hip_id = hip_id;
  return relay_.notified(manager_.cm_id(), {{"notification", notification_to_json(notice)}});
}

audit::AuditEntry PatientLocker::arrival_entry(const Held& held, const HeldTransfer& transfer,
                                               std::string_view transaction_id,
                                               std::string_view payload) const {
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(clock_.now());
  entry.action = audit::Action::kDataTransfer;
  entry.basis = audit::Basis::kConsent;
  entry.actor_kind = audit::ActorKind::kNode;
  entry.actor_id = transfer.hip_id;
  entry.facility_id = manager_.cm_id();
  entry.subject = held.account_id;
  entry.resource_type = std::string(kTransactionType);
  entry.resource_id = std::string(transaction_id);
  entry.consent_id = transfer.consent_id;
  entry.purpose = std::string(consent::purpose_code(consent::Purpose::kSelfRequested));
  const auto hash = audit::sha256(
      std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
  entry.content_hash.assign(hash.begin(), hash.end());
  return entry;
}

Result<LockerAsk> parse_locker_ask(const json::object& body) {
  LockerAsk ask;
  const auto* key = body.if_contains("keyMaterial");
  if (key == nullptr) {
    return make_error(ErrorCode::kInvalidArgument,
                      "keyMaterial (the browser's public key) is required");
  }
  ASSIGN_OR_RETURN(ask.key_material, parse_key_material(*key));
  if (const auto* types = body.if_contains("hiTypes")) {
    ASSIGN_OR_RETURN(ask.hi_types, consent::parse_hi_types(*types));
  }
  if (const auto* hips = body.if_contains("hips")) {
    ASSIGN_OR_RETURN(ask.hip_ids, consent::parse_hip_ids(*hips));
  }
  if (const auto* range = body.if_contains("dateRange")) {
    ASSIGN_OR_RETURN(ask.date_range, consent::parse_date_range(*range, "dateRange"));
  }
  return ask;
}

}  // namespace kavach::exchange
