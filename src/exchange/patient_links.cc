#include "exchange/patient_links.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/log.h"
#include "common/time_format.h"
#include "consent/abha.h"
#include "consent/consent_outbox.h"
#include "consent/json_fields.h"
#include "exchange/health_information.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;
using consent::json_object;
using consent::member_or_null;
using consent::optional_string;
using consent::required_string;
using consent::string_member;

std::vector<CareContextEntry> contexts_of(const json::object& body) {
  const auto* value = body.if_contains("care_contexts");
  if (value == nullptr) return {};
  auto parsed = parse_care_contexts(*value, "care_contexts");
  return parsed ? std::move(*parsed) : std::vector<CareContextEntry>{};
}

Discovery discovery_from(const vault::Document& document) {
  const auto& body = document.body;
  Discovery out;
  out.id = document.id;
  out.hip_id = string_member(body, "hip_id");
  out.status = string_member(body, "status");
  out.patient_reference = string_member(body, "patient_reference");
  out.display = string_member(body, "display");
  out.care_contexts = contexts_of(body);
  out.matched_by = consent::string_array_member(body, "matched_by");
  out.code_hint = string_member(body, "code_hint");
  out.error = string_member(body, "error");
  return out;
}

// An ABDM error answer's message, if the body is one.
std::string error_of(const json::object& body) {
  const auto* error = body.if_contains("error");
  if (error == nullptr || !error->is_object()) return "";
  const auto message = string_member(error->as_object(), "message");
  return message.empty() ? "the provider refused" : message.substr(0, 200);
}

vault::DocumentIndexValue by_confirm_request(std::string_view id) {
  return {"confirm_request", std::string(id), true};
}

}  // namespace

Result<std::vector<CareContextEntry>> parse_care_contexts(const json::value& value,
                                                          std::string_view where) {
  const auto* array = value.if_array();
  if (array == nullptr || array->size() > kCareContextsMax) {
    return make_error(
        ErrorCode::kInvalidArgument,
        fmt::format("{} must be a list of up to {} care contexts", where, kCareContextsMax));
  }
  std::vector<CareContextEntry> out;
  for (const auto& item : *array) {
    ASSIGN_OR_RETURN(const json::object& context, json_object(item, where));
    CareContextEntry entry;
    ASSIGN_OR_RETURN(entry.reference, required_string(context, "referenceNumber", where));
    ASSIGN_OR_RETURN(entry.display, optional_string(context, "display", where));
    out.push_back(std::move(entry));
  }
  return out;
}

json::array care_contexts_to_json(const std::vector<CareContextEntry>& contexts) {
  json::array out;
  for (const auto& context : contexts) {
    out.push_back(
        json::object{{"referenceNumber", context.reference}, {"display", context.display}});
  }
  return out;
}

Status PatientLinks::commit(store::WriteBatch batch) {
  RETURN_IF_ERROR(documents_.store().commit(std::move(batch)));
  if (wake_outbox_) wake_outbox_();
  return {};
}

Result<Discovery> PatientLinks::discover(const consent::PatientSession& caller,
                                         std::string_view abha_number, std::string_view hip_id) {
  ASSIGN_OR_RETURN(const auto patient, accounts_.acting_for(caller, abha_number));
  ASSIGN_OR_RETURN(const auto hip, registry_.participant(hip_id, consent::FacilityRole::kHip));
  vault::Document document{
      std::string(kDiscoveryType), consent::random_uuid(), patient.id, 0, 0, {}};
  document.body = {
      {"hip_id", hip.id}, {"status", "DISCOVERING"}, {"created_at_ms", unix_ms(clock_.now())}};
  json::array verified{json::object{{"type", "HEALTH_ID"}, {"value", patient.address}},
                       json::object{{"type", "NDHM_HEALTH_NUMBER"},
                                    {"value", consent::format_abha_number(patient.abha_number)}}};
  if (!patient.mobile.empty()) {
    verified.push_back(json::object{{"type", "MOBILE"}, {"value", patient.mobile}});
  }
  json::object request{{"transactionId", document.id},
                       {"patient",
                        {{"id", patient.address},
                         {"verifiedIdentifiers", std::move(verified)},
                         {"unverifiedIdentifiers", json::array()},
                         {"name", patient.name},
                         {"gender", patient.gender.empty() ? "U" : patient.gender},
                         {"yearOfBirth", patient.year_of_birth}}}};
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto write, documents_.prepare(document, {}));
  batch.records.push_back(std::move(write));
  ASSIGN_OR_RETURN(auto message, consent::prepare_outbox_message(documents_, hip.id, kDiscoverPath,
                                                                 std::move(request)));
  batch.records.push_back(std::move(message));
  // The patient's identity goes to the HIP: logged as their act.
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(clock_.now());
  entry.action = audit::Action::kAccountChange;
  entry.basis = audit::Basis::kConsent;
  entry.actor_kind = audit::ActorKind::kPatient;
  entry.actor_id = caller.account_id;
  entry.facility_id = hip.id;
  entry.subject = patient.id;
  entry.resource_type = std::string(kDiscoveryType);
  entry.resource_id = document.id;
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  RETURN_IF_ERROR(commit(std::move(batch)));
  return discovery_from(document);
}

