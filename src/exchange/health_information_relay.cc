#include "exchange/health_information_relay.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/time_format.h"
#include "consent/consent_outbox.h"
#include "consent/json_fields.h"
#include "exchange/health_information.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;
using consent::ConsentStatus;

Transaction transaction_from(const vault::Document& document) {
  const auto& body = document.body;
  return Transaction{document.id,
                     consent::string_member(body, "consent_id"),
                     consent::string_member(body, "hiu_id"),
                     consent::string_member(body, "hip_id"),
                     consent::string_member(body, "status"),
                     consent::string_member(body, "hiu_status"),
                     consent::integer_member(body, "created_at_ms"),
                     ""};
}

// The log entry of a data request under `found`, made by `actor_kind`/`actor_id`.
audit::AuditEntry data_request_entry(const consent::ArtefactRecord& found,
                                     audit::ActorKind actor_kind, std::string_view actor_id,
                                     std::string_view facility_id, std::int64_t now_ms) {
  const auto& detail = found.artefact.detail;
  audit::AuditEntry entry;
  entry.time_ms = now_ms;
  entry.action = audit::Action::kDataRequest;
  entry.basis = detail.purpose == consent::Purpose::kBreakTheGlass ? audit::Basis::kBreakGlass
                                                                   : audit::Basis::kConsent;
  entry.actor_kind = actor_kind;
  entry.actor_id = std::string(actor_id);
  entry.facility_id = std::string(facility_id);
  entry.subject = found.account_id;
  entry.purpose = std::string(consent::purpose_code(detail.purpose));
  entry.consent_id = detail.consent_id;
  return entry;
}

// The checks every data request passes, whoever makes it: the artefact stands, the dates lie
// inside the granted ones, the key has not expired. A refusal is logged with `entry`.
Status check_request(const consent::ArtefactRecord& found, const HiRequest& hi_request,
                     audit::AuditEntry entry, store::Store& store) {
  const auto refuse = [&](ErrorCode code, std::string message) -> Status {
    entry.outcome = audit::Outcome::kDenied;
    entry.reason = std::string(error_code_name(code));
    RETURN_IF_ERROR(audit::record_entries(store, std::span(&entry, 1)));
    return make_error(code, std::move(message));
  };
  const auto& artefact = found.artefact;
  if (artefact.status != ConsentStatus::kGranted) {
    return refuse(ErrorCode::kPermissionDenied,
                  fmt::format("the consent is {}", consent::consent_status_code(artefact.status)));
  }
  const auto& granted = artefact.detail.permission.date_range;
  if (hi_request.date_range.from_ms < granted.from_ms ||
      hi_request.date_range.to_ms > granted.to_ms) {
    return refuse(ErrorCode::kPermissionDenied,
                  "hiRequest.dateRange must lie inside the consent's permission.dateRange");
  }
  if (hi_request.key_material.expiry_ms <= entry.time_ms) {
    return refuse(ErrorCode::kInvalidArgument, "keyMaterial.dhPublicKey has expired");
  }
  return {};
}

}  // namespace

Status HealthInformationRelay::commit(store::WriteBatch batch) {
  RETURN_IF_ERROR(documents_.store().commit(std::move(batch)));
  if (wake_outbox_) wake_outbox_();
  return {};
}

Result<Transaction> HealthInformationRelay::request(std::string_view hiu_id,
                                                    const json::object& body) {
  ASSIGN_OR_RETURN(const auto hiu, registry_.participant(hiu_id, consent::FacilityRole::kHiu));
  const auto* hi_request_value = body.if_contains("hiRequest");
  if (hi_request_value == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "hiRequest is required");
  }
  ASSIGN_OR_RETURN(const auto hi_request, parse_hi_request(*hi_request_value));
  auto found = manager_.artefact(hi_request.consent_id);
  if (!found && found.error().code == ErrorCode::kNotFound) {
    return make_error(ErrorCode::kNotFound, "no consent artefact has that id");
  }
  if (!found) return tl::unexpected(found.error());
  if (found->artefact.detail.hiu_id != hiu.id) {
    return make_error(ErrorCode::kNotFound, "no consent artefact has that id");
  }
  auto entry =
      data_request_entry(*found, audit::ActorKind::kClient, hiu.id, hiu.id, unix_ms(clock_.now()));
  RETURN_IF_ERROR(check_request(*found, hi_request, entry, documents_.store()));
  if (!is_under_registered_url(hi_request.data_push_url, hiu.callback_url)) {
    entry.outcome = audit::Outcome::kDenied;
    entry.reason = std::string(error_code_name(ErrorCode::kInvalidArgument));
    RETURN_IF_ERROR(audit::record_entries(documents_.store(), std::span(&entry, 1)));
    return make_error(ErrorCode::kInvalidArgument,
                      "dataPushUrl must be on the HIU's registered callback URL");
  }
  return open(*found, hi_request, std::move(entry),
              consent::optional_string(body, "requestId", "").value_or(std::string()));
}

