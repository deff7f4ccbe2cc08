#include "fhir/audit_event_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/time_format.h"
#include "crypto/encoding.h"

namespace kavach::fhir {
namespace {

namespace json = boost::json;
using audit::Action;

constexpr std::string_view kActionSystem = "https://kavach.health/fhir/CodeSystem/audit-action";
constexpr std::string_view kRestSystem = "http://hl7.org/fhir/restful-interaction";
constexpr std::string_view kPurposeSystem = "https://kavach.health/fhir/CodeSystem/purpose-of-use";
constexpr std::string_view kReviewSystem = "https://kavach.health/fhir/CodeSystem/review";
constexpr std::string_view kClientSystem = "https://kavach.health/fhir/sid/client";
constexpr std::string_view kActorSystem = "https://kavach.health/fhir/sid/actor";

// The FHIR action code (C, R, U, D, E) and restful interaction of an entry's action.
std::pair<std::string_view, std::string_view> fhir_action(Action action) {
  switch (action) {
    case Action::kRecordCreate:
      return {"C", "create"};
    case Action::kRecordRead:
      return {"R", "read"};
    case Action::kRecordUpdate:
      return {"U", "update"};
    case Action::kRecordDelete:
      return {"D", "delete"};
    case Action::kRecordHistory:
      return {"R", "history-instance"};
    case Action::kRecordSearch:
      return {"E", "search-type"};
    case Action::kPatientErase:
      return {"D", ""};
    case Action::kAuditRead:
      return {"E", "search-type"};
    case Action::kBreakGlass:
      return {"R", ""};
    case Action::kDataTransfer:
      return {"R", ""};
    case Action::kDataErase:
      return {"D", ""};
    case Action::kRecordExport:
    case Action::kPatientFind:
      return {"R", ""};
    case Action::kKeyRotate:
    case Action::kClientRegister:
    case Action::kAccountEnrol:
    case Action::kAccountSignIn:
    case Action::kAccountChange:
    case Action::kRegistryChange:
    case Action::kConsentRequest:
    case Action::kConsentGrant:
    case Action::kConsentDeny:
    case Action::kConsentRevoke:
    case Action::kConsentExpire:
    case Action::kConsentFetch:
    case Action::kDataRequest:
    case Action::kPrincipalLock:
    case Action::kPrincipalRelease:
      return {"E", ""};
  }
  return {"E", ""};
}

json::object coding(std::string_view system, std::string_view code) {
  return json::object{{"system", system}, {"code", code}};
}

json::object inclusion_extension(std::span<const std::uint8_t> entry, std::int64_t index,
                                 std::uint64_t tree_size, const std::vector<audit::Hash>& proof) {
  json::array parts{json::object{{"url", "entry"}, {"valueBase64Binary", crypto::to_base64(entry)}},
                    json::object{{"url", "index"}, {"valueString", std::to_string(index)}},
                    json::object{{"url", "treeSize"}, {"valueString", std::to_string(tree_size)}}};
  for (const auto& hash : proof) {
    parts.push_back(json::object{{"url", "proof"}, {"valueBase64Binary", crypto::to_base64(hash)}});
  }
  return json::object{{"url", kInclusionExtension}, {"extension", std::move(parts)}};
}

// An entity naming a record the event touched, with the hash of the content read or written.
json::object record_entity(const audit::TouchedRecord& record) {
  std::string reference = fmt::format("{}/{}", record.type, record.id);
  if (record.version != 0) reference += fmt::format("/_history/{}", record.version);
  json::object what{{"what", json::object{{"reference", reference}}}};
  if (!record.content_hash.empty()) {
    what["detail"] = json::array{json::object{
        {"type", "content-sha256"}, {"valueBase64Binary", crypto::to_base64(record.content_hash)}}};
  }
  return what;
}

}  // namespace

json::object audit_event(const audit::AuditEntry& entry, std::int64_t index,
                         std::string_view origin) {
  const auto [action_code, interaction] = fhir_action(entry.action);
  json::object event{{"resourceType", "AuditEvent"},
                     {"id", std::to_string(index)},
                     {"type", coding(kActionSystem, audit::action_name(entry.action))},
                     {"action", action_code},
                     {"recorded", format_instant_ms(entry.time_ms)},
                     {"outcome", entry.outcome == audit::Outcome::kAllowed ? "0" : "4"}};
  if (!interaction.empty()) event["subtype"] = json::array{coding(kRestSystem, interaction)};
  if (entry.basis == audit::Basis::kBreakGlass) {
    // Emergency access without consent: flagged so auditors and the patient review each one.
    event["meta"] = json::object{
        {"tag",
         json::array{json::object{{"system", kReviewSystem},
                                  {"code", "break-the-glass"},
                                  {"display", "Emergency access without consent: review"}}}}};
  }
  if (!entry.reason.empty()) event["outcomeDesc"] = entry.reason;
  if (!entry.purpose.empty()) {
    event["purposeOfEvent"] =
        json::array{json::object{{"coding", json::array{coding(kPurposeSystem, entry.purpose)}}}};
  }
  const bool client = entry.actor_kind == audit::ActorKind::kClient;
  json::object agent{
      {"type", json::object{{"text", audit::actor_kind_name(entry.actor_kind)}}},
      {"who",
       json::object{{"identifier", json::object{{"system", client ? kClientSystem : kActorSystem},
                                                {"value", entry.actor_id}}}}},
      {"requestor", true}};
  if (!entry.facility_id.empty()) {
    agent["location"] = json::object{{"display", entry.facility_id}};
  }
  if (entry.basis != audit::Basis::kScope) {
    agent["policy"] = json::array{audit::basis_name(entry.basis)};
  }
  event["agent"] = json::array{std::move(agent)};
  event["source"] = json::object{{"observer", json::object{{"display", origin}}}};
  json::array entities;
  if (!entry.resource_type.empty() && !entry.resource_id.empty()) {
    entities.push_back(record_entity(
        {entry.resource_type, entry.resource_id, entry.resource_version, entry.content_hash}));
  }
  for (const auto& record : entry.further_records) entities.push_back(record_entity(record));
  if (!entry.subject.empty()) {
    entities.push_back(
        json::object{{"what", json::object{{"reference", "Patient/" + entry.subject}}},
                     {"role", coding("http://terminology.hl7.org/CodeSystem/object-role", "1")}});
  }
  if (!entry.consent_id.empty()) {
    entities.push_back(
        json::object{{"what", json::object{{"reference", "Consent/" + entry.consent_id}}}});
  }
  if (!entities.empty()) event["entity"] = std::move(entities);
  return event;
}

Result<AuditEventPage> AuditEventService::search(const auth::AccessToken& caller,
                                                 const AuditEventQuery& query) {
  audit::AuditEntry read;
  read.time_ms = unix_ms(clock_.now());
  read.action = Action::kAuditRead;
  read.actor_kind = audit::ActorKind::kClient;
  read.actor_id = caller.client_id;
  read.subject = query.patient;
  read.resource_type = "AuditEvent";
  if (!caller.scopes.has(kAuditorScope)) {
    read.outcome = audit::Outcome::kDenied;
    read.reason = std::string(error_code_name(ErrorCode::kPermissionDenied));
    if (auto logged = audit::record_entries(store_, {&read, 1}); !logged) {
      log::error("audit.refusal_not_logged", {{"error", logged.error().message}});
    }
    return make_error(ErrorCode::kPermissionDenied,
                      "reading the audit log needs the kavach/audit scope");
  }
  return page(query, read);
}

Result<AuditEventPage> AuditEventService::search_as_patient(std::string_view reader,
                                                            const AuditEventQuery& query) {
  if (query.patient.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "a patient reads the entries about them");
  }
  audit::AuditEntry read;
  read.time_ms = unix_ms(clock_.now());
  read.action = Action::kAuditRead;
  read.basis = audit::Basis::kConsent;
  read.actor_kind = audit::ActorKind::kPatient;
  read.actor_id = std::string(reader);
  read.subject = query.patient;
  read.resource_type = "AuditEvent";
  return page(query, read);
}