Result<std::pair<consent::Account, vault::Document>> PatientLinks::patient_discovery(
    const consent::PatientSession& caller, std::string_view abha_number, std::string_view id) {
  ASSIGN_OR_RETURN(auto patient, accounts_.acting_for(caller, abha_number));
  ASSIGN_OR_RETURN(auto document, documents_.read(kDiscoveryType, id));
  if (!document || document->partition != patient.id) {
    return make_error(ErrorCode::kNotFound, "no discovery has that id");
  }
  return std::pair{std::move(patient), std::move(*document)};
}

Result<Discovery> PatientLinks::discovery(const consent::PatientSession& caller,
                                          std::string_view abha_number, std::string_view id) {
  ASSIGN_OR_RETURN(const auto found, patient_discovery(caller, abha_number, id));
  return discovery_from(found.second);
}

Result<Discovery> PatientLinks::link(const consent::PatientSession& caller,
                                     std::string_view abha_number, std::string_view id,
                                     const std::vector<std::string>& references) {
  ASSIGN_OR_RETURN(auto found, patient_discovery(caller, abha_number, id));
  auto& [patient, document] = found;
  const auto current = discovery_from(document);
  if (current.status != "FOUND" && current.status != "AWAITING_CODE" &&
      current.status != "FAILED") {
    return make_error(
        ErrorCode::kFailedPrecondition,
        fmt::format("the discovery is {}; link once the HIP has found you", current.status));
  }
  if (current.patient_reference.empty()) {
    return make_error(ErrorCode::kFailedPrecondition, "the HIP found no records to link");
  }
  std::set<std::string> offered;
  for (const auto& context : current.care_contexts) offered.insert(context.reference);
  json::array chosen;
  for (const auto& reference : references) {
    if (!offered.contains(reference)) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("care context {} was not offered by the HIP", reference));
    }
    chosen.push_back(json::object{{"referenceNumber", reference}});
  }
  if (chosen.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "choose at least one care context to link");
  }
  document.body["status"] = "LINKING";
  document.body["chosen"] = chosen;
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto write, documents_.prepare(document, {}));
  batch.records.push_back(std::move(write));
  ASSIGN_OR_RETURN(auto message, consent::prepare_outbox_message(
                                     documents_, current.hip_id, kLinkInitPath,
                                     {{"transactionId", document.id},
                                      {"patient",
                                       {{"id", patient.address},
                                        {"referenceNumber", current.patient_reference},
                                        {"careContexts", std::move(chosen)}}}}));
  batch.records.push_back(std::move(message));
  RETURN_IF_ERROR(commit(std::move(batch)));
  return discovery_from(document);
}

Result<Discovery> PatientLinks::confirm(const consent::PatientSession& caller,
                                        std::string_view abha_number, std::string_view id,
                                        std::string_view code) {
  ASSIGN_OR_RETURN(auto found, patient_discovery(caller, abha_number, id));
  auto& document = found.second;
  if (string_member(document.body, "status") != "AWAITING_CODE") {
    return make_error(ErrorCode::kFailedPrecondition,
                      "no code is awaited: ask to link first, and wait for the HIP's code");
  }
  if (code.empty() || code.size() > 16) {
    return make_error(ErrorCode::kInvalidArgument, "the code is required");
  }
  const std::string request_id = consent::random_uuid();
  document.body["status"] = "CONFIRMING";
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto write, documents_.prepare(document, {by_confirm_request(request_id)}));
  batch.records.push_back(std::move(write));
  ASSIGN_OR_RETURN(
      auto message,
      consent::prepare_outbox_message(
          documents_, string_member(document.body, "hip_id"), kLinkConfirmPath,
          {{"confirmation",
            {{"linkRefNumber", string_member(document.body, "link_ref")}, {"token", code}}}},
          request_id));
  batch.records.push_back(std::move(message));
  RETURN_IF_ERROR(commit(std::move(batch)));
  return discovery_from(document);
}

