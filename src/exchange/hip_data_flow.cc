#include "exchange/hip_data_flow.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "audit/merkle_tree.h"
#include "common/log.h"
#include "common/time_format.h"
#include "consent/consent_outbox.h"
#include "consent/json_fields.h"
#include "crypto/encoding.h"
#include "crypto/secret_bytes.h"
#include "exchange/document_bundles.h"
#include "exchange/health_information.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;
using consent::integer_member;
using consent::string_member;

const vault::DocumentIndexValue kPushing{"state", "pushing", true};
const vault::DocumentIndexValue kDone{"state", "done", true};
constexpr std::size_t kEverythingPage = 200;

// Link tokens are kept only as their hash, so a copy of the store cannot fetch anything.
std::string link_document_id(std::string_view token) {
  const auto hash =
      audit::sha256(std::span(reinterpret_cast<const std::uint8_t*>(token.data()), token.size()));
  return crypto::to_hex(hash);
}

std::string page_id(std::string_view transaction_id, std::int64_t page) {
  return fmt::format("{}-p{}", transaction_id, page);
}

// 4xx answers other than these will not get better by asking again.
bool worth_retrying(int status) {
  return status >= 500 || status == 404 || status == 408 || status == 409 || status == 425 ||
         status == 429;
}

}  // namespace

struct HipDataFlow::Planned {
  store::WriteBatch batch;    // the pages
  json::array care_contexts;  // of each page, in order
  std::string subject;        // the (first) patient, for audit entries
  std::int64_t page_count = 0;
};

Status HipDataFlow::commit(store::WriteBatch batch) {
  RETURN_IF_ERROR(documents_.store().commit(std::move(batch)));
  if (wake_outbox_) wake_outbox_();
  return {};
}

