#include "consent/consent_manager.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/log.h"
#include "common/time_format.h"
#include "consent/abha.h"
#include "consent/consent_policy.h"

namespace kavach::consent {
namespace {

namespace json = boost::json;

vault::DocumentIndexValue state_index(ConsentStatus status) {
  return {"state", std::string(consent_status_code(status)), true};
}

json::array string_array(const std::vector<std::string>& values) {
  json::array array;
  for (const auto& value : values) array.emplace_back(value);
  return array;
}

json::object request_body(const ConsentRequestRecord& r, std::string_view hiu_request_id) {
  json::object body{{"status", consent_status_code(r.status)},
                    {"terms", consent_terms_to_json(r.terms)},
                    {"abha_number", r.abha_number},
                    {"account_id", r.account_id},
                    {"hiu_request_id", hiu_request_id},
                    {"created_at_ms", r.created_at_ms},
                    {"expires_at_ms", r.expires_at_ms},
                    {"decided_at_ms", r.decided_at_ms},
                    {"artefact_ids", string_array(r.artefact_ids)}};
  if (r.granted) body["granted"] = consent_terms_to_json(*r.granted);
  if (!r.break_glass_reason.empty()) body["break_glass_reason"] = r.break_glass_reason;
  return body;
}

Result<ConsentRequestRecord> request_from(const vault::Document& d) {
  ConsentRequestRecord r;
  r.id = d.id;
  const auto status = parse_consent_status(d.body.at("status").as_string());
  if (!status) return make_error(ErrorCode::kDataLoss, "a stored consent request is malformed");
  r.status = *status;
  // Stored terms were checked when asked; parse them with no "future" bound.
  ASSIGN_OR_RETURN(r.terms, parse_consent_terms(d.body.at("terms").as_object(), INT64_MIN));
  if (const auto* granted = d.body.if_contains("granted")) {
    ASSIGN_OR_RETURN(r.granted, parse_consent_terms(granted->as_object(), INT64_MIN));
  }
  r.abha_number = std::string(d.body.at("abha_number").as_string());
  r.account_id = d.partition;
  r.created_at_ms = d.body.at("created_at_ms").to_number<std::int64_t>();
  r.expires_at_ms = d.body.at("expires_at_ms").to_number<std::int64_t>();
  r.decided_at_ms = d.body.at("decided_at_ms").to_number<std::int64_t>();
  for (const auto& id : d.body.at("artefact_ids").as_array())
    r.artefact_ids.emplace_back(id.as_string());
  if (const auto* reason = d.body.if_contains("break_glass_reason")) {
    r.break_glass_reason = std::string(reason->as_string());
  }
  return r;
}

std::vector<vault::DocumentIndexValue> request_index(const ConsentRequestRecord& r,
                                                     std::string_view hiu_request_id) {
  std::vector<vault::DocumentIndexValue> index{{"account", r.abha_number, false},
                                               state_index(r.status)};
  if (!hiu_request_id.empty()) {
    index.push_back({"hiu-request", fmt::format("{}|{}", r.terms.hiu_id, hiu_request_id), false});
  }
  if (r.terms.purpose == Purpose::kBreakTheGlass) {
    index.push_back({"break-glass-by",
                     fmt::format("{}|{}", r.terms.hiu_id, r.terms.requester.identifier_value),
                     false});
  }
  return index;
}

Result<ArtefactRecord> artefact_from(const vault::Document& d) {
  ArtefactRecord a;
  const auto status = parse_consent_status(d.body.at("status").as_string());
  if (!status) return make_error(ErrorCode::kDataLoss, "a stored artefact is malformed");
  const auto& wire = d.body.at("artefact").as_object();
  a.artefact.status = *status;
  a.artefact.detail_json = wire.at("consentDetail").as_object();
  a.artefact.signature = std::string(wire.at("signature").as_string());
  ASSIGN_OR_RETURN(a.artefact.detail, parse_consent_detail(wire.at("consentDetail")));
  a.request_id = std::string(d.body.at("request_id").as_string());
  a.abha_number = std::string(d.body.at("abha_number").as_string());
  a.account_id = d.partition;
  a.status_changed_at_ms = d.body.at("status_changed_at_ms").to_number<std::int64_t>();
  return a;
}

json::object hiu_notice(const ConsentRequestRecord& r) {
  json::array artefacts;
  for (const auto& id : r.artefact_ids) artefacts.emplace_back(json::object{{"id", id}});
  return {{"notification",
           {{"consentRequestId", r.id},
            {"status", consent_status_code(r.status)},
            {"consentArtefacts", std::move(artefacts)}}}};
}

json::object hip_notice(const SignedArtefact& artefact) {
  return {{"notification", signed_artefact_to_json(artefact)}};
}

// How the patient reads each HI type in a request's summary.
constexpr std::array<std::pair<HiType, std::string_view>, 8> kHiTypeWords{{
    {HiType::kOpConsultation, "outpatient consultation notes"},
    {HiType::kPrescription, "prescriptions"},
    {HiType::kDischargeSummary, "discharge summaries"},
    {HiType::kDiagnosticReport, "lab and imaging reports"},
    {HiType::kImmunizationRecord, "vaccination records"},
    {HiType::kHealthDocumentRecord, "health documents"},
    {HiType::kWellnessRecord, "wellness records (vitals and measurements)"},
    {HiType::kInvoice, "invoices"},
}};

std::string hi_types_in_words(const std::vector<HiType>& types) {
  std::string words;
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i > 0) words += i + 1 == types.size() ? " and " : ", ";
    for (const auto& [type, text] : kHiTypeWords)
      if (type == types[i]) words += text;
  }
  return words;
}