Result<std::vector<LinkedHip>> PatientLinks::links(const consent::PatientSession& caller,
                                                   std::string_view abha_number) {
  ASSIGN_OR_RETURN(const auto patient, accounts_.acting_for(caller, abha_number));
  ASSIGN_OR_RETURN(
      const auto documents,
      documents_.find_documents(kLinkedCareContextsType, {"account", patient.id, true}, 100));
  std::vector<LinkedHip> out;
  for (const auto& document : documents) {
    const auto& body = document.body;
    out.push_back({string_member(body, "hip_id"), string_member(body, "hip_name"),
                   string_member(body, "patient_reference"), string_member(body, "display"),
                   contexts_of(body)});
  }
  return out;
}

Result<std::string> PatientLinks::subject(const consent::PatientSession& caller,
                                          std::string_view abha_number) {
  ASSIGN_OR_RETURN(const auto patient, accounts_.acting_for(caller, abha_number));
  return patient.address;
}

Result<vault::Document> PatientLinks::hip_discovery(std::string_view hip_id, std::string_view id) {
  ASSIGN_OR_RETURN(auto document, documents_.read(kDiscoveryType, id));
  if (!document || string_member(document->body, "hip_id") != hip_id) {
    return make_error(ErrorCode::kNotFound, "no discovery has that transaction id");
  }
  return std::move(*document);
}

Status PatientLinks::on_discover(std::string_view hip_id, const json::object& body) {
  ASSIGN_OR_RETURN(const auto id, required_string(body, "transactionId", ""));
  ASSIGN_OR_RETURN(auto document, hip_discovery(hip_id, id));
  if (string_member(document.body, "status") != "DISCOVERING") return {};  // a repeat
  if (const auto error = error_of(body); !error.empty()) {
    document.body["status"] = "NOT_FOUND";
    document.body["error"] = error;
    return documents_.write(document, {});
  }
  ASSIGN_OR_RETURN(const json::object& patient,
                   json_object(member_or_null(body, "patient"), "patient"));
  ASSIGN_OR_RETURN(const auto reference, required_string(patient, "referenceNumber", "patient"));
  ASSIGN_OR_RETURN(const auto display, optional_string(patient, "display", "patient"));
  ASSIGN_OR_RETURN(const auto contexts, parse_care_contexts(member_or_null(patient, "careContexts"),
                                                            "patient.careContexts"));
  document.body["status"] = "FOUND";
  document.body["patient_reference"] = reference;
  document.body["display"] = display;
  document.body["care_contexts"] = care_contexts_to_json(contexts);
  if (const auto* matched = patient.if_contains("matchedBy"); matched && matched->is_array()) {
    document.body["matched_by"] = *matched;
  }
  return documents_.write(document, {});
}

Status PatientLinks::on_link_init(std::string_view hip_id, const json::object& body) {
  ASSIGN_OR_RETURN(const auto id, required_string(body, "transactionId", ""));
  ASSIGN_OR_RETURN(auto document, hip_discovery(hip_id, id));
  if (string_member(document.body, "status") != "LINKING") return {};
  if (const auto error = error_of(body); !error.empty()) {
    document.body["status"] = "FAILED";
    document.body["error"] = error;
    return documents_.write(document, {});
  }
  ASSIGN_OR_RETURN(const json::object& link, json_object(member_or_null(body, "link"), "link"));
  ASSIGN_OR_RETURN(const auto reference, required_string(link, "referenceNumber", "link"));
  std::string hint;
  if (const auto* meta = link.if_contains("meta"); meta != nullptr && meta->is_object()) {
    ASSIGN_OR_RETURN(hint, optional_string(meta->as_object(), "communicationHint", "link.meta"));
  }
  document.body["status"] = "AWAITING_CODE";
  document.body["link_ref"] = reference;
  document.body["code_hint"] = hint;
  document.body["error"] = "";
  return documents_.write(document, {});
}