Result<HipDataFlow::Planned> HipDataFlow::plan(const std::string& transaction_id,
                                               const std::string& hiu_id,
                                               const consent::HeldConsent& held,
                                               const json::object& hi_request_json) {
  ASSIGN_OR_RETURN(const auto hi_request, parse_hi_request(hi_request_json));
  const auto& detail = held.artefact.detail();
  std::set<std::string> patients;
  for (const auto& context : detail.care_contexts) patients.insert(context.patient_reference);
  if (patients.empty()) {
    ASSIGN_OR_RETURN(patients, gate_.patients_with(detail.patient_id));
  }
  ASSIGN_OR_RETURN(auto scopes,
                   auth::ScopeSet::parse(fmt::format("{} {}{}", consent::kHiuScope,
                                                     consent::kFacilityScopePrefix, hiu_id)));
  const auth::AccessToken caller{fmt::format("exchange:{}", hiu_id), std::move(scopes),
                                 unix_ms(clock_.now()) + 60'000, detail.consent_id};
  Planned planned;
  const std::int64_t now_ms = unix_ms(clock_.now());
  std::vector<std::pair<std::string, json::object>> bundles;  // (partition, bundle)
  std::vector<std::string> bundle_contexts;
  for (const auto& patient_id : patients) {
    // Everything the consent releases of this patient, read (and logged) through the gate.
    std::vector<ReleasedRecord> records;
    std::string after;
    for (;;) {
      auto page = resources_.everything(caller, patient_id, after, kEverythingPage);
      if (!page && page.error().code == ErrorCode::kNotFound) break;  // not covered: nothing
      if (!page) return tl::unexpected(page.error());
      for (auto& resource : page->resources) {
        auto parsed = json::parse(resource.json);
        records.push_back({resource.type, resource.id, std::move(parsed.as_object())});
      }
      if (page->next_after_id.empty()) break;
      after = page->next_after_id;
    }
    const auto patient = std::find_if(records.begin(), records.end(),
                                      [](const auto& r) { return r.type == "Patient"; });
    if (patient == records.end()) continue;
    const ReleasedRecord patient_record = *patient;
    if (planned.subject.empty()) planned.subject = patient_id;
    for (const auto& group : group_for_transfer(std::move(records), hi_request.date_range)) {
      const BundleContext context{consent::random_uuid(), options_.base_url + "/fhir/R4",
                                  options_.hip_name, now_ms};
      bundles.emplace_back(patient_id, document_bundle(group, patient_record, context));
      bundle_contexts.push_back(group.care_context);
    }
  }
  planned.page_count = static_cast<std::int64_t>(bundles.size());
  for (std::size_t i = 0; i < bundles.size(); ++i) {
    const std::string plaintext = json::serialize(bundles[i].second);
    ASSIGN_OR_RETURN(auto own, generate_key_pair());
    const auto own_nonce = generate_nonce();
    DataPage page;
    page.transaction_id = transaction_id;
    page.page_number = static_cast<std::int64_t>(i) + 1;
    page.page_count = planned.page_count;
    PageEntry entry;
    ASSIGN_OR_RETURN(entry.content, encrypt(own.private_key, hi_request.key_material.public_key,
                                            own_nonce, hi_request.key_material.nonce, plaintext));
    entry.checksum = content_checksum(plaintext);
    // A visit's records are named by their encounter; records of no visit by the patient.
    entry.care_context_reference =
        bundle_contexts[i].empty() ? bundles[i].first : bundle_contexts[i];
    std::string link_id;
    if (entry.content.size() > options_.link_threshold_bytes) {
      // Too large for one message: the HIU fetches it with a token only this page carries.
      const auto token = crypto::SecretBytes::random(32);
      const std::string token_text = crypto::to_base64url(token.view());
      link_id = link_document_id(token_text);
      // The ciphertext is written once; the token's state, which changes, is a record of its own,
      // so arming and using it never copies the document again.
      vault::Document linked{
          std::string(kHipLinkedContentType),     link_id, bundles[i].first, 0, 0,
          {{"content", std::move(entry.content)}}};
      ASSIGN_OR_RETURN(auto content_write, documents_.prepare(linked, {}));
      planned.batch.records.push_back(std::move(content_write));
      vault::Document state{std::string(kHipLinkTokenType), link_id, "", 0, 0, {{"armed", true}}};
      ASSIGN_OR_RETURN(auto state_write, documents_.prepare(state, {}));
      planned.batch.records.push_back(std::move(state_write));
      entry.content.clear();
      entry.link = fmt::format("{}{}{}", options_.base_url, kLinksPath, token_text);
    }
    page.entries.push_back(std::move(entry));
    page.key_material = KeyMaterial{own.public_key, own_nonce, hi_request.key_material.expiry_ms};
    planned.care_contexts.emplace_back(page.entries.front().care_context_reference);

    vault::Document document;
    document.type = std::string(kHipTransferPageType);
    document.id = page_id(transaction_id, page.page_number);
    document.partition = bundles[i].first;
    document.body = {{"page", data_page_to_json(page)},
                     {"bundle_id", std::string(bundles[i].second.at("id").as_string())},
                     {"link_id", link_id}};
    ASSIGN_OR_RETURN(auto write, documents_.prepare(document, {}));
    planned.batch.records.push_back(std::move(write));
  }
  return planned;
}

Status HipDataFlow::refuse(const std::string& request_id, const std::string& transaction_id,
                           const std::string& consent_id, const std::string& hiu_id,
                           const Error& why) {
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(
      auto ack,
      consent::prepare_outbox_message(
          documents_, options_.cm_id, kHipOnRequestPath,
          {{"hiRequest", {{"transactionId", transaction_id}, {"sessionStatus", "ACKNOWLEDGED"}}},
           {"error", {{"code", error_code_name(why.code)}, {"message", why.message}}},
           {"resp", {{"requestId", request_id}}}}));
  batch.records.push_back(std::move(ack));
  const HiNotification failed{
      consent_id,         transaction_id,         unix_ms(clock_.now()), "HIP",
      consents_.hip_id(), SessionStatus::kFailed, consents_.hip_id(),    {}};
  ASSIGN_OR_RETURN(auto notice, consent::prepare_outbox_message(
                                    documents_, options_.cm_id, kNotifyPath,
                                    {{"notification", notification_to_json(failed)}}));
  batch.records.push_back(std::move(notice));
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(clock_.now());
  entry.action = audit::Action::kDataRequest;
  entry.outcome = audit::Outcome::kDenied;
  entry.basis = audit::Basis::kConsent;
  entry.actor_kind = audit::ActorKind::kClient;
  entry.actor_id = fmt::format("exchange:{}", hiu_id);
  entry.facility_id = hiu_id;
  entry.resource_type = std::string(kHipTransferType);
  entry.resource_id = transaction_id;
  entry.consent_id = consent_id;
  entry.reason = std::string(error_code_name(why.code));
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  log::info("exchange.request_refused", {{"transaction", transaction_id}, {"reason", why.message}});
  return commit(std::move(batch));
}

Status HipDataFlow::receive(const json::object& body, std::string_view signature) {
  RETURN_IF_ERROR(consents_.verify_message(body, signature));
  ASSIGN_OR_RETURN(const auto transaction_id, consent::required_string(body, "transactionId", ""));
  if (!is_uuid(transaction_id)) {
    return make_error(ErrorCode::kInvalidArgument, "transactionId must be a UUID");
  }
  const auto* hi_request_value = body.if_contains("hiRequest");
  if (hi_request_value == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "hiRequest is required");
  }
  ASSIGN_OR_RETURN(const auto hi_request, parse_hi_request(*hi_request_value));
  // ABDM's message does not name the HIU; Kavach's CM adds it (hiu.id), checked at the CM.
  std::string hiu_id = "hiu";
  if (const auto* hiu = body.if_contains("hiu"); hiu != nullptr && hiu->is_object()) {
    ASSIGN_OR_RETURN(hiu_id, consent::required_string(hiu->as_object(), "id", "hiu"));
  }
  ASSIGN_OR_RETURN(const auto existing, documents_.read(kHipTransferType, transaction_id));
  if (existing) return {};  // the CM sent it again: already planned

  auto held = consents_.begin_data_request(hi_request.consent_id, hiu_id);
  if (!held && held.error().code == ErrorCode::kNotFound) {
    // The CM forwards a request only under an artefact it granted, and it queued the artefact's
    // notice to this HIP first; a request that overtakes the notice (both leave the CM's outbox
    // at once when a patient asks for their own records) is answered "try again", and the
    // outbox's retry finds the consent here.
    return make_error(ErrorCode::kUnavailable,
                      "this HIP has not yet received that consent's notice; try again");
  }
  if (!held) {
    if (held.error().code != ErrorCode::kPermissionDenied &&
        held.error().code != ErrorCode::kNotFound) {
      return tl::unexpected(held.error());
    }
    return refuse(string_member(body, "requestId"), transaction_id, hi_request.consent_id, hiu_id,
                  held.error());
  }
  auto planned = plan(transaction_id, hiu_id, *held, hi_request_value->as_object());
  if (!planned) {
    if (planned.error().code != ErrorCode::kPermissionDenied) {
      return tl::unexpected(planned.error());
    }
    return refuse(string_member(body, "requestId"), transaction_id, hi_request.consent_id, hiu_id,
                  planned.error());
  }
  const std::int64_t now_ms = unix_ms(clock_.now());
  vault::Document transfer;
  transfer.type = std::string(kHipTransferType);
  transfer.id = transaction_id;
  transfer.body = {{"consent_id", hi_request.consent_id},
                   {"hiu_id", hiu_id},
                   {"push_url", hi_request.data_push_url},
                   {"subject", planned->subject},
                   {"page_count", planned->page_count},
                   {"care_contexts", planned->care_contexts},
                   {"next_page", 1},
                   {"attempts", 0},
                   {"next_attempt_at_ms", now_ms},
                   {"status", "PUSHING"},
                   {"last_error", ""}};
  store::WriteBatch& batch = planned->batch;
  ASSIGN_OR_RETURN(auto write, documents_.prepare(transfer, {kPushing}));
  batch.records.push_back(std::move(write));
  ASSIGN_OR_RETURN(
      auto ack,
      consent::prepare_outbox_message(
          documents_, options_.cm_id, kHipOnRequestPath,
          {{"hiRequest", {{"transactionId", transaction_id}, {"sessionStatus", "ACKNOWLEDGED"}}},
           {"resp", {{"requestId", string_member(body, "requestId")}}}}));
  batch.records.push_back(std::move(ack));
  audit::AuditEntry entry;
  entry.time_ms = now_ms;
  entry.action = audit::Action::kDataRequest;
  entry.basis = held->artefact.detail().purpose == consent::Purpose::kBreakTheGlass
                    ? audit::Basis::kBreakGlass
                    : audit::Basis::kConsent;
  entry.actor_kind = audit::ActorKind::kClient;
  entry.actor_id = fmt::format("exchange:{}", hiu_id);
  entry.facility_id = hiu_id;
  entry.subject = planned->subject;
  entry.resource_type = std::string(kHipTransferType);
  entry.resource_id = transaction_id;
  entry.purpose = std::string(consent::purpose_code(held->artefact.detail().purpose));
  entry.consent_id = hi_request.consent_id;
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  // Two deliveries of one request racing: the second finds the transfer written (a conflict).
  auto committed = commit(std::move(batch));
  if (!committed && committed.error().code == ErrorCode::kConflict) return {};
  RETURN_IF_ERROR(committed);
  if (wake_pusher_) wake_pusher_();
  return {};
}

