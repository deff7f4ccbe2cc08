#include "consent/hiu_consents.h"

#include <boost/json.hpp>

#include "consent/hip_consents.h"
#include "consent/json_fields.h"

namespace kavach::consent {
namespace {

namespace json = boost::json;
constexpr int kHiuApplyRetriesMax = 4;
constexpr std::size_t kArtefactsMax = 100;

int rank(ConsentStatus status) {
  switch (status) {
    case ConsentStatus::kRequested:
      return 0;
    case ConsentStatus::kGranted:
      return 1;
    case ConsentStatus::kDenied:
    case ConsentStatus::kRevoked:
    case ConsentStatus::kExpired:
      return 2;
  }
  return 2;
}

// ABDM's consentArtefacts [{id}], at most 100.
Result<std::vector<std::string>> artefact_ids_of(const json::value& value) {
  const auto* array = value.if_array();
  if (array == nullptr || array->size() > kArtefactsMax) {
    return make_error(ErrorCode::kInvalidArgument, "consentArtefacts is a list of up to 100");
  }
  std::vector<std::string> ids;
  for (const auto& artefact : *array) {
    ASSIGN_OR_RETURN(const json::object& entry, json_object(artefact, "consentArtefacts[]"));
    ASSIGN_OR_RETURN(auto artefact_id, required_string(entry, "id", "consentArtefacts[]"));
    ids.push_back(std::move(artefact_id));
  }
  return ids;
}

}  // namespace

Result<ConsentStatus> HiuConsents::receive(const json::object& body, std::string_view signature) {
  RETURN_IF_ERROR(verify_cm_message(verifier_, body, signature, unix_ms(documents_.clock().now())));
  if (const auto* request = body.if_contains("consentRequest")) {  // on-init, on-status
    ASSIGN_OR_RETURN(const json::object& fields, json_object(*request, "consentRequest"));
    ASSIGN_OR_RETURN(const std::string id, required_string(fields, "id", "consentRequest"));
    ASSIGN_OR_RETURN(const std::string status_text,
                     optional_string(fields, "status", "consentRequest"));
    const auto status =
        status_text.empty() ? ConsentStatus::kRequested : parse_consent_status(status_text);
    if (!status) {
      return make_error(ErrorCode::kInvalidArgument,
                        "consentRequest.status is not a consent status");
    }
    std::vector<std::string> artefact_ids;
    if (const auto* artefacts = fields.if_contains("consentArtefacts")) {
      ASSIGN_OR_RETURN(artefact_ids, artefact_ids_of(*artefacts));
    }
    return apply(id, *status, artefact_ids);
  }
  if (const auto* consent = body.if_contains("consent")) {  // on-fetch
    // The artefact itself is fetched and verified where it is used (the exchange); the callback
    // only confirms it, so nothing changes here.
    ASSIGN_OR_RETURN(const json::object& fields, json_object(*consent, "consent"));
    ASSIGN_OR_RETURN(const auto artefact, verifier_.open(fields));
    return artefact.artefact().status;
  }
  const auto* notification = body.if_contains("notification");
  if (notification == nullptr) {
    return make_error(ErrorCode::kInvalidArgument, "notification or consentRequest is required");
  }
  ASSIGN_OR_RETURN(const json::object& fields, json_object(*notification, "notification"));
  ASSIGN_OR_RETURN(const std::string id,
                   required_string(fields, "consentRequestId", "notification"));
  ASSIGN_OR_RETURN(const std::string status_text,
                   required_string(fields, "status", "notification"));
  const auto status = parse_consent_status(status_text);
  if (!status) {
    return make_error(ErrorCode::kInvalidArgument, "notification.status is not a consent status");
  }
  std::vector<std::string> artefact_ids;
  if (const auto* artefacts = fields.if_contains("consentArtefacts")) {
    ASSIGN_OR_RETURN(artefact_ids, artefact_ids_of(*artefacts));
  }
  return apply(id, *status, artefact_ids);
}

Result<ConsentStatus> HiuConsents::apply(const std::string& id, ConsentStatus incoming,
                                         const std::vector<std::string>& artefact_ids) {
  for (int attempt = 0; attempt < kHiuApplyRetriesMax; ++attempt) {
    ASSIGN_OR_RETURN(auto existing, documents_.read(kHiuConsentType, id));
    vault::Document document{std::string(kHiuConsentType), id, "", 0, 0, {}};
    if (existing) {
      document = std::move(*existing);
      const auto held = parse_consent_status(document.body.at("status").as_string());
      if (!held) return make_error(ErrorCode::kDataLoss, "a held consent request is malformed");
      if (rank(incoming) <= rank(*held)) return *held;  // a duplicate, late or replayed notice
    } else {
      document.body["artefact_ids"] = json::array();
    }
    document.body["status"] = consent_status_code(incoming);
    document.body["updated_at_ms"] = unix_ms(documents_.clock().now());
    if (!artefact_ids.empty()) {
      json::array ids;
      for (const auto& artefact_id : artefact_ids) ids.emplace_back(artefact_id);
      document.body["artefact_ids"] = std::move(ids);
    }
    // Indexed by artefact, so the exchange can find a received artefact's fate.
    std::vector<vault::DocumentIndexValue> index;
    for (const auto& artefact_id : document.body.at("artefact_ids").as_array()) {
      index.push_back({"artefact", std::string(artefact_id.as_string()), true});
    }
    auto written = documents_.write(document, index);
    if (written) return incoming;
    if (written.error().code != ErrorCode::kConflict) return tl::unexpected(written.error());
  }
  return make_error(ErrorCode::kUnavailable, "the consent request is busy; the CM will retry");
}

Result<ConsentStatus> HiuConsents::artefact_status(std::string_view artefact_id) {
  ASSIGN_OR_RETURN(
      const auto ids,
      documents_.find(kHiuConsentType, {"artefact", std::string(artefact_id), true}, 1));
  if (ids.empty()) return make_error(ErrorCode::kNotFound, "this HIU was told of no such consent");
  ASSIGN_OR_RETURN(const auto held, request(ids.front()));
  return held.status;
}

Result<HiuConsentRequest> HiuConsents::request(std::string_view id) {
  ASSIGN_OR_RETURN(const auto document, documents_.read(kHiuConsentType, id));
  if (!document) return make_error(ErrorCode::kNotFound, "this HIU was told of no such request");
  HiuConsentRequest out;
  out.id = document->id;
  const auto status = parse_consent_status(document->body.at("status").as_string());
  if (!status) return make_error(ErrorCode::kDataLoss, "a held consent request is malformed");
  out.status = *status;
  for (const auto& artefact_id : document->body.at("artefact_ids").as_array())
    out.artefact_ids.emplace_back(artefact_id.as_string());
  out.updated_at_ms = document->body.at("updated_at_ms").to_number<std::int64_t>();
  return out;
}

}  // namespace kavach::consent