Status PatientLinks::save_link(const vault::Document& discovery, const json::object& patient,
                               store::WriteBatch& batch) {
  const std::string hip_id = string_member(discovery.body, "hip_id");
  ASSIGN_OR_RETURN(const auto reference, required_string(patient, "referenceNumber", "patient"));
  ASSIGN_OR_RETURN(const auto display, optional_string(patient, "display", "patient"));
  ASSIGN_OR_RETURN(const auto contexts, parse_care_contexts(member_or_null(patient, "careContexts"),
                                                            "patient.careContexts"));
  const std::string id = fmt::format("{}.{}", discovery.partition, hip_id);
  ASSIGN_OR_RETURN(auto existing, documents_.read(kLinkedCareContextsType, id));
  vault::Document link =
      existing ? std::move(*existing)
               : vault::Document{
                     std::string(kLinkedCareContextsType), id, discovery.partition, 0, 0, {}};
  auto merged = contexts_of(link.body);
  for (const auto& context : contexts) {
    if (std::none_of(merged.begin(), merged.end(),
                     [&](const auto& held) { return held.reference == context.reference; })) {
      merged.push_back(context);
    }
  }
  const auto hip = registry_.facility(hip_id);
  link.body["hip_id"] = hip_id;
  link.body["hip_name"] = hip ? hip->name : hip_id;
  link.body["patient_reference"] = reference;
  link.body["display"] = display;
  link.body["care_contexts"] = care_contexts_to_json(merged);
  ASSIGN_OR_RETURN(auto write, documents_.prepare(link, {{"account", discovery.partition, true}}));
  batch.records.push_back(std::move(write));
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(clock_.now());
  entry.action = audit::Action::kAccountChange;
  entry.basis = audit::Basis::kConsent;
  entry.actor_kind = audit::ActorKind::kClient;
  entry.actor_id = hip_id;
  entry.facility_id = hip_id;
  entry.subject = discovery.partition;
  entry.resource_type = std::string(kLinkedCareContextsType);
  entry.resource_id = id;
  return audit::append_entry(batch, entry);
}

Status PatientLinks::on_link_confirm(std::string_view hip_id, const json::object& body) {
  ASSIGN_OR_RETURN(const json::object& resp, json_object(member_or_null(body, "resp"), "resp"));
  ASSIGN_OR_RETURN(const auto request_id, required_string(resp, "requestId", "resp"));
  ASSIGN_OR_RETURN(const auto ids,
                   documents_.find(kDiscoveryType, by_confirm_request(request_id), 1));
  if (ids.empty()) return make_error(ErrorCode::kNotFound, "no link confirmation has that request");
  ASSIGN_OR_RETURN(auto document, hip_discovery(hip_id, ids.front()));
  if (string_member(document.body, "status") != "CONFIRMING") return {};
  store::WriteBatch batch;
  if (const auto error = error_of(body); !error.empty()) {
    // A wrong code: the patient may try again with the code the HIP sent.
    document.body["status"] = "AWAITING_CODE";
    document.body["error"] = error;
  } else {
    ASSIGN_OR_RETURN(const json::object& patient,
                     json_object(member_or_null(body, "patient"), "patient"));
    RETURN_IF_ERROR(save_link(document, patient, batch));
    document.body["status"] = "LINKED";
    document.body["error"] = "";
  }
  ASSIGN_OR_RETURN(auto write, documents_.prepare(document, {}));
  batch.records.push_back(std::move(write));
  return commit(std::move(batch));
}

Status PatientLinks::context_notify(std::string_view hip_id, const json::object& body) {
  ASSIGN_OR_RETURN(const json::object& notification,
                   json_object(member_or_null(body, "notification"), "notification"));
  ASSIGN_OR_RETURN(const json::object& patient,
                   json_object(member_or_null(notification, "patient"), "notification.patient"));
  ASSIGN_OR_RETURN(const auto address, required_string(patient, "id", "notification.patient"));
  ASSIGN_OR_RETURN(
      const json::object& context,
      json_object(member_or_null(notification, "careContext"), "notification.careContext"));
  ASSIGN_OR_RETURN(const auto reference,
                   required_string(context, "patientReference", "notification.careContext"));
  ASSIGN_OR_RETURN(const auto visit,
                   required_string(context, "careContextReference", "notification.careContext"));
  ASSIGN_OR_RETURN(const auto account, accounts_.resolve(address));
  // Only a patient already linked at this HIP, under the same reference, gains the visit.
  const std::string id = fmt::format("{}.{}", account.id, hip_id);
  ASSIGN_OR_RETURN(const auto link, documents_.read(kLinkedCareContextsType, id));
  if (!link || string_member(link->body, "patient_reference") != reference) {
    // Not linked here through this CM: nothing to add, and nothing the HIP should send again.
    log::info("exchange.context_notify_ignored", {{"hip", std::string(hip_id)}});
    return {};
  }
  vault::Document discovery{std::string(kDiscoveryType),      "", account.id, 0, 0,
                            {{"hip_id", std::string(hip_id)}}};
  json::object linked{{"referenceNumber", reference},
                      {"display", string_member(link->body, "display")},
                      {"careContexts", json::array{json::object{{"referenceNumber", visit},
                                                                {"display", "New visit"}}}}};
  store::WriteBatch batch;
  RETURN_IF_ERROR(save_link(discovery, linked, batch));
  return commit(std::move(batch));
}

