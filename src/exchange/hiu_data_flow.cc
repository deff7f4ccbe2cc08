#include "exchange/hiu_data_flow.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/time_format.h"
#include "consent/consent_outbox.h"
#include "consent/hip_consents.h"
#include "consent/json_fields.h"
#include "exchange/health_information.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;
using consent::ConsentStatus;
using consent::integer_member;
using consent::string_member;

const vault::DocumentIndexValue kHeld{"state", "held", true};
const vault::DocumentIndexValue kErased{"state", "erased", true};

vault::DocumentIndexValue by_consent(std::string_view consent_id) {
  return {"consent", std::string(consent_id), true};
}

HiuTransfer transfer_from(const vault::Document& document) {
  const auto& body = document.body;
  return HiuTransfer{document.id,
                     string_member(body, "consent_id"),
                     string_member(body, "hip_id"),
                     string_member(body, "status"),
                     static_cast<std::int64_t>(body.at("pages").as_array().size()),
                     integer_member(body, "page_count"),
                     string_member(body, "detail")};
}

}  // namespace

Result<std::string> fetch_link_entry(const LinkFetch& fetch, std::string_view link,
                                     std::string_view hip_url) {
  if (!is_under_registered_url(link, hip_url)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a link entry must point under the HIP's registered URL");
  }
  auto fetched = fetch(std::string(link));
  if (!fetched) {
    return make_error(ErrorCode::kUnavailable,
                      "the link entry could not be fetched: " + fetched.error().message);
  }
  return fetched;
}

std::string received_data_partition(std::string_view consent_id) {
  return fmt::format("hiu.{}", consent_id);
}

Status HiuDataFlow::commit(store::WriteBatch batch) {
  RETURN_IF_ERROR(documents_.store().commit(std::move(batch)));
  if (wake_outbox_) wake_outbox_();
  return {};
}

