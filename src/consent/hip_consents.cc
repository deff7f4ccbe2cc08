#include "consent/hip_consents.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/time_format.h"
#include "consent/consent_policy.h"
#include "consent/json_fields.h"

namespace kavach::consent {
namespace {

namespace json = boost::json;
constexpr int kHipApplyRetriesMax = 4;

bool is_final(ConsentStatus status) { return status != ConsentStatus::kGranted; }

}  // namespace

Status verify_signed_message(const ArtefactVerifier& verifier, const json::object& body,
                             std::string_view signature, std::int64_t now_ms,
                             std::string_view signer) {
  if (signature.empty()) {
    return make_error(ErrorCode::kUnauthenticated,
                      fmt::format("the message must carry the signature of {}", signer));
  }
  auto checked = verifier.verify_signature(body, signature);
  if (!checked) {
    return make_error(ErrorCode::kUnauthenticated,
                      fmt::format("the message is not signed by {}", signer));
  }
  ASSIGN_OR_RETURN(const std::int64_t timestamp, required_instant(body, "timestamp", ""));
  if (timestamp < now_ms - kMessageSkewPastMs || timestamp > now_ms + kMessageSkewFutureMs) {
    return make_error(ErrorCode::kUnauthenticated,
                      "the message's timestamp is outside the accepted window (a replay?)");
  }
  return {};
}

Status verify_cm_message(const ArtefactVerifier& verifier, const json::object& body,
                         std::string_view signature, std::int64_t now_ms) {
  return verify_signed_message(verifier, body, signature, now_ms,
                               "the consent manager this node trusts");
}

json::object status_statement(std::string_view consent_id, ConsentStatus status,
                              std::int64_t now_ms) {
  return {{"consentId", consent_id},
          {"status", consent_status_code(status)},
          {"timestamp", format_instant_ms(now_ms)}};
}

Result<ConsentStatus> verify_status_statement(const ArtefactVerifier& verifier,
                                              const json::object& reply,
                                              std::string_view consent_id, std::int64_t now_ms) {
  const auto* statement = reply.if_contains("statement");
  if (statement == nullptr || !statement->is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "the CM's reply has no statement");
  }
  ASSIGN_OR_RETURN(const std::string signature, required_string(reply, "signature", ""));
  RETURN_IF_ERROR(verify_cm_message(verifier, statement->as_object(), signature, now_ms));
  ASSIGN_OR_RETURN(const std::string id,
                   required_string(statement->as_object(), "consentId", "statement"));
  ASSIGN_OR_RETURN(const std::string status,
                   required_string(statement->as_object(), "status", "statement"));
  const auto parsed = parse_consent_status(status);
  if (id != consent_id || !parsed) {
    return make_error(ErrorCode::kInvalidArgument, "the CM's statement is about another consent");
  }
  return *parsed;
}

Status HipConsents::verify_message(const json::object& body, std::string_view signature) const {
  return verify_cm_message(verifier_, body, signature, unix_ms(documents_.clock().now()));
}

Result<ConsentStatus> HipConsents::receive(const json::object& body, std::string_view signature) {
  RETURN_IF_ERROR(verify_cm_message(verifier_, body, signature, unix_ms(documents_.clock().now())));
  const auto* notification = body.if_contains("notification");
  if (notification == nullptr || !notification->is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "notification is required");
  }
  ASSIGN_OR_RETURN(const VerifiedArtefact artefact, verifier_.open(notification->as_object()));
  const ConsentDetail& detail = artefact.detail();
  if (detail.hip_id != hip_id_) {
    return make_error(ErrorCode::kPermissionDenied,
                      fmt::format("the artefact is for HIP {}, not this one", detail.hip_id));
  }
  const ConsentStatus incoming = artefact.artefact().status;
  if (incoming == ConsentStatus::kRequested || incoming == ConsentStatus::kDenied) {
    return make_error(ErrorCode::kInvalidArgument,
                      "a HIP is told only of GRANTED, REVOKED and EXPIRED artefacts");
  }
  ASSIGN_OR_RETURN(const ConsentStatus held, record_status(artefact, incoming));
  // Heard from the CM while running: current until the next notice.
  std::lock_guard lock(confirmed_mutex_);
  confirmed_.insert(detail.consent_id);
  return held;
}