Result<Transaction> HealthInformationRelay::request_for_patient(std::string_view actor,
                                                                const HiRequest& hi_request) {
  auto found = manager_.artefact(hi_request.consent_id);
  if (!found && found.error().code == ErrorCode::kNotFound) {
    return make_error(ErrorCode::kNotFound, "no consent artefact has that id");
  }
  if (!found) return tl::unexpected(found.error());
  const auto& detail = found->artefact.detail;
  if (detail.hiu_id != manager_.cm_id() || detail.purpose != consent::Purpose::kSelfRequested) {
    return make_error(ErrorCode::kNotFound, "no consent artefact has that id");
  }
  auto entry = data_request_entry(*found, audit::ActorKind::kPatient, actor, manager_.cm_id(),
                                  unix_ms(clock_.now()));
  RETURN_IF_ERROR(check_request(*found, hi_request, entry, documents_.store()));
  return open(*found, hi_request, std::move(entry), std::nullopt);
}

Result<Transaction> HealthInformationRelay::open(const consent::ArtefactRecord& found,
                                                 const HiRequest& hi_request,
                                                 audit::AuditEntry entry,
                                                 const std::optional<std::string>& hiu_request_id) {
  const auto& detail = found.artefact.detail;
  ASSIGN_OR_RETURN(const auto hip,
                   registry_.participant(detail.hip_id, consent::FacilityRole::kHip));
  vault::Document document;
  document.type = std::string(kTransactionType);
  document.id = consent::random_uuid();
  document.partition = found.account_id;
  document.body = {{"consent_id", hi_request.consent_id},
                   {"hiu_id", detail.hiu_id},
                   {"hip_id", hip.id},
                   {"status", "REQUESTED"},
                   {"hiu_status", ""},
                   {"created_at_ms", entry.time_ms}};
  entry.resource_type = std::string(kTransactionType);
  entry.resource_id = document.id;

  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto write, documents_.prepare(document, {}));
  batch.records.push_back(std::move(write));
  ASSIGN_OR_RETURN(auto to_hip,
                   consent::prepare_outbox_message(documents_, hip.id, kHipRequestPath,
                                                   {{"transactionId", document.id},
                                                    {"hiRequest", hi_request_to_json(hi_request)},
                                                    {"hiu", {{"id", detail.hiu_id}}}}));
  batch.records.push_back(std::move(to_hip));
  if (hiu_request_id) {
    ASSIGN_OR_RETURN(
        auto to_hiu,
        consent::prepare_outbox_message(
            documents_, detail.hiu_id, kHiuOnRequestPath,
            {{"hiRequest", {{"transactionId", document.id}, {"sessionStatus", "REQUESTED"}}},
             {"resp", {{"requestId", *hiu_request_id}}}}));
    batch.records.push_back(std::move(to_hiu));
  }
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  RETURN_IF_ERROR(commit(std::move(batch)));
  auto created = transaction_from(document);
  created.hip_url = hip.callback_url;
  return created;
}

Result<std::pair<vault::Document, Transaction>> HealthInformationRelay::load(
    std::string_view facility_id, std::string_view id) {
  ASSIGN_OR_RETURN(auto document, documents_.read(kTransactionType, id));
  if (!document) return make_error(ErrorCode::kNotFound, "no transaction has that id");
  auto transaction = transaction_from(*document);
  if (transaction.hip_id != facility_id && transaction.hiu_id != facility_id) {
    return make_error(ErrorCode::kNotFound, "no transaction has that id");
  }
  return std::pair{std::move(*document), std::move(transaction)};
}

Result<Transaction> HealthInformationRelay::transaction(std::string_view facility_id,
                                                        std::string_view id) {
  ASSIGN_OR_RETURN(auto loaded, load(facility_id, id));
  return std::move(loaded.second);
}