std::string day_of(std::int64_t ms) { return format_instant_ms(ms).substr(0, 10); }

}  // namespace

std::string describe_request(const ConsentRequestRecord& request, std::string_view hiu_name) {
  const ConsentTerms& t = request.terms;
  const auto& p = t.permission;
  const std::string mode = p.access_mode == AccessMode::kView    ? "view"
                           : p.access_mode == AccessMode::kStore ? "view and keep a copy of"
                                                                 : "query";
  return fmt::format(
      "{} of {} asks to {} your {}, dated {} to {}, for {}{}. Access would end on {}, and they "
      "could ask for them up to {} time{} every {} {}{}.",
      t.requester.name, hiu_name, mode, hi_types_in_words(t.hi_types), day_of(p.date_range.from_ms),
      day_of(p.date_range.to_ms), purpose_text(t.purpose),
      t.hip_id ? fmt::format(" from {}", *t.hip_id) : std::string(), day_of(p.data_erase_at_ms),
      p.frequency.repeats + 1, p.frequency.repeats == 0 ? "" : "s", p.frequency.value,
      [&] {
        std::string unit(frequency_unit_code(p.frequency.unit));
        std::transform(unit.begin(), unit.end(), unit.begin(),
                       [](char c) { return static_cast<char>(std::tolower(c)); });
        return unit;
      }(),
      p.frequency.value == 1 ? "" : "s");
}

Result<ArtefactSigner> consent_signer(vault::KeyVault& keys) {
  ASSIGN_OR_RETURN(const auto seed, keys.key(std::string(kConsentSigningKey)));
  return ArtefactSigner::from_seed(seed);
}

Status ConsentManager::commit(store::WriteBatch batch) {
  RETURN_IF_ERROR(documents_.store().commit(std::move(batch)));
  if (wake_outbox_) wake_outbox_();
  return {};
}

audit::AuditEntry ConsentManager::patient_entry(audit::Action action, const PatientSession& caller,
                                                const ConsentRequestRecord& request) const {
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(clock_.now());
  entry.action = action;
  entry.basis = audit::Basis::kConsent;
  entry.actor_kind = audit::ActorKind::kPatient;
  entry.actor_id = caller.account_id;
  entry.facility_id = request.terms.hiu_id;
  entry.subject = request.account_id;
  entry.resource_type = std::string(kConsentRequestType);
  entry.resource_id = request.id;
  entry.purpose = std::string(purpose_code(request.terms.purpose));
  entry.consent_id = request.id;
  return entry;
}

Result<std::vector<std::string>> parse_hip_ids(const boost::json::value& value) {
  const auto* array = value.if_array();
  if (array == nullptr || array->size() > kGrantHipsMax) {
    return make_error(ErrorCode::kInvalidArgument, "hips is a list of up to 20 HIP ids");
  }
  std::vector<std::string> ids;
  for (const auto& hip : *array) {
    if (!hip.is_string()) return make_error(ErrorCode::kInvalidArgument, "hips holds HIP ids");
    ids.emplace_back(hip.as_string());
  }
  return ids;
}

Result<FoundPatient> ConsentManager::find_patient(std::string_view hiu_id,
                                                  std::string_view health_id) {
  ASSIGN_OR_RETURN(const Facility hiu, registry_.participant(hiu_id, FacilityRole::kHiu));
  // Taken before the ID is resolved, so guesses that match nobody count too.
  if (!finds_per_hiu_.try_acquire(hiu.id)) {
    return make_error(
        ErrorCode::kResourceExhausted,
        fmt::format("facility {} has looked up too many health IDs; try again later", hiu.id));
  }
  ASSIGN_OR_RETURN(const Account patient, accounts_.resolve(health_id));
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(clock_.now());
  entry.action = audit::Action::kPatientFind;
  entry.basis = audit::Basis::kScope;
  entry.actor_kind = audit::ActorKind::kClient;
  entry.actor_id = hiu.id;
  entry.facility_id = hiu.id;
  entry.subject = patient.id;
  store::WriteBatch batch;
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  RETURN_IF_ERROR(commit(std::move(batch)));
  return FoundPatient{patient.address, patient.name};
}