Status PatientLinks::propose(std::string_view hip_id, const json::object& body) {
  ASSIGN_OR_RETURN(const json::object& link, json_object(member_or_null(body, "link"), "link"));
  ASSIGN_OR_RETURN(const json::object& patient,
                   json_object(member_or_null(link, "patient"), "link.patient"));
  // ABDM names the patient by a link token from users/auth; Kavach's HIP names the ABHA address.
  ASSIGN_OR_RETURN(const auto address, required_string(patient, "id", "link.patient"));
  ASSIGN_OR_RETURN(const auto reference,
                   required_string(patient, "referenceNumber", "link.patient"));
  ASSIGN_OR_RETURN(const auto display, optional_string(patient, "display", "link.patient"));
  ASSIGN_OR_RETURN(const auto contexts, parse_care_contexts(member_or_null(patient, "careContexts"),
                                                            "link.patient.careContexts"));
  auto account = accounts_.resolve(address);
  if (!account) return make_error(ErrorCode::kNotFound, "no patient has that ABHA address");
  vault::Document document{
      std::string(kDiscoveryType), consent::random_uuid(), account->id, 0, 0, {}};
  document.body = {{"hip_id", std::string(hip_id)},
                   {"status", "PROPOSED"},
                   {"patient_reference", reference},
                   {"display", display},
                   {"care_contexts", care_contexts_to_json(contexts)},
                   {"created_at_ms", unix_ms(clock_.now())}};
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto write, documents_.prepare(document, {{"proposed_to", account->id, true}}));
  batch.records.push_back(std::move(write));
  ASSIGN_OR_RETURN(auto answer, consent::prepare_outbox_message(
                                    documents_, hip_id, kOnAddContextsPath,
                                    {{"acknowledgement", {{"status", "SUCCESS"}}},
                                     {"resp", {{"requestId", string_member(body, "requestId")}}}}));
  batch.records.push_back(std::move(answer));
  return commit(std::move(batch));
}

Result<std::vector<Discovery>> PatientLinks::proposals(const consent::PatientSession& caller,
                                                       std::string_view abha_number) {
  ASSIGN_OR_RETURN(const auto patient, accounts_.acting_for(caller, abha_number));
  ASSIGN_OR_RETURN(
      const auto documents,
      documents_.find_documents(kDiscoveryType, {"proposed_to", patient.id, true}, 100));
  std::vector<Discovery> out;
  for (const auto& document : documents) out.push_back(discovery_from(document));
  return out;
}

Result<Discovery> PatientLinks::accept(const consent::PatientSession& caller,
                                       std::string_view abha_number, std::string_view id) {
  ASSIGN_OR_RETURN(auto found, patient_discovery(caller, abha_number, id));
  auto& document = found.second;
  if (string_member(document.body, "status") != "PROPOSED") {
    return make_error(ErrorCode::kFailedPrecondition, "this is not a link proposal awaiting you");
  }
  const json::object linked{{"referenceNumber", string_member(document.body, "patient_reference")},
                            {"display", string_member(document.body, "display")},
                            {"careContexts", document.body.at("care_contexts")}};
  store::WriteBatch batch;
  RETURN_IF_ERROR(save_link(document, linked, batch));
  document.body["status"] = "LINKED";
  ASSIGN_OR_RETURN(auto write, documents_.prepare(document, {}));  // no longer a proposal
  batch.records.push_back(std::move(write));
  RETURN_IF_ERROR(commit(std::move(batch)));
  return discovery_from(document);
}

}  // namespace kavach::exchange