Status HealthInformationRelay::hip_acknowledged(std::string_view hip_id, const json::object& body) {
  // A HIP that refuses the request still names the transaction, and adds an error.
  const auto* hi_request = body.if_contains("hiRequest");
  if (hi_request == nullptr)
    return make_error(ErrorCode::kInvalidArgument, "hiRequest is required");
  ASSIGN_OR_RETURN(const json::object& fields, consent::json_object(*hi_request, "hiRequest"));
  ASSIGN_OR_RETURN(const auto id, consent::required_string(fields, "transactionId", "hiRequest"));
  ASSIGN_OR_RETURN(const auto status,
                   consent::required_string(fields, "sessionStatus", "hiRequest"));
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSIGN_OR_RETURN(auto loaded, load(hip_id, id));
    auto& [document, transaction] = loaded;
    if (transaction.hip_id != hip_id) {
      return make_error(ErrorCode::kNotFound, "no transaction has that id");
    }
    // Final states stay final; a late acknowledgement changes nothing.
    if (transaction.status != "REQUESTED") return {};
    const bool error = body.contains("error");
    document.body["status"] = error || status != "ACKNOWLEDGED" ? "FAILED" : "ACKNOWLEDGED";
    auto written = documents_.write(document, {});
    if (written || written.error().code != ErrorCode::kConflict) return written;
  }
  return make_error(ErrorCode::kUnavailable, "the transaction is busy; try again");
}

Status HealthInformationRelay::notified(std::string_view facility_id, const json::object& body) {
  const auto* value = body.if_contains("notification");
  if (value == nullptr) return make_error(ErrorCode::kInvalidArgument, "notification is required");
  ASSIGN_OR_RETURN(const auto notification, parse_notification(*value));
  if (notification.notifier_id != facility_id) {
    return make_error(ErrorCode::kPermissionDenied,
                      "notification.notifier.id must be the facility that sends it");
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSIGN_OR_RETURN(auto loaded, load(facility_id, notification.transaction_id));
    auto& [document, transaction] = loaded;
    const bool from_hip = notification.notifier_type == "HIP";
    if ((from_hip ? transaction.hip_id : transaction.hiu_id) != facility_id ||
        transaction.consent_id != notification.consent_id) {
      return make_error(ErrorCode::kNotFound, "no transaction has that id");
    }
    const std::string status(session_status_code(notification.session_status));
    const std::string& held = from_hip ? transaction.status : transaction.hiu_status;
    if (held == "TRANSFERRED" || held == "FAILED") return {};  // a repeat
    document.body[from_hip ? "status" : "hiu_status"] = status;
    store::WriteBatch batch;
    ASSIGN_OR_RETURN(auto write, documents_.prepare(document, {}));
    batch.records.push_back(std::move(write));
    // The CM's own locker hears of the HIP's notice when the patient's browser asks.
    if (from_hip && transaction.hiu_id != manager_.cm_id()) {
      ASSIGN_OR_RETURN(auto to_hiu, consent::prepare_outbox_message(
                                        documents_, transaction.hiu_id, kHiuNotifyPath,
                                        {{"notification", notification_to_json(notification)}}));
      batch.records.push_back(std::move(to_hiu));
    }
    audit::AuditEntry entry;
    entry.time_ms = unix_ms(clock_.now());
    entry.action = audit::Action::kDataTransfer;
    entry.outcome = notification.session_status == SessionStatus::kTransferred
                        ? audit::Outcome::kAllowed
                        : audit::Outcome::kDenied;
    entry.basis = audit::Basis::kConsent;
    entry.actor_kind = audit::ActorKind::kClient;
    entry.actor_id = std::string(facility_id);
    entry.facility_id = std::string(facility_id);
    entry.subject = document.partition;
    entry.resource_type = std::string(kTransactionType);
    entry.resource_id = transaction.id;
    entry.consent_id = transaction.consent_id;
    if (entry.outcome == audit::Outcome::kDenied) entry.reason = "FAILED";
    RETURN_IF_ERROR(audit::append_entry(batch, entry));
    auto committed = commit(std::move(batch));
    if (committed || committed.error().code != ErrorCode::kConflict) return committed;
  }
  return make_error(ErrorCode::kUnavailable, "the transaction is busy; try again");
}

}  // namespace kavach::exchange