Result<HiuTransfer> HiuDataFlow::request(std::string_view client_id, std::string_view professional,
                                         std::string_view consent_id) {
  ASSIGN_OR_RETURN(const auto fetched,
                   cm_("/v0.5/consents/fetch", json::object{{"consentId", consent_id}}));
  const auto* consent_value = fetched.if_contains("consent");
  if (consent_value == nullptr || !consent_value->is_object()) {
    return make_error(ErrorCode::kUnavailable, "the CM's answer holds no consent artefact");
  }
  ASSIGN_OR_RETURN(const auto artefact, consents_.verifier().open(consent_value->as_object()));
  const auto& detail = artefact.detail();
  const std::int64_t now_ms = unix_ms(clock_.now());
  if (detail.consent_id != consent_id || detail.hiu_id != options_.hiu_id) {
    return make_error(ErrorCode::kPermissionDenied, "the artefact is not this HIU's");
  }
  if (!detail.requester || detail.requester->identifier_value != professional) {
    return make_error(ErrorCode::kPermissionDenied,
                      "the consent was given to another professional");
  }
  if (artefact.artefact().status != ConsentStatus::kGranted ||
      now_ms >= detail.permission.data_erase_at_ms) {
    return make_error(ErrorCode::kPermissionDenied,
                      fmt::format("the consent is {}",
                                  now_ms >= detail.permission.data_erase_at_ms
                                      ? std::string_view("EXPIRED")
                                      : consent::consent_status_code(artefact.artefact().status)));
  }

  ASSIGN_OR_RETURN(auto own, generate_key_pair());
  const KeyMaterial key{own.public_key, generate_nonce(),
                        std::min<std::int64_t>(detail.permission.data_erase_at_ms,
                                               now_ms + options_.key_lifetime.count() * 60'000)};
  const HiRequest hi_request{std::string(consent_id), detail.permission.date_range,
                             options_.push_url, key};
  ASSIGN_OR_RETURN(
      const auto answer,
      cm_(kCmRequestPath, json::object{{"hiRequest", hi_request_to_json(hi_request)}}));
  const auto* session = answer.if_contains("hiRequest");
  const auto transaction_id = session != nullptr && session->is_object()
                                  ? string_member(session->as_object(), "transactionId")
                                  : "";
  const auto* hip = answer.if_contains("hip");
  const auto hip_url =
      hip != nullptr && hip->is_object() ? string_member(hip->as_object(), "url") : "";
  if (!is_uuid(transaction_id)) {
    return make_error(ErrorCode::kUnavailable, "the CM's answer names no transaction");
  }

  const std::string partition = received_data_partition(consent_id);
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto held, documents_.read(kHiuArtefactType, consent_id));
  if (!held) {
    vault::Document document{std::string(kHiuArtefactType), std::string(consent_id), "", 0, 0, {}};
    document.body = {{"artefact", consent_value->as_object()},
                     {"professional", professional},
                     {"hip_id", detail.hip_id},
                     {"erase_at_ms", detail.permission.data_erase_at_ms},
                     {"state", "held"}};
    ASSIGN_OR_RETURN(auto write, documents_.prepare(document, {kHeld}));
    batch.records.push_back(std::move(write));
  } else if (string_member(held->body, "state") != "held") {
    return make_error(ErrorCode::kPermissionDenied, "the data of this consent has been erased");
  }
  vault::Document transfer{std::string(kHiuTransferType), transaction_id, "", 0, 0, {}};
  transfer.body = {{"consent_id", consent_id},
                   {"hip_id", detail.hip_id},
                   {"status", "REQUESTED"},
                   {"page_count", 0},
                   {"pages", json::array()},
                   {"care_contexts", json::object()},
                   {"detail", ""},
                   {"requested_at_ms", now_ms},
                   {"hip_url", hip_url}};
  ASSIGN_OR_RETURN(auto transfer_write, documents_.prepare(transfer, {by_consent(consent_id)}));
  batch.records.push_back(std::move(transfer_write));
  vault::Document secret{std::string(kHiuTransferKeyType), transaction_id, partition, 0, 0, {}};
  secret.body = {{"private_key", private_key_to_base64(own.private_key)},
                 {"nonce", nonce_to_base64(key.nonce)}};
  ASSIGN_OR_RETURN(auto secret_write, documents_.prepare(secret, {}));
  batch.records.push_back(std::move(secret_write));
  audit::AuditEntry entry;
  entry.time_ms = now_ms;
  entry.action = audit::Action::kDataRequest;
  entry.basis = detail.purpose == consent::Purpose::kBreakTheGlass ? audit::Basis::kBreakGlass
                                                                   : audit::Basis::kConsent;
  entry.actor_kind = audit::ActorKind::kClient;
  entry.actor_id = std::string(client_id);
  entry.facility_id = options_.hiu_id;
  entry.subject = partition;
  entry.resource_type = std::string(kHiuTransferType);
  entry.resource_id = transaction_id;
  entry.purpose = std::string(consent::purpose_code(detail.purpose));
  entry.consent_id = std::string(consent_id);
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  RETURN_IF_ERROR(commit(std::move(batch)));
  return transfer_from(transfer);
}

Status HiuDataFlow::receive_page(const json::object& body) {
  ASSIGN_OR_RETURN(const auto page, parse_data_page(body));
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSIGN_OR_RETURN(auto transfer, documents_.read(kHiuTransferType, page.transaction_id));
    if (!transfer) {
      return make_error(ErrorCode::kNotFound, "this node started no such transaction");
    }
    auto& fields = transfer->body;
    const std::string consent_id = string_member(fields, "consent_id");
    ASSIGN_OR_RETURN(const auto artefact, documents_.read(kHiuArtefactType, consent_id));
    if (!artefact || string_member(artefact->body, "state") != "held") {
      return make_error(ErrorCode::kFailedPrecondition, "the data of this consent was erased");
    }
    if (string_member(fields, "status") == "FAILED") {
      return make_error(ErrorCode::kFailedPrecondition, "the transaction has failed");
    }
    auto& pages = fields.at("pages").as_array();  // every member below exists: no rehash
    if (std::find(pages.begin(), pages.end(), json::value(page.page_number)) != pages.end()) {
      return {};  // already received: the HIP did not hear our answer
    }
    ASSIGN_OR_RETURN(const auto secret, documents_.read(kHiuTransferKeyType, page.transaction_id));
    if (!secret) return make_error(ErrorCode::kDataLoss, "the transaction's key is missing");
    ASSIGN_OR_RETURN(const auto private_key,
                     parse_private_key(string_member(secret->body, "private_key")));
    ASSIGN_OR_RETURN(const auto own_nonce, parse_nonce(string_member(secret->body, "nonce")));

    const std::string partition = received_data_partition(consent_id);
    const std::int64_t now_ms = unix_ms(clock_.now());
    store::WriteBatch batch;
    std::size_t index = 0;
    for (const auto& entry : page.entries) {
      std::string linked;
      if (entry.content.empty()) {
        ASSIGN_OR_RETURN(
            linked, fetch_link_entry(fetch_link_, entry.link, string_member(fields, "hip_url")));
      }
      auto plaintext =
          decrypt(private_key, page.key_material.public_key, own_nonce, page.key_material.nonce,
                  entry.content.empty() ? linked : entry.content);
      if (!plaintext) {
        return make_error(ErrorCode::kInvalidArgument,
                          "an entry does not decrypt with this transaction's keys");
      }
      if (content_checksum(*plaintext) != entry.checksum) {
        return make_error(ErrorCode::kInvalidArgument,
                          "an entry's checksum does not match its content");
      }
      json::parse_options options;
      options.max_depth = limits::kJsonDepthMax;
      boost::system::error_code error;
      auto bundle = json::parse(*plaintext, error, {}, options);
      if (error || !bundle.is_object() ||
          string_member(bundle.as_object(), "resourceType") != "Bundle") {
        return make_error(ErrorCode::kInvalidArgument, "an entry is not a FHIR Bundle");
      }
      vault::Document document{
          std::string(kHiuBundleType),
          fmt::format("{}-p{}-{}", page.transaction_id, page.page_number, index++),
          partition,
          0,
          0,
          {}};
      document.body = {{"care_context", entry.care_context_reference},
                       {"transaction_id", page.transaction_id},
                       {"bundle", std::move(bundle.as_object())},
                       {"received_at_ms", now_ms}};
      ASSIGN_OR_RETURN(auto write, documents_.prepare(document, {by_consent(consent_id)}));
      batch.records.push_back(std::move(write));
      fields.at("care_contexts").as_object()[entry.care_context_reference] = "OK";
    }
    pages.emplace_back(page.page_number);
    const bool complete = static_cast<std::int64_t>(pages.size()) == page.page_count;
    // (No use of `pages` below: inserting into `fields` may move it.)
    fields["page_count"] = page.page_count;
    if (complete) fields["status"] = "RECEIVED";
    ASSIGN_OR_RETURN(auto transfer_write, documents_.prepare(*transfer, {by_consent(consent_id)}));
    batch.records.push_back(std::move(transfer_write));
    if (complete) {
      HiNotification notice{consent_id,
                            page.transaction_id,
                            now_ms,
                            "HIU",
                            options_.hiu_id,
                            SessionStatus::kTransferred,
                            string_member(fields, "hip_id"),
                            {}};
      for (const auto& [context, status] : fields.at("care_contexts").as_object()) {
        notice.statuses.push_back({std::string(context), HiStatus::kOk, ""});
      }
      ASSIGN_OR_RETURN(auto message, consent::prepare_outbox_message(
                                         documents_, options_.cm_id, kNotifyPath,
                                         {{"notification", notification_to_json(notice)}}));
      batch.records.push_back(std::move(message));
    }
    audit::AuditEntry entry;
    entry.time_ms = now_ms;
    entry.action = audit::Action::kDataTransfer;
    entry.basis = audit::Basis::kConsent;
    entry.actor_kind = audit::ActorKind::kNode;
    entry.actor_id = string_member(fields, "hip_id");
    entry.facility_id = string_member(fields, "hip_id");
    entry.subject = partition;
    entry.resource_type = std::string(kHiuTransferType);
    entry.resource_id = page.transaction_id;
    entry.consent_id = consent_id;
    RETURN_IF_ERROR(audit::append_entry(batch, entry));
    auto committed = commit(std::move(batch));
    if (committed || committed.error().code != ErrorCode::kConflict) return committed;
  }
  return make_error(ErrorCode::kConflict, "the transaction is busy; send the page again");
}