Result<ConsentRequestRecord> ConsentManager::request(std::string_view hiu_id,
                                                     std::string_view request_id,
                                                     const ConsentTerms& terms) {
  ASSIGN_OR_RETURN(const Facility hiu, registry_.participant(hiu_id, FacilityRole::kHiu));
  if (terms.hiu_id != hiu.id) {
    return make_error(ErrorCode::kPermissionDenied,
                      fmt::format("facility {} may ask for consent only for itself", hiu.id));
  }
  if (terms.purpose == Purpose::kBreakTheGlass) {
    return make_error(ErrorCode::kInvalidArgument,
                      "break-the-glass access is not a consent request; use the emergency access "
                      "route with a reason");
  }
  if (terms.purpose == Purpose::kSelfRequested) {
    return make_error(ErrorCode::kInvalidArgument,
                      "only the patient makes a self-requested (PATRQT) consent");
  }
  ASSIGN_OR_RETURN(const Professional requester,
                   registry_.practising(hiu.id, terms.requester.identifier_value));
  if (terms.hip_id) RETURN_IF_ERROR(registry_.participant(*terms.hip_id, FacilityRole::kHip));
  if (!request_id.empty()) {
    ASSIGN_OR_RETURN(const auto earlier,
                     documents_.find_documents(
                         kConsentRequestType,
                         {"hiu-request", fmt::format("{}|{}", hiu.id, request_id), false}, 1));
    if (!earlier.empty()) return request_from(earlier.front());
  }
  ASSIGN_OR_RETURN(const Account patient, accounts_.resolve(terms.patient_id));
  if (patient.locked) {
    return make_error(ErrorCode::kPermissionDenied,
                      "the patient has locked their health ID: no new consent requests reach them");
  }
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(clock_.now());
  entry.action = audit::Action::kConsentRequest;
  entry.basis = audit::Basis::kScope;
  entry.actor_kind = audit::ActorKind::kProfessional;
  entry.actor_id = requester.id;
  entry.facility_id = hiu.id;
  entry.subject = patient.id;
  entry.purpose = std::string(purpose_code(terms.purpose));
  ASSIGN_OR_RETURN(auto created, create_request(terms, patient, request_id, entry, true));
  // The patient hears of it at once; the request stands even if the SMS fails.
  auto sent = notifier_.send(Notice{
      "sms", patient.mobile,
      fmt::format("Kavach: {} asks to see your health records. Open the Kavach app to review the "
                  "request.",
                  hiu.name)});
  if (!sent) log::warn("consent.request.notice_failed", {{"error", sent.error().message}});
  return created;
}

Result<ConsentRequestRecord> ConsentManager::create_request(
    const ConsentTerms& terms, const Account& patient, std::string_view hiu_request_id,
    const audit::AuditEntry& entry, bool notify_hiu, std::string_view break_glass_reason) {
  ConsentRequestRecord record;
  record.id = random_uuid();
  record.status = ConsentStatus::kRequested;
  record.terms = terms;
  record.break_glass_reason = std::string(break_glass_reason);
  record.abha_number = patient.abha_number;
  record.account_id = patient.id;
  record.created_at_ms = unix_ms(clock_.now());
  record.expires_at_ms = record.created_at_ms + limits_.request_lifetime.count();
  vault::Document document{std::string(kConsentRequestType),    record.id, patient.id, 0, 0,
                           request_body(record, hiu_request_id)};
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto write, documents_.prepare(document, request_index(record, hiu_request_id)));
  batch.records.push_back(std::move(write));
  audit::AuditEntry logged = entry;
  logged.resource_type = std::string(kConsentRequestType);
  logged.resource_id = record.id;
  logged.consent_id = record.id;
  RETURN_IF_ERROR(audit::append_entry(batch, logged));
  if (notify_hiu) {
    ASSIGN_OR_RETURN(auto on_init,
                     prepare_outbox_message(documents_, terms.hiu_id, kOnInitPath,
                                            {{"consentRequest", {{"id", record.id}}},
                                             {"resp", {{"requestId", hiu_request_id}}}}));
    batch.records.push_back(std::move(on_init));
  }
  RETURN_IF_ERROR(commit(std::move(batch)));
  return record;
}