Result<AuditEventPage> AuditEventService::page(const AuditEventQuery& query,
                                               const audit::AuditEntry& read) {
  const std::size_t count = std::clamp<std::size_t>(query.count, 1, limits::kPageSizeMax - 1);
  std::vector<store::StoredAuditEntry> entries;
  if (query.patient.empty()) {
    ASSIGN_OR_RETURN(entries, store_.read_audit_entries(query.after + 1, count + 1));
  } else {
    ASSIGN_OR_RETURN(entries, store_.audit_entries_about(query.patient, query.after, count + 1));
  }
  AuditEventPage page;
  if (entries.size() > count) {
    entries.resize(count);
    page.next_after = entries.back().index;
  }
  const auto checkpoint = log_.latest_checkpoint();
  const std::uint64_t tree_size = checkpoint ? static_cast<std::uint64_t>(checkpoint->size) : 0;
  json::array bundle_entries;
  for (const auto& stored : entries) {
    auto entry = audit::decode_entry(stored.entry);
    if (!entry) {
      return make_error(
          ErrorCode::kDataLoss,
          fmt::format("audit entry {} does not decode; run kavach audit verify", stored.index));
    }
    auto event = audit_event(*entry, stored.index, log_.origin());
    if (static_cast<std::uint64_t>(stored.index) < tree_size) {
      ASSIGN_OR_RETURN(const auto proof,
                       log_.inclusion_proof(static_cast<std::uint64_t>(stored.index), tree_size));
      event["extension"] =
          json::array{inclusion_extension(stored.entry, stored.index, tree_size, proof)};
    }
    bundle_entries.push_back(
        json::object{{"fullUrl", fmt::format("/fhir/R4/AuditEvent/{}", stored.index)},
                     {"resource", std::move(event)}});
  }
  // The read itself is logged before the page leaves the node.
  RETURN_IF_ERROR(audit::record_entries(store_, {&read, 1}));
  page.bundle = json::object{
      {"resourceType", "Bundle"}, {"type", "searchset"}, {"entry", std::move(bundle_entries)}};
  if (checkpoint) {
    page.bundle["meta"] =
        json::object{{"extension", json::array{json::object{{"url", kCheckpointExtension},
                                                            {"valueString", checkpoint->note}}}}};
  }
  return page;
}

}  // namespace kavach::fhir