Result<ConsentStatus> HipConsents::record_status(const VerifiedArtefact& artefact,
                                                 ConsentStatus incoming) {
  const ConsentDetail& detail = artefact.detail();
  for (int attempt = 0; attempt < kHipApplyRetriesMax; ++attempt) {
    ASSIGN_OR_RETURN(auto existing, documents_.read(kHipConsentType, detail.consent_id));
    vault::Document document;
    if (existing) {
      document = std::move(*existing);
      const auto held = parse_consent_status(document.body.at("status").as_string());
      if (!held) return make_error(ErrorCode::kDataLoss, "a held consent is malformed");
      // One way only: a final status stays; the same status again is a duplicate.
      if (is_final(*held) || *held == incoming) return *held;
      if (document.body.at("artefact").at("signature").as_string() !=
          artefact.artefact().signature) {
        return make_error(ErrorCode::kConflict,
                          "a different artefact already holds this consent id");
      }
    } else {
      document = vault::Document{std::string(kHipConsentType), detail.consent_id, "", 0, 0, {}};
      document.body["artefact"] = signed_artefact_to_json(artefact.artefact());
    }
    const std::int64_t now_ms = unix_ms(documents_.clock().now());
    document.body["status"] = consent_status_code(incoming);
    document.body["status_changed_at_ms"] = now_ms;
    audit::AuditEntry entry;
    entry.time_ms = now_ms;
    entry.action = incoming == ConsentStatus::kGranted   ? audit::Action::kConsentGrant
                   : incoming == ConsentStatus::kRevoked ? audit::Action::kConsentRevoke
                                                         : audit::Action::kConsentExpire;
    entry.basis = audit::Basis::kConsent;
    entry.actor_kind = audit::ActorKind::kNode;
    entry.actor_id = detail.consent_manager_id;
    entry.facility_id = detail.hiu_id;
    entry.resource_type = std::string(kHipConsentType);
    entry.resource_id = detail.consent_id;
    entry.purpose = std::string(purpose_code(detail.purpose));
    entry.consent_id = detail.consent_id;
    store::WriteBatch batch;
    RETURN_IF_ERROR(audit::append_entry(batch, entry));
    auto written = documents_.write(
        document, {{"state", std::string(consent_status_code(incoming)), true}}, std::move(batch));
    if (written) return incoming;
    if (written.error().code != ErrorCode::kConflict) return tl::unexpected(written.error());
  }
  return make_error(ErrorCode::kUnavailable, "the consent is busy; the CM will retry");
}

Result<HeldConsent> HipConsents::begin_data_request(std::string_view consent_id,
                                                    std::string_view hiu_id) {
  for (int attempt = 0; attempt < kHipApplyRetriesMax; ++attempt) {
    ASSIGN_OR_RETURN(auto held, consent(consent_id));
    ASSIGN_OR_RETURN(auto document, documents_.read(kHipConsentType, consent_id));
    if (!document)
      return make_error(ErrorCode::kNotFound, "this HIP holds no consent with that id");
    const std::int64_t now_ms = unix_ms(documents_.clock().now());
    const std::int64_t period_start = frequency_period_start_ms(held.artefact.detail(), now_ms);
    std::int64_t used = 0;
    if (const auto* counted = document->body.if_contains("period_start_ms");
        counted != nullptr && counted->to_number<std::int64_t>() == period_start) {
      used = document->body.at("requests_in_period").to_number<std::int64_t>();
    }
    const DataRequest request{std::string(hiu_id), hip_id_, now_ms, used};
    if (const auto denial = check_data_request(held.artefact, held.status, request)) {
      return make_error(ErrorCode::kPermissionDenied, std::string(denial_text(*denial)));
    }
    document->body["period_start_ms"] = period_start;
    document->body["requests_in_period"] = used + 1;
    auto written = documents_.write(
        *document, {{"state", std::string(consent_status_code(held.status)), true}});
    if (written) return held;
    if (written.error().code != ErrorCode::kConflict) return tl::unexpected(written.error());
  }
  return make_error(ErrorCode::kUnavailable, "the consent is busy; try the data request again");
}

Result<HeldConsent> HipConsents::consent(std::string_view consent_id) {
  ASSIGN_OR_RETURN(const auto document, documents_.read(kHipConsentType, consent_id));
  if (!document) return make_error(ErrorCode::kNotFound, "this HIP holds no consent with that id");
  const auto status = parse_consent_status(document->body.at("status").as_string());
  if (!status) return make_error(ErrorCode::kDataLoss, "a held consent is malformed");
  const auto& wire = document->body.at("artefact").as_object();
  SignedArtefact signed_artefact;
  signed_artefact.status = *status;
  signed_artefact.detail_json = wire.at("consentDetail").as_object();
  signed_artefact.signature = std::string(wire.at("signature").as_string());
  ASSIGN_OR_RETURN(signed_artefact.detail, parse_consent_detail(wire.at("consentDetail")));
  auto verified = verifier_.verify(std::move(signed_artefact));
  if (!verified) {
    return make_error(ErrorCode::kDataLoss,
                      "a held artefact no longer verifies: the stored row was changed");
  }
  HeldConsent held{std::move(*verified), *status,
                   document->body.at("status_changed_at_ms").to_number<std::int64_t>()};
  if (held.status == ConsentStatus::kGranted && status_source_) {
    RETURN_IF_ERROR(confirm(held));
  }
  return held;
}

Status HipConsents::confirm(HeldConsent& held) {
  const std::string& id = held.artefact.detail().consent_id;
  {
    std::lock_guard lock(confirmed_mutex_);
    if (confirmed_.contains(id)) return {};
  }
  // Notices sent while this node was down may still be on their way: ask before serving.
  auto current = status_source_(id);
  if (!current) {
    return make_error(ErrorCode::kUnavailable,
                      "the consent cannot be confirmed with the consent manager now; try again "
                      "shortly");
  }
  if (*current != ConsentStatus::kGranted) {
    ASSIGN_OR_RETURN(held.status, record_status(held.artefact, *current));
    held.status_changed_at_ms = unix_ms(documents_.clock().now());
  }
  std::lock_guard lock(confirmed_mutex_);
  confirmed_.insert(id);
  return {};
}

}  // namespace kavach::consent