Status ConsentManager::check_break_glass_budget(const Facility& hiu,
                                                const Professional& professional) {
  // Counted from the stored requests, so a restart does not reset anyone's budget.
  ASSIGN_OR_RETURN(
      const auto earlier,
      documents_.find_documents(
          kConsentRequestType,
          {"break-glass-by", fmt::format("{}|{}", hiu.id, professional.registration_value), false},
          kRequestsListedMax));
  const std::int64_t since_ms = unix_ms(clock_.now()) - kBreakGlassMs;
  std::size_t recent = 0;
  for (const auto& document : earlier) {
    if (document.body.at("created_at_ms").to_number<std::int64_t>() > since_ms) ++recent;
  }
  if (recent >= limits_.break_glass_per_day) {
    return make_error(ErrorCode::kResourceExhausted,
                      fmt::format("{} has opened emergency access {} times in the last 24 hours, "
                                  "the most allowed; ask the patient for consent",
                                  professional.name, recent));
  }
  return {};
}

void ConsentManager::tell_of_break_glass(const Account& patient, const Facility& hiu,
                                         const Professional& professional, std::int64_t until_ms) {
  const std::string text = fmt::format(
      "Kavach: EMERGENCY ACCESS. {} of {} opened the health records of ABHA {} without consent, "
      "until {} UTC. If this is wrong, open the Kavach app to end it and report it.",
      professional.name, hiu.name, mask_abha_number(patient.abha_number),
      format_instant_ms(until_ms).substr(0, 16));
  std::vector<std::string> numbers{patient.mobile};
  if (!patient.nominee.empty()) {
    if (auto nominee = accounts_.account(patient.nominee)) numbers.push_back(nominee->mobile);
  }
  for (const auto& number : numbers) {
    if (number.empty()) continue;
    auto sent = notifier_.send(Notice{"sms", number, text});
    if (!sent) log::error("consent.break_glass.notice_failed", {{"error", sent.error().message}});
  }
}

Result<ConsentRequestRecord> ConsentManager::break_glass(std::string_view hiu_id,
                                                         const BreakGlassRequest& request) {
  ASSIGN_OR_RETURN(const Facility hiu, registry_.participant(hiu_id, FacilityRole::kHiu));
  ASSIGN_OR_RETURN(const Professional professional,
                   registry_.practising(hiu.id, request.registration_value));
  ASSIGN_OR_RETURN(const Facility hip, registry_.participant(request.hip_id, FacilityRole::kHip));
  const auto& reason = request.reason;
  if (reason.size() < kBreakGlassReasonMin || reason.size() > kBreakGlassReasonMax ||
      std::any_of(reason.begin(), reason.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\n'; })) {
    return make_error(ErrorCode::kInvalidArgument,
                      "emergency access needs a written reason of 10 to 500 characters");
  }
  if (request.duration.count() < 1 || request.duration > limits_.break_glass_max) {
    return make_error(
        ErrorCode::kInvalidArgument,
        fmt::format("emergency access lasts 1 to {} minutes", limits_.break_glass_max.count()));
  }
  ASSIGN_OR_RETURN(const Account patient, accounts_.resolve(request.patient_id));
  RETURN_IF_ERROR(check_break_glass_budget(hiu, professional));

  const std::int64_t now_ms = unix_ms(clock_.now());
  ConsentTerms terms;
  terms.purpose = Purpose::kBreakTheGlass;
  terms.patient_id = patient.address;
  terms.hip_id = hip.id;
  terms.hiu_id = hiu.id;
  terms.requester = Requester{professional.name, professional.registration_type,
                              professional.registration_value, professional.registration_system};
  // Every clinical HI type (invoices are no help in an emergency).
  terms.hi_types.assign(std::begin(kClinicalHiTypes), std::end(kClinicalHiTypes));
  terms.permission.access_mode = AccessMode::kView;
  terms.permission.date_range = {0, now_ms};
  terms.permission.data_erase_at_ms =
      now_ms + std::chrono::duration_cast<std::chrono::milliseconds>(request.duration).count();
  terms.permission.frequency = Frequency{FrequencyUnit::kHour, 1, kFrequencyRepeatsMax};

  audit::AuditEntry entry;
  entry.time_ms = now_ms;
  entry.action = audit::Action::kBreakGlass;
  entry.basis = audit::Basis::kBreakGlass;
  entry.actor_kind = audit::ActorKind::kProfessional;
  entry.actor_id = professional.id;
  entry.facility_id = hiu.id;
  entry.subject = patient.id;
  entry.purpose = std::string(purpose_code(Purpose::kBreakTheGlass));
  ASSIGN_OR_RETURN(const auto created, create_request(terms, patient, "", entry, false, reason));
  ASSIGN_OR_RETURN(auto document, documents_.read(kConsentRequestType, created.id));
  if (!document) return make_error(ErrorCode::kInternal, "the emergency request vanished");
  audit::AuditEntry grant_entry = entry;
  grant_entry.action = audit::Action::kConsentGrant;
  grant_entry.resource_type = std::string(kConsentRequestType);
  grant_entry.resource_id = created.id;
  grant_entry.consent_id = created.id;
  ASSIGN_OR_RETURN(auto granted, grant_terms(*document, terms, {hip}, grant_entry));
  tell_of_break_glass(patient, hiu, professional, terms.permission.data_erase_at_ms);
  return granted;
}

Result<ConsentRequestRecord> ConsentManager::request_status(std::string_view hiu_id,
                                                            std::string_view id) {
  ASSIGN_OR_RETURN(const auto document, documents_.read(kConsentRequestType, id));
  if (!document) return make_error(ErrorCode::kNotFound, "no consent request has that id");
  ASSIGN_OR_RETURN(auto record, request_from(*document));
  if (record.terms.hiu_id != hiu_id) {
    return make_error(ErrorCode::kNotFound, "no consent request has that id");
  }
  return record;
}

Result<ArtefactRecord> ConsentManager::fetch(std::string_view hiu_id, std::string_view consent_id) {
  ASSIGN_OR_RETURN(const auto document, documents_.read(kConsentArtefactType, consent_id));
  if (!document) return make_error(ErrorCode::kNotFound, "no consent artefact has that id");
  ASSIGN_OR_RETURN(auto record, artefact_from(*document));
  if (record.artefact.detail.hiu_id != hiu_id) {
    return make_error(ErrorCode::kNotFound, "no consent artefact has that id");
  }
  audit::AuditEntry entry;
  entry.time_ms = unix_ms(clock_.now());
  entry.action = audit::Action::kConsentFetch;
  entry.basis = audit::Basis::kConsent;
  entry.actor_kind = audit::ActorKind::kClient;
  entry.actor_id = std::string(hiu_id);
  entry.facility_id = std::string(hiu_id);
  entry.subject = record.account_id;
  entry.resource_type = std::string(kConsentArtefactType);
  entry.resource_id = std::string(consent_id);
  entry.consent_id = std::string(consent_id);
  RETURN_IF_ERROR(audit::record_entries(documents_.store(), std::span(&entry, 1)));
  return record;
}

Result<std::vector<vault::Document>> ConsentManager::patient_documents(const PatientSession& caller,
                                                                       std::string_view abha_number,
                                                                       std::string_view type) {
  ASSIGN_OR_RETURN(const Account subject, accounts_.acting_for(caller, abha_number));
  return documents_.find_documents(type, {"account", subject.abha_number, false},
                                   kRequestsListedMax);
}

Result<std::vector<ConsentRequestRecord>> ConsentManager::requests(const PatientSession& caller,
                                                                   std::string_view abha_number) {
  ASSIGN_OR_RETURN(const auto documents,
                   patient_documents(caller, abha_number, kConsentRequestType));
  std::vector<ConsentRequestRecord> out;
  const std::int64_t now_ms = unix_ms(clock_.now());
  for (const auto& document : documents) {
    ASSIGN_OR_RETURN(auto record, request_from(document));
    // The sweeper may not have reached it yet; the patient sees the truth.
    if (record.status == ConsentStatus::kRequested && now_ms >= record.expires_at_ms) {
      record.status = ConsentStatus::kExpired;
    }
    out.push_back(std::move(record));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.created_at_ms > b.created_at_ms; });
  return out;
}