Status HiuDataFlow::receive_cm_message(const json::object& body, std::string_view signature) {
  RETURN_IF_ERROR(
      consent::verify_cm_message(consents_.verifier(), body, signature, unix_ms(clock_.now())));
  const auto* value = body.if_contains("notification");
  if (value == nullptr) return {};  // on-request: the transaction was recorded when it was made
  ASSIGN_OR_RETURN(const auto notification, parse_notification(*value));
  if (notification.notifier_type != "HIP") return {};
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSIGN_OR_RETURN(auto transfer, documents_.read(kHiuTransferType, notification.transaction_id));
    if (!transfer) return make_error(ErrorCode::kNotFound, "this node started no such transaction");
    auto& fields = transfer->body;
    if (string_member(fields, "status") != "REQUESTED" ||
        string_member(fields, "consent_id") != notification.consent_id) {
      return {};
    }
    if (notification.session_status == SessionStatus::kTransferred) {
      // Only an empty transfer finishes on the HIP's word; otherwise the pages do.
      if (!notification.statuses.empty()) return {};
      fields["status"] = "RECEIVED";
    } else {
      fields["status"] = "FAILED";
      std::string detail;
      for (const auto& status : notification.statuses) {
        if (status.status != HiStatus::kErrored) continue;
        fields.at("care_contexts").as_object()[status.care_context_reference] = "ERRORED";
        if (detail.empty()) detail = status.description;
      }
      fields["detail"] = detail.empty() ? "the provider could not send the records" : detail;
    }
    auto written = documents_.write(*transfer, {by_consent(string_member(fields, "consent_id"))});
    if (written || written.error().code != ErrorCode::kConflict) return written;
  }
  return make_error(ErrorCode::kConflict, "the transaction is busy; the CM will retry");
}