Result<PushCounts> HipDataFlow::push_due() {
  std::lock_guard lock(push_mutex_);
  PushCounts counts;
  ASSIGN_OR_RETURN(auto transfers,
                   documents_.find_documents(kHipTransferType, kPushing, options_.batch_max));
  for (auto& transfer : transfers) {
    auto pushed = push_next(transfer, counts);
    if (!pushed && pushed.error().code != ErrorCode::kConflict) {
      log::warn("exchange.push_failed",
                {{"transaction", transfer.id},
                 {"error", std::string(error_code_name(pushed.error().code))}});
    }
  }
  return counts;
}

Status HipDataFlow::push_next(vault::Document& transfer, PushCounts& counts) {
  auto& body = transfer.body;
  const std::int64_t now_ms = unix_ms(clock_.now());
  if (integer_member(body, "next_attempt_at_ms") > now_ms) return {};
  // The consent is checked again before every page: a revocation stops the transfer at once.
  auto held = consents_.consent(string_member(body, "consent_id"));
  if (!held) {
    ++counts.finished;
    return finish(transfer, false, held.error().message);
  }
  if (held->status != consent::ConsentStatus::kGranted ||
      now_ms >= held->artefact.detail().permission.data_erase_at_ms) {
    ++counts.finished;
    return finish(
        transfer, false,
        held->status == consent::ConsentStatus::kGranted
            ? "the consent expired during the transfer"
            : fmt::format("the consent was {} during the transfer",
                          held->status == consent::ConsentStatus::kRevoked ? "revoked" : "closed"));
  }
  const std::int64_t next = integer_member(body, "next_page");
  if (next > integer_member(body, "page_count")) {
    ++counts.finished;
    return finish(transfer, true, "");
  }
  ASSIGN_OR_RETURN(const auto page,
                   documents_.read(kHipTransferPageType, page_id(transfer.id, next)));
  if (!page) return make_error(ErrorCode::kDataLoss, "a planned page is missing");
  const std::string payload = json::serialize(page->body.at("page"));
  auto sent = transport_(string_member(body, "push_url"), payload);
  const bool delivered = sent && *sent >= 200 && *sent < 300;
  if (delivered) {
    ++counts.pushed;
    body["next_page"] = next + 1;
    body["attempts"] = 0;
    body["next_attempt_at_ms"] = now_ms;
    store::WriteBatch batch;
    ASSIGN_OR_RETURN(auto write, documents_.prepare(transfer, {kPushing}));
    batch.records.push_back(std::move(write));
    audit::AuditEntry entry;
    entry.time_ms = now_ms;
    entry.action = audit::Action::kDataTransfer;
    entry.basis = audit::Basis::kConsent;
    entry.actor_kind = audit::ActorKind::kNode;
    entry.actor_id = consents_.hip_id();
    entry.facility_id = string_member(body, "hiu_id");
    entry.subject = page->partition;
    entry.resource_type = "Bundle";
    entry.resource_id = string_member(page->body, "bundle_id");
    entry.consent_id = string_member(body, "consent_id");
    const auto hash = audit::sha256(
        std::span(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
    entry.content_hash.assign(hash.begin(), hash.end());
    RETURN_IF_ERROR(audit::append_entry(batch, entry));
    RETURN_IF_ERROR(documents_.store().commit(std::move(batch)));
    if (next == integer_member(body, "page_count")) {
      ++counts.finished;
      return finish(transfer, true, "");
    }
    if (wake_pusher_) wake_pusher_();
    return {};
  }
  const std::string error = sent ? fmt::format("the HIU answered {}", *sent) : sent.error().message;
  const auto attempts = integer_member(body, "attempts") + 1;
  if ((sent && !worth_retrying(*sent)) || attempts >= options_.attempts_max) {
    ++counts.finished;
    return finish(transfer, false, fmt::format("page {} was not delivered: {}", next, error));
  }
  ++counts.retried;
  log::info("exchange.push_retry",
            {{"transaction", transfer.id}, {"page", std::to_string(next)}, {"error", error}});
  // The page will be pushed again, so its link (if any) may be fetched again.
  if (const auto link_id = string_member(page->body, "link_id"); !link_id.empty()) {
    ASSIGN_OR_RETURN(auto state, documents_.read(kHipLinkTokenType, link_id));
    if (state && !state->body.at("armed").as_bool()) {
      state->body["armed"] = true;
      RETURN_IF_ERROR(documents_.write(*state, {}));
    }
  }
  body["attempts"] = attempts;
  body["last_error"] = error;
  const auto backoff = std::min<std::int64_t>(options_.backoff_max.count(),
                                              options_.first_backoff.count()
                                                  << std::min<std::int64_t>(attempts - 1, 20));
  body["next_attempt_at_ms"] = now_ms + backoff;
  return documents_.write(transfer, {kPushing});
}

Result<std::string> HipDataFlow::linked_content(std::string_view token) {
  if (token.empty() || token.size() > 64) return make_error(ErrorCode::kNotFound, "no such link");
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string id = link_document_id(token);
    ASSIGN_OR_RETURN(auto state, documents_.read(kHipLinkTokenType, id));
    if (!state || !state->body.at("armed").as_bool()) {
      return make_error(ErrorCode::kNotFound, "no such link, or it was used");
    }
    state->body["armed"] = false;
    auto written = documents_.write(*state, {});
    if (written) {
      ASSIGN_OR_RETURN(const auto linked, documents_.read(kHipLinkedContentType, id));
      if (!linked) return make_error(ErrorCode::kDataLoss, "a linked document is missing");
      return string_member(linked->body, "content");
    }
    if (written.error().code != ErrorCode::kConflict) return tl::unexpected(written.error());
  }
  return make_error(ErrorCode::kNotFound, "no such link, or it was used");
}

Status HipDataFlow::finish(vault::Document& transfer, bool transferred, const std::string& why) {
  auto& body = transfer.body;
  const std::int64_t delivered_pages = integer_member(body, "next_page") - 1;
  const auto& contexts = body.at("care_contexts").as_array();
  // Per care context: delivered when all its pages were, errored otherwise.
  std::map<std::string, bool> delivered;
  for (std::size_t i = 0; i < contexts.size(); ++i) {
    const std::string context(contexts[i].as_string());
    const bool sent = static_cast<std::int64_t>(i) < delivered_pages;
    auto [it, inserted] = delivered.emplace(context, sent);
    if (!inserted) it->second = it->second && sent;
  }
  HiNotification notice{string_member(body, "consent_id"),
                        transfer.id,
                        unix_ms(clock_.now()),
                        "HIP",
                        consents_.hip_id(),
                        transferred ? SessionStatus::kTransferred : SessionStatus::kFailed,
                        consents_.hip_id(),
                        {}};
  for (const auto& [context, sent] : delivered) {
    notice.statuses.push_back({context, sent ? HiStatus::kDelivered : HiStatus::kErrored,
                               sent ? "" : why.substr(0, 200)});
  }
  body["status"] = transferred ? "TRANSFERRED" : "FAILED";
  body["last_error"] = why;
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto write, documents_.prepare(transfer, {kDone}));
  batch.records.push_back(std::move(write));
  ASSIGN_OR_RETURN(auto message, consent::prepare_outbox_message(
                                     documents_, options_.cm_id, kNotifyPath,
                                     {{"notification", notification_to_json(notice)}}));
  batch.records.push_back(std::move(message));
  if (!transferred) {
    log::warn("exchange.transfer_failed", {{"transaction", transfer.id}, {"reason", why}});
  }
  return commit(std::move(batch));
}

}  // namespace kavach::exchange