Result<std::pair<vault::Document, ConsentRequestRecord>> ConsentManager::patient_request(
    const PatientSession& caller, std::string_view abha_number, std::string_view request_id) {
  ASSIGN_OR_RETURN(const Account subject, accounts_.acting_for(caller, abha_number));
  ASSIGN_OR_RETURN(auto document, documents_.read(kConsentRequestType, request_id));
  if (!document) return make_error(ErrorCode::kNotFound, "no consent request has that id");
  ASSIGN_OR_RETURN(auto record, request_from(*document));
  if (record.abha_number != subject.abha_number) {
    return make_error(ErrorCode::kNotFound, "no consent request has that id");
  }
  return std::pair{std::move(*document), std::move(record)};
}

Result<ConsentRequestRecord> ConsentManager::grant(const PatientSession& caller,
                                                   std::string_view abha_number,
                                                   std::string_view request_id,
                                                   const GrantChoice& choice) {
  ASSIGN_OR_RETURN(auto found, patient_request(caller, abha_number, request_id));
  auto& [document, record] = found;
  const std::int64_t now_ms = unix_ms(clock_.now());
  if (record.status != ConsentStatus::kRequested) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("the request is already {}", consent_status_code(record.status)));
  }
  if (now_ms >= record.expires_at_ms) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "the request expired before it was answered; the facility must ask again");
  }
  ConsentTerms granted = record.terms;
  if (!choice.hi_types.empty()) granted.hi_types = choice.hi_types;
  if (choice.date_range) granted.permission.date_range = *choice.date_range;
  if (choice.data_erase_at_ms) granted.permission.data_erase_at_ms = *choice.data_erase_at_ms;
  if (choice.frequency) granted.permission.frequency = *choice.frequency;
  if (choice.care_contexts) granted.care_contexts = *choice.care_contexts;
  std::string why;
  if (!within(granted, record.terms, &why)) {
    return make_error(ErrorCode::kUnprocessable,
                      "a grant may narrow a request, never widen it: " + why);
  }
  if (granted.permission.data_erase_at_ms <= now_ms) {
    return make_error(ErrorCode::kUnprocessable, "the grant must last into the future");
  }
  std::vector<std::string> hip_ids = choice.hip_ids;
  if (record.terms.hip_id) {
    if (!hip_ids.empty() && (hip_ids.size() != 1 || hip_ids.front() != *record.terms.hip_id)) {
      return make_error(ErrorCode::kUnprocessable,
                        "the request names one HIP; a grant cannot add others");
    }
    hip_ids = {*record.terms.hip_id};
  }
  std::sort(hip_ids.begin(), hip_ids.end());
  hip_ids.erase(std::unique(hip_ids.begin(), hip_ids.end()), hip_ids.end());
  if (hip_ids.empty() || hip_ids.size() > kGrantHipsMax) {
    return make_error(ErrorCode::kInvalidArgument, "choose 1 to 20 providers (HIPs) to share from");
  }
  std::vector<Facility> hips;
  for (const auto& hip_id : hip_ids) {
    ASSIGN_OR_RETURN(auto hip, registry_.participant(hip_id, FacilityRole::kHip));
    hips.push_back(std::move(hip));
  }
  return grant_terms(document, granted, hips,
                     patient_entry(audit::Action::kConsentGrant, caller, record));
}