Result<std::vector<HiuTransfer>> HiuDataFlow::transfers_of(std::string_view consent_id) {
  ASSIGN_OR_RETURN(const auto documents,
                   documents_.find_documents(kHiuTransferType, by_consent(consent_id), 100));
  std::vector<HiuTransfer> out;
  for (const auto& document : documents) out.push_back(transfer_from(document));
  return out;
}

Result<ReceivedRecords> HiuDataFlow::records(std::string_view client_id,
                                             std::string_view professional,
                                             std::string_view consent_id) {
  ASSIGN_OR_RETURN(auto artefact, documents_.read(kHiuArtefactType, consent_id));
  if (!artefact || string_member(artefact->body, "professional") != professional) {
    return make_error(ErrorCode::kNotFound, "no records were received for you under that consent");
  }
  const std::int64_t now_ms = unix_ms(clock_.now());
  const auto status = consents_.artefact_status(consent_id);
  const bool closed =
      status && (*status == ConsentStatus::kRevoked || *status == ConsentStatus::kExpired);
  if (string_member(artefact->body, "state") != "held" || closed ||
      now_ms >= integer_member(artefact->body, "erase_at_ms")) {
    if (string_member(artefact->body, "state") == "held")
      RETURN_IF_ERROR(erase(*artefact, "on access"));
    return make_error(ErrorCode::kGone,
                      "the records of this consent were erased: it was revoked or has expired");
  }
  ReceivedRecords out;
  out.consent_id = std::string(consent_id);
  out.hip_id = string_member(artefact->body, "hip_id");
  out.erase_at_ms = integer_member(artefact->body, "erase_at_ms");
  ASSIGN_OR_RETURN(out.transfers, transfers_of(consent_id));
  ASSIGN_OR_RETURN(auto documents, documents_.find_documents(kHiuBundleType, by_consent(consent_id),
                                                             kHiuBundlesListedMax));
  std::vector<audit::AuditEntry> views;
  for (auto& document : documents) {
    audit::AuditEntry entry;
    entry.time_ms = now_ms;
    entry.action = audit::Action::kRecordRead;
    entry.basis = audit::Basis::kConsent;
    entry.actor_kind = audit::ActorKind::kClient;
    entry.actor_id = std::string(client_id);
    entry.facility_id = options_.hiu_id;
    entry.subject = document.partition;
    entry.resource_type = "Bundle";
    entry.resource_id = document.id;
    entry.consent_id = std::string(consent_id);
    views.push_back(std::move(entry));
    out.documents.push_back({string_member(document.body, "care_context"),
                             string_member(document.body, "transaction_id"),
                             std::move(document.body.at("bundle").as_object())});
  }
  // The views are durable before anything is shown.
  RETURN_IF_ERROR(audit::record_entries(documents_.store(), views));
  return out;
}

Status HiuDataFlow::erase(vault::Document& artefact, std::string_view why) {
  artefact.body["state"] = "erased";
  artefact.body["erased_at_ms"] = unix_ms(clock_.now());
  artefact.body["erased_because"] = std::string(why);
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto write, documents_.prepare(artefact, {kErased}));
  batch.records.push_back(std::move(write));
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(clock_.now());
  entry.action = audit::Action::kDataErase;
  entry.basis = audit::Basis::kConsent;
  entry.actor_kind = audit::ActorKind::kNode;
  entry.actor_id = options_.hiu_id;
  entry.facility_id = options_.hiu_id;
  entry.subject = received_data_partition(artefact.id);
  entry.resource_type = std::string(kHiuArtefactType);
  entry.resource_id = artefact.id;
  entry.consent_id = artefact.id;
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  // The key goes in the same commit as the record of its erasure.
  auto erased = keys_.erase(vault::key_name_for_partition(received_data_partition(artefact.id)),
                            std::move(batch));
  if (erased) {
    log::info("exchange.received_data_erased",
              {{"consent", artefact.id}, {"why", std::string(why)}});
  }
  return erased;
}

Result<std::size_t> HiuDataFlow::sweep() {
  const std::int64_t now_ms = unix_ms(clock_.now());
  std::size_t erased = 0;
  ASSIGN_OR_RETURN(auto held,
                   documents_.find_documents(kHiuArtefactType, kHeld, options_.sweep_batch));
  for (auto& artefact : held) {
    std::string why;
    if (now_ms >= integer_member(artefact.body, "erase_at_ms")) {
      why = "dataEraseAt";
    } else if (const auto status = consents_.artefact_status(artefact.id);
               status &&
               (*status == ConsentStatus::kRevoked || *status == ConsentStatus::kExpired)) {
      why = *status == ConsentStatus::kRevoked ? "revoked" : "expired";
    }
    if (why.empty()) continue;
    auto done = erase(artefact, why);
    if (done) {
      ++erased;
    } else if (done.error().code != ErrorCode::kConflict) {
      return tl::unexpected(done.error());
    }
  }
  return erased;
}

}  // namespace kavach::exchange