Result<ConsentRequestRecord> ConsentManager::grant_terms(vault::Document& document,
                                                         const ConsentTerms& granted,
                                                         const std::vector<Facility>& hips,
                                                         audit::AuditEntry entry) {
  ASSIGN_OR_RETURN(auto record, request_from(document));
  ASSIGN_OR_RETURN(const Account patient, accounts_.account(record.abha_number));
  const std::int64_t now_ms = unix_ms(clock_.now());
  store::WriteBatch batch;
  for (const auto& hip : hips) {
    ConsentDetail detail;
    detail.consent_id = random_uuid();
    detail.created_at_ms = now_ms;
    detail.patient_id = patient.address;
    if (granted.hip_id && *granted.hip_id == hip.id) detail.care_contexts = granted.care_contexts;
    detail.purpose = granted.purpose;
    detail.hip_id = hip.id;
    detail.hip_name = hip.name;
    detail.hiu_id = granted.hiu_id;
    detail.requester = granted.requester;
    detail.consent_manager_id = cm_id_;
    detail.hi_types = granted.hi_types;
    detail.permission = granted.permission;
    ASSIGN_OR_RETURN(const SignedArtefact artefact, signer_.sign(ConsentStatus::kGranted, detail));
    vault::Document artefact_doc{std::string(kConsentArtefactType),
                                 detail.consent_id,
                                 document.partition,
                                 0,
                                 0,
                                 json::object{{"status", "GRANTED"},
                                              {"request_id", record.id},
                                              {"abha_number", record.abha_number},
                                              {"status_changed_at_ms", now_ms},
                                              {"artefact", signed_artefact_to_json(artefact)}}};
    ASSIGN_OR_RETURN(auto write,
                     documents_.prepare(artefact_doc, {{"account", record.abha_number, false},
                                                       state_index(ConsentStatus::kGranted)}));
    batch.records.push_back(std::move(write));
    ASSIGN_OR_RETURN(auto notice, prepare_outbox_message(documents_, hip.id, kHipNotifyPath,
                                                         hip_notice(artefact)));
    batch.records.push_back(std::move(notice));
    record.artefact_ids.push_back(detail.consent_id);
  }
  record.status = ConsentStatus::kGranted;
  record.granted = granted;
  record.decided_at_ms = now_ms;
  RETURN_IF_ERROR(commit_decision(document, record, std::move(batch), entry));
  return record;
}

Status ConsentManager::commit_decision(vault::Document& document,
                                       const ConsentRequestRecord& record, store::WriteBatch batch,
                                       const audit::AuditEntry& entry) {
  // The CM's own self-requests have no HIU to tell.
  if (record.terms.hiu_id != cm_id_) {
    ASSIGN_OR_RETURN(auto notice, prepare_outbox_message(documents_, record.terms.hiu_id,
                                                         kHiuNotifyPath, hiu_notice(record)));
    batch.records.push_back(std::move(notice));
  }
  const std::string hiu_request_id(document.body.at("hiu_request_id").as_string());
  document.body = request_body(record, hiu_request_id);
  ASSIGN_OR_RETURN(auto write, documents_.prepare(document, request_index(record, hiu_request_id)));
  batch.records.push_back(std::move(write));
  RETURN_IF_ERROR(audit::append_entry(batch, entry));
  auto committed = commit(std::move(batch));
  if (!committed && committed.error().code == ErrorCode::kConflict) {
    return make_error(ErrorCode::kConflict,
                      "the consent was changed at the same time; reload it and try again");
  }
  return committed;
}

Result<ConsentRequestRecord> ConsentManager::deny(const PatientSession& caller,
                                                  std::string_view abha_number,
                                                  std::string_view request_id) {
  ASSIGN_OR_RETURN(auto found, patient_request(caller, abha_number, request_id));
  auto& [document, record] = found;
  if (record.status != ConsentStatus::kRequested) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("the request is already {}", consent_status_code(record.status)));
  }
  return close(document, ConsentStatus::kDenied, ConsentStatus::kDenied,
               patient_entry(audit::Action::kConsentDeny, caller, record));
}

Result<ConsentRequestRecord> ConsentManager::revoke(const PatientSession& caller,
                                                    std::string_view abha_number,
                                                    std::string_view request_id) {
  ASSIGN_OR_RETURN(auto found, patient_request(caller, abha_number, request_id));
  auto& [document, record] = found;
  if (record.status != ConsentStatus::kGranted) {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("only a granted consent can be revoked; this one is {}",
                                  consent_status_code(record.status)));
  }
  return close(document, ConsentStatus::kRevoked, ConsentStatus::kRevoked,
               patient_entry(audit::Action::kConsentRevoke, caller, record));
}

Result<ConsentRequestRecord> ConsentManager::close(vault::Document& document,
                                                   ConsentStatus request_status,
                                                   ConsentStatus artefact_status,
                                                   audit::AuditEntry entry) {
  ASSIGN_OR_RETURN(auto record, request_from(document));
  const std::int64_t now_ms = unix_ms(clock_.now());
  store::WriteBatch batch;
  for (const auto& artefact_id : record.artefact_ids) {
    ASSIGN_OR_RETURN(auto artefact_doc, documents_.read(kConsentArtefactType, artefact_id));
    if (!artefact_doc) return make_error(ErrorCode::kDataLoss, "a granted artefact is missing");
    ASSIGN_OR_RETURN(auto artefact, artefact_from(*artefact_doc));
    if (artefact.artefact.status != ConsentStatus::kGranted) continue;
    artefact.artefact.status = artefact_status;
    artefact_doc->body["status"] = consent_status_code(artefact_status);
    artefact_doc->body["status_changed_at_ms"] = now_ms;
    ASSIGN_OR_RETURN(auto write,
                     documents_.prepare(*artefact_doc, {{"account", record.abha_number, false},
                                                        state_index(artefact_status)}));
    batch.records.push_back(std::move(write));
    ASSIGN_OR_RETURN(auto notice,
                     prepare_outbox_message(documents_, artefact.artefact.detail.hip_id,
                                            kHipNotifyPath, hip_notice(artefact.artefact)));
    batch.records.push_back(std::move(notice));
  }
  record.status = request_status;
  record.decided_at_ms = now_ms;
  RETURN_IF_ERROR(commit_decision(document, record, std::move(batch), entry));
  return record;
}

Result<ConsentRequestRecord> ConsentManager::self_request(const PatientSession& caller,
                                                          std::string_view abha_number,
                                                          const SelfRequest& request) {
  ASSIGN_OR_RETURN(const Account patient, accounts_.acting_for(caller, abha_number));
  ConsentTerms terms;
  terms.purpose = Purpose::kSelfRequested;
  terms.patient_id = patient.address;
  terms.hiu_id = cm_id_;
  terms.requester = Requester{patient.name, "ABHA", patient.abha_number, ""};
  terms.hi_types = request.hi_types;
  terms.permission.access_mode = AccessMode::kView;
  terms.permission.date_range = request.date_range;
  terms.permission.data_erase_at_ms = request.data_erase_at_ms;
  terms.permission.frequency = Frequency{FrequencyUnit::kHour, 1, 0};
  if (terms.hi_types.empty() || request.hip_ids.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "choose at least one record type and provider");
  }
  if (request.date_range.from_ms > request.date_range.to_ms) {
    return make_error(ErrorCode::kInvalidArgument, "the date range's start is after its end");
  }
  if (request.data_erase_at_ms <= unix_ms(clock_.now())) {
    return make_error(ErrorCode::kInvalidArgument, "the access must last into the future");
  }
  std::vector<Facility> hips;
  for (const auto& hip_id : request.hip_ids) {
    ASSIGN_OR_RETURN(auto hip, registry_.participant(hip_id, FacilityRole::kHip));
    hips.push_back(std::move(hip));
  }
  ConsentRequestRecord shell;
  shell.terms = terms;
  shell.abha_number = patient.abha_number;
  shell.account_id = patient.id;
  auto entry = patient_entry(audit::Action::kConsentRequest, caller, shell);
  ASSIGN_OR_RETURN(const auto created, create_request(terms, patient, "", entry, false));
  ASSIGN_OR_RETURN(auto document, documents_.read(kConsentRequestType, created.id));
  if (!document) return make_error(ErrorCode::kInternal, "the self-request vanished");
  shell.id = created.id;
  return grant_terms(*document, terms, hips,
                     patient_entry(audit::Action::kConsentGrant, caller, shell));
}

Result<std::vector<ArtefactRecord>> ConsentManager::artefacts(const PatientSession& caller,
                                                              std::string_view abha_number) {
  ASSIGN_OR_RETURN(const auto documents,
                   patient_documents(caller, abha_number, kConsentArtefactType));
  std::vector<ArtefactRecord> out;
  for (const auto& document : documents) {
    ASSIGN_OR_RETURN(auto record, artefact_from(document));
    out.push_back(std::move(record));
  }
  return out;
}

Status ConsentManager::call_back(std::string_view hiu_id, std::string_view path,
                                 boost::json::object body) {
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto message, prepare_outbox_message(documents_, hiu_id, path, std::move(body)));
  batch.records.push_back(std::move(message));
  return commit(std::move(batch));
}

Result<ArtefactRecord> ConsentManager::artefact(std::string_view consent_id) {
  ASSIGN_OR_RETURN(const auto document, documents_.read(kConsentArtefactType, consent_id));
  if (!document) return make_error(ErrorCode::kNotFound, "no consent artefact has that id");
  ASSIGN_OR_RETURN(auto record, artefact_from(*document));
  if (record.artefact.status == ConsentStatus::kGranted &&
      unix_ms(clock_.now()) >= record.artefact.detail.permission.data_erase_at_ms) {
    record.artefact.status = ConsentStatus::kExpired;
  }
  return record;
}

Result<ConsentStatus> ConsentManager::current_status(std::string_view consent_id) {
  ASSIGN_OR_RETURN(const auto record, artefact(consent_id));
  return record.artefact.status;
}

Result<std::size_t> ConsentManager::sweep() {
  std::lock_guard lock(sweep_mutex_);
  const std::int64_t now_ms = unix_ms(clock_.now());
  std::size_t changed = 0;
  audit::AuditEntry entry;
  entry.action = audit::Action::kConsentExpire;
  entry.basis = audit::Basis::kConsent;
  entry.actor_kind = audit::ActorKind::kNode;
  entry.actor_id = cm_id_;
  ASSIGN_OR_RETURN(auto pending, documents_.find_documents(kConsentRequestType,
                                                           state_index(ConsentStatus::kRequested),
                                                           limits_.sweep_batch, request_cursor_));
  request_cursor_ = pending.size() < limits_.sweep_batch ? "" : pending.back().id;
  for (auto& document : pending) {
    ASSIGN_OR_RETURN(const auto record, request_from(document));
    if (now_ms < record.expires_at_ms) continue;
    entry.time_ms = now_ms;
    entry.subject = record.account_id;
    entry.facility_id = record.terms.hiu_id;
    entry.resource_type = std::string(kConsentRequestType);
    entry.resource_id = record.id;
    entry.consent_id = record.id;
    auto closed = close(document, ConsentStatus::kExpired, ConsentStatus::kExpired, entry);
    if (closed) ++changed;
  }
  ASSIGN_OR_RETURN(
      const auto granted,
      documents_.find_documents(kConsentArtefactType, state_index(ConsentStatus::kGranted),
                                limits_.sweep_batch, artefact_cursor_));
  artefact_cursor_ = granted.size() < limits_.sweep_batch ? "" : granted.back().id;
  for (const auto& artefact_doc : granted) {
    ASSIGN_OR_RETURN(const auto artefact, artefact_from(artefact_doc));
    if (now_ms < artefact.artefact.detail.permission.data_erase_at_ms) continue;
    ASSIGN_OR_RETURN(auto request_doc, documents_.read(kConsentRequestType, artefact.request_id));
    if (!request_doc) continue;
    ASSIGN_OR_RETURN(const auto record, request_from(*request_doc));
    if (record.status != ConsentStatus::kGranted) continue;
    entry.time_ms = now_ms;
    entry.subject = record.account_id;
    entry.facility_id = record.terms.hiu_id;
    entry.resource_type = std::string(kConsentRequestType);
    entry.resource_id = record.id;
    entry.consent_id = record.id;
    auto closed = close(*request_doc, ConsentStatus::kExpired, ConsentStatus::kExpired, entry);
    if (closed) ++changed;
  }
  return changed;
}

}  // namespace kavach::consent
