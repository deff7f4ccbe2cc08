#include "exchange/hip_links.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/log.h"
#include "common/time_format.h"
#include "consent/abha.h"
#include "consent/consent_outbox.h"
#include "consent/consent_record_gate.h"
#include "consent/json_fields.h"
#include "consent/patient_accounts.h"
#include "consent/record_classification.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;
using consent::json_object;
using consent::member_or_null;
using consent::optional_string;
using consent::required_string;
using consent::string_member;

constexpr std::size_t kCandidatesMax = 20;
// ABDM's error codes for discovery and linking answers.
constexpr int kNoMatch = 1000;
constexpr int kManyMatches = 1001;
constexpr int kLinkRefused = 1002;

std::string digits_of(std::string_view value) {
  std::string digits;
  for (const char c : value) {
    if (std::isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  return digits;
}

// A spelling key for Indian names written in Latin letters, where one name has many spellings
// (Meera, Mira; Shubham, Subham; Vijay, Wijay): long vowels and doubled letters fold, an
// aspirating 'h' after a consonant drops, w becomes v, z becomes j.
std::string sound_key(std::string_view token) {
  std::string folded;
  for (std::size_t i = 0; i < token.size(); ++i) {
    char c = token[i];
    if (c == 'w') c = 'v';
    if (c == 'z') c = 'j';
    if (c == 'h' && !folded.empty() &&
        std::string_view("aeiou").find(folded.back()) == std::string_view::npos) {
      continue;
    }
    if (c == 'e' && i + 1 < token.size() && token[i + 1] == 'e') {  // ee -> i
      folded.push_back('i');
      ++i;
      continue;
    }
    if (c == 'o' && i + 1 < token.size() && token[i + 1] == 'o') {  // oo -> u
      folded.push_back('u');
      ++i;
      continue;
    }
    if (!folded.empty() && folded.back() == c) continue;  // aa -> a, nn -> n
    folded.push_back(c);
  }
  return folded;
}

std::vector<std::string> name_tokens(std::string_view name) {
  std::vector<std::string> tokens;
  std::string current;
  for (const char c : name) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      current.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!current.empty()) {
      tokens.push_back(sound_key(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(sound_key(current));
  return tokens;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// A name as the Patient gives it: the first name's text, or its given and family parts.
std::string display_name(const json::object& patient) {
  const auto* names = patient.if_contains("name");
  if (names == nullptr || !names->is_array() || names->as_array().empty() ||
      !names->as_array()[0].is_object()) {
    return "";
  }
  const auto& name = names->as_array()[0].as_object();
  if (auto written = string_member(name, "text"); !written.empty()) return written;
  std::string out;
  if (const auto* given = name.if_contains("given"); given && given->is_array()) {
    for (const auto& part : given->as_array()) {
      if (part.is_string()) out += std::string(part.as_string()) + " ";
    }
  }
  return out + string_member(name, "family");
}

std::string gender_code(std::string_view fhir_gender) {
  if (fhir_gender == "male") return "M";
  if (fhir_gender == "female") return "F";
  if (fhir_gender == "other") return "O";
  return "U";
}

std::string mobile_of(const json::object& patient) {
  const auto* telecoms = patient.if_contains("telecom");
  if (telecoms == nullptr || !telecoms->is_array()) return "";
  for (const auto& telecom : telecoms->as_array()) {
    if (!telecom.is_object() || string_member(telecom.as_object(), "system") != "phone") continue;
    auto mobile = consent::parse_mobile(string_member(telecom.as_object(), "value"));
    if (mobile) return *mobile;
  }
  return "";
}

json::object error_answer(int code, std::string_view message) {
  return {{"code", code}, {"message", message}};
}

auth::AccessToken node_caller() {
  // The HIP looking up its own patients for the CM, and writing the link it confirmed.
  return auth::AccessToken{"node:links",
                           *auth::ScopeSet::parse("system/Patient.rus system/Encounter.rs"), 0};
}

constexpr std::string_view kLinkCursorType = "_HipContextNotifyCursor";

// The patient's ABHA address on their record, "" for a patient never linked.
std::string abha_address_of(const json::object& patient) {
  const auto* identifiers = patient.if_contains("identifier");
  if (identifiers == nullptr || !identifiers->is_array()) return "";
  for (const auto& identifier : identifiers->as_array()) {
    if (identifier.is_object() &&
        string_member(identifier.as_object(), "system") == consent::kAbhaAddressSystem) {
      return string_member(identifier.as_object(), "value");
    }
  }
  return "";
}

}  // namespace

Result<PatientQuery> parse_patient_query(const json::object& patient) {
  PatientQuery query;
  ASSIGN_OR_RETURN(query.abha_address, required_string(patient, "id", "patient"));
  ASSIGN_OR_RETURN(query.name, required_string(patient, "name", "patient"));
  ASSIGN_OR_RETURN(query.gender, required_string(patient, "gender", "patient"));
  if (query.gender != "M" && query.gender != "F" && query.gender != "O" && query.gender != "U") {
    return make_error(ErrorCode::kInvalidArgument, "patient.gender must be M, F, O or U");
  }
  ASSIGN_OR_RETURN(const auto year,
                   consent::required_integer(patient, "yearOfBirth", "patient", 1900, 2200));
  query.year_of_birth = static_cast<int>(year);
  if (const auto* identifiers = patient.if_contains("verifiedIdentifiers");
      identifiers != nullptr && identifiers->is_array()) {
    for (const auto& item : identifiers->as_array()) {
      ASSIGN_OR_RETURN(const json::object& identifier,
                       json_object(item, "patient.verifiedIdentifiers[]"));
      const auto type = string_member(identifier, "type");
      const auto value = string_member(identifier, "value");
      if (type == "MOBILE") {
        if (auto mobile = consent::parse_mobile(value)) query.mobile = *mobile;
      } else if (type == "NDHM_HEALTH_NUMBER") {
        query.abha_number = digits_of(value);
      } else if (type == "HEALTH_ID" && !value.empty()) {
        query.abha_address = value;
      }
    }
  }
  return query;
}

bool demographics_match(const PatientQuery& query, const json::object& patient) {
  if (query.gender != "U" && gender_code(string_member(patient, "gender")) != query.gender)
    return false;
  const auto birth = string_member(patient, "birthDate");
  if (birth.size() < 4 || query.year_of_birth <= 0) return false;
  const int year = std::atoi(birth.substr(0, 4).c_str());
  if (std::abs(year - query.year_of_birth) > 2) return false;
  auto asked = name_tokens(query.name);
  auto held = name_tokens(display_name(patient));
  if (asked.empty() || held.empty()) return false;
  if (asked.size() > held.size()) std::swap(asked, held);
  // Every part of the shorter name sounds like a part of the other, up to a typo.
  return std::all_of(asked.begin(), asked.end(), [&](const std::string& part) {
    const std::size_t allowed = part.size() >= 7 ? 2 : part.size() >= 4 ? 1 : 0;
    return std::any_of(held.begin(), held.end(), [&](const std::string& other) {
      return edit_distance(part, other) <= allowed;
    });
  });
}

Status HipLinks::answer(std::string_view path, json::object body) {
  store::WriteBatch batch;
  ASSIGN_OR_RETURN(auto message,
                   consent::prepare_outbox_message(documents_, cm_id_, path, std::move(body)));
  batch.records.push_back(std::move(message));
  RETURN_IF_ERROR(documents_.store().commit(std::move(batch)));
  if (wake_outbox_) wake_outbox_();
  return {};
}

Result<std::vector<std::pair<std::string, std::string>>> HipLinks::candidates(
    const PatientQuery& query) {
  std::vector<std::pair<std::string, std::string>> searches;  // (parameter=value, matched by)
  if (!query.abha_address.empty()) {
    searches.push_back(
        {fmt::format("{}|{}", consent::kAbhaAddressSystem, query.abha_address), "HEALTH_ID"});
  }
  if (!query.abha_number.empty()) {
    searches.push_back({fmt::format("{}|{}", consent::kAbhaNumberSystem, query.abha_number),
                        "NDHM_HEALTH_NUMBER"});
    searches.push_back({fmt::format("{}|{}", consent::kAbhaNumberSystem,
                                    consent::format_abha_number(query.abha_number)),
                        "NDHM_HEALTH_NUMBER"});
  }
  std::vector<std::pair<std::string, std::string>> found;  // (patient id, matched by)
  const auto caller = node_caller();
  const auto run = [&](const std::string& parameter, const std::string& value,
                       const std::string& by) -> Status {
    ASSIGN_OR_RETURN(
        const auto page,
        resources_.search(caller, {"Patient", {{parameter, value}}, kCandidatesMax, ""}));
    for (const auto& resource : page.resources) found.emplace_back(resource.id, by);
    return {};
  };
  for (const auto& [value, by] : searches) RETURN_IF_ERROR(run("identifier", value, by));
  if (!query.mobile.empty()) RETURN_IF_ERROR(run("phone", query.mobile, "MOBILE"));
  return found;
}

Result<std::vector<CareContextEntry>> HipLinks::visits_of(const std::string& patient_id) {
  std::vector<CareContextEntry> visits;
  std::string after;
  const auto caller = node_caller();
  do {
    ASSIGN_OR_RETURN(
        const auto page,
        resources_.search(caller,
                          {"Encounter", {{"patient", "Patient/" + patient_id}}, 100, after}));
    for (const auto& resource : page.resources) {
      const auto encounter = json::parse(resource.json).as_object();
      std::string kind = "Visit";
      if (const auto* type = encounter.if_contains("class"); type && type->is_object()) {
        const auto code = string_member(type->as_object(), "code");
        kind = code == "IMP"    ? "Inpatient stay"
               : code == "EMER" ? "Emergency visit"
               : code == "AMB"  ? "Outpatient visit"
                                : "Visit";
      }
      std::string when;
      if (const auto* period = encounter.if_contains("period"); period && period->is_object()) {
        when = string_member(period->as_object(), "start").substr(0, 10);
      }
      visits.push_back({resource.id, when.empty() ? kind : fmt::format("{} on {}", kind, when)});
      if (visits.size() >= kCareContextsMax) return visits;
    }
    after = page.next_after_id;
  } while (!after.empty());
  return visits;
}

Status HipLinks::discover(const json::object& body, std::string_view signature) {
  RETURN_IF_ERROR(consents_.verify_message(body, signature));
  ASSIGN_OR_RETURN(const auto transaction_id, required_string(body, "transactionId", ""));
  ASSIGN_OR_RETURN(const json::object& patient,
                   json_object(member_or_null(body, "patient"), "patient"));
  ASSIGN_OR_RETURN(const auto query, parse_patient_query(patient));
  ASSIGN_OR_RETURN(const auto found, candidates(query));
  std::map<std::string, std::set<std::string>> matched;  // patient id -> identifiers
  for (const auto& [id, by] : found) matched[id].insert(by);
  std::vector<std::pair<std::string, json::object>> matches;
  for (const auto& [id, by] : matched) {
    auto read = resources_.read(node_caller(), "Patient", id);
    if (!read) continue;
    auto resource = json::parse(read->json).as_object();
    if (demographics_match(query, resource)) matches.emplace_back(id, std::move(resource));
  }
  json::object reply{{"transactionId", transaction_id},
                     {"resp", {{"requestId", string_member(body, "requestId")}}}};
  if (matches.size() != 1) {
    reply["error"] = matches.empty()
                         ? error_answer(kNoMatch, "no patient here matches the details given")
                         : error_answer(kManyMatches,
                                        "more than one patient here matches; please visit the "
                                        "hospital to link your records");
    return answer(kOnDiscoverPath, std::move(reply));
  }
  const auto& [id, resource] = matches.front();
  ASSIGN_OR_RETURN(const auto visits, visits_of(id));
  json::array matched_by;
  for (const auto& by : matched[id]) matched_by.emplace_back(by);
  reply["patient"] = {{"referenceNumber", id},
                      {"display", display_name(resource)},
                      {"careContexts", care_contexts_to_json(visits)},
                      {"matchedBy", std::move(matched_by)}};
  return answer(kOnDiscoverPath, std::move(reply));
}

Status HipLinks::link_init(const json::object& body, std::string_view signature) {
  RETURN_IF_ERROR(consents_.verify_message(body, signature));
  ASSIGN_OR_RETURN(const auto transaction_id, required_string(body, "transactionId", ""));
  ASSIGN_OR_RETURN(const json::object& patient,
                   json_object(member_or_null(body, "patient"), "patient"));
  ASSIGN_OR_RETURN(const auto address, required_string(patient, "id", "patient"));
  ASSIGN_OR_RETURN(const auto reference, required_string(patient, "referenceNumber", "patient"));
  ASSIGN_OR_RETURN(const auto chosen, parse_care_contexts(member_or_null(patient, "careContexts"),
                                                          "patient.careContexts"));
  json::object reply{{"transactionId", transaction_id},
                     {"resp", {{"requestId", string_member(body, "requestId")}}}};
  const auto refuse = [&](std::string_view why) {
    reply["error"] = error_answer(kLinkRefused, why);
    return answer(kOnLinkInitPath, std::move(reply));
  };
  auto record = resources_.read(node_caller(), "Patient", reference);
  if (!record) return refuse("no such patient here");
  const auto resource = json::parse(record->json).as_object();
  const auto visits = visits_of(reference);
  if (!visits) return tl::unexpected(visits.error());
  json::array contexts;
  for (const auto& context : chosen) {
    if (std::none_of(visits->begin(), visits->end(),
                     [&](const auto& visit) { return visit.reference == context.reference; })) {
      return refuse(fmt::format("care context {} is not this patient's", context.reference));
    }
    contexts.emplace_back(context.reference);
  }
  const auto mobile = mobile_of(resource);
  if (mobile.empty()) {
    return refuse("the hospital holds no mobile number for this patient; link at its desk");
  }
  // The code goes to the number the hospital holds, so only the patient it knows can link.
  auto ticket = codes_.issue(
      "link", mobile, fmt::format("to link your records at {}", hip_name_),
      {{"patient", reference}, {"address", address}, {"contexts", std::move(contexts)}}, reference);
  if (!ticket) return refuse(ticket.error().message);
  reply["link"] = {{"referenceNumber", ticket->id},
                   {"authenticationType", "DIRECT"},
                   {"meta",
                    {{"communicationMedium", "MOBILE"},
                     {"communicationHint", "XXXXXX" + mobile.substr(mobile.size() - 4)},
                     {"communicationExpiry", format_instant_ms(ticket->expires_at_ms)}}}};
  return answer(kOnLinkInitPath, std::move(reply));
}

Status HipLinks::link_confirm(const json::object& body, std::string_view signature) {
  RETURN_IF_ERROR(consents_.verify_message(body, signature));
  ASSIGN_OR_RETURN(const json::object& confirmation,
                   json_object(member_or_null(body, "confirmation"), "confirmation"));
  ASSIGN_OR_RETURN(const auto ticket,
                   required_string(confirmation, "linkRefNumber", "confirmation"));
  ASSIGN_OR_RETURN(const auto token, required_string(confirmation, "token", "confirmation"));
  json::object reply{{"resp", {{"requestId", string_member(body, "requestId")}}}};
  auto context = codes_.redeem(ticket, "link", token, ticket);
  if (!context) {
    reply["error"] = error_answer(kLinkRefused, context.error().message);
    return answer(kOnLinkConfirmPath, std::move(reply));
  }
  const auto reference = string_member(*context, "patient");
  const auto address = string_member(*context, "address");
  const auto caller = node_caller();
  // The patient's ABHA address on the Patient record: what the consent gate matches on.
  for (int attempt = 0; attempt < 3; ++attempt) {
    ASSIGN_OR_RETURN(const auto record, resources_.read(caller, "Patient", reference));
    auto resource = json::parse(record.json).as_object();
    auto& identifiers = resource["identifier"];
    if (!identifiers.is_array()) identifiers = json::array();
    const bool present = std::any_of(
        identifiers.as_array().begin(), identifiers.as_array().end(), [&](const auto& identifier) {
          return identifier.is_object() &&
                 string_member(identifier.as_object(), "system") == consent::kAbhaAddressSystem &&
                 string_member(identifier.as_object(), "value") == address;
        });
    if (present) break;
    identifiers.as_array().push_back(
        json::object{{"system", consent::kAbhaAddressSystem}, {"value", address}});
    auto updated =
        resources_.update(caller, "Patient", reference, json::serialize(resource), record.version);
    if (updated) break;
    if (updated.error().code != ErrorCode::kFailedPrecondition) {
      return tl::unexpected(updated.error());
    }
  }
  ASSIGN_OR_RETURN(const auto record, resources_.read(caller, "Patient", reference));
  ASSIGN_OR_RETURN(const auto visits, visits_of(reference));
  std::vector<CareContextEntry> linked;
  for (const auto& chosen : context->at("contexts").as_array()) {
    for (const auto& visit : visits) {
      if (visit.reference == chosen.as_string()) linked.push_back(visit);
    }
  }
  reply["patient"] = {{"referenceNumber", reference},
                      {"display", display_name(json::parse(record.json).as_object())},
                      {"careContexts", care_contexts_to_json(linked)}};
  return answer(kOnLinkConfirmPath, std::move(reply));
}

Result<std::size_t> HipLinks::notify_new_contexts(std::size_t batch) {
  std::lock_guard lock(notify_mutex_);
  ASSIGN_OR_RETURN(auto stored, documents_.read(kLinkCursorType, "context-notify"));
  vault::Document cursor =
      stored ? std::move(*stored)
             : vault::Document{
                   std::string(kLinkCursorType), "context-notify", "", 0, 0, {{"after", 0}}};
  const std::int64_t after = cursor.body.at("after").to_number<std::int64_t>();
  ASSIGN_OR_RETURN(const auto changes, documents_.store().changes_since(after, batch));
  if (changes.empty()) return std::size_t{0};
  const auto caller = node_caller();
  store::WriteBatch messages;
  std::size_t told = 0;
  for (const auto& change : changes) {
    if (change.type != "Encounter" || change.version != 1 || change.deleted) continue;
    auto encounter = resources_.read(caller, "Encounter", change.id);
    auto patient = resources_.read(caller, "Patient", change.partition);
    if (!encounter || !patient) continue;  // erased or deleted since
    const auto address = abha_address_of(json::parse(patient->json).as_object());
    if (address.empty()) continue;
    const auto visit = json::parse(encounter->json).as_object();
    const auto hi_type = consent::hi_type_of("Encounter", visit);
    const auto date = consent::care_date_of("Encounter", visit);
    json::array hi_types;
    if (hi_type) hi_types.emplace_back(consent::hi_type_code(*hi_type));
    ASSIGN_OR_RETURN(
        auto message,
        consent::prepare_outbox_message(
            documents_, cm_id_, kContextNotifyPath,
            {{"notification",
              {{"patient", {{"id", address}}},
               {"careContext",
                {{"patientReference", change.partition}, {"careContextReference", change.id}}},
               {"hiTypes", std::move(hi_types)},
               {"date", format_instant_ms(date ? *date : change.recorded_at_ms)},
               {"hip", {{"id", consents_.hip_id()}}}}}}));
    messages.records.push_back(std::move(message));
    ++told;
  }
  cursor.body["after"] = changes.back().sequence;
  ASSIGN_OR_RETURN(auto write, documents_.prepare(cursor, {}));
  messages.records.push_back(std::move(write));
  // The position moves with the messages it covers, in one commit.
  RETURN_IF_ERROR(documents_.store().commit(std::move(messages)));
  if (told > 0 && wake_outbox_) wake_outbox_();
  return told;
}

Status HipLinks::propose_links(std::string_view patient_id) {
  ASSIGN_OR_RETURN(const auto record, resources_.read(node_caller(), "Patient", patient_id));
  const auto resource = json::parse(record.json).as_object();
  const auto address = abha_address_of(resource);
  if (address.empty()) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "the patient's record carries no ABHA address to link to");
  }
  ASSIGN_OR_RETURN(const auto visits, visits_of(std::string(patient_id)));
  return answer(
      kAddContextsPath,
      {{"link",
        {{"accessToken", ""},  // ABDM's users/auth token; Kavach's patient accepts at the CM
         {"hip", {{"id", consents_.hip_id()}}},
         {"patient",
          {{"id", address},
           {"referenceNumber", std::string(patient_id)},
           {"display", display_name(resource)},
           {"careContexts", care_contexts_to_json(visits)}}}}}});
}

Status HipLinks::proposal_answered(const json::object& body, std::string_view signature) {
  RETURN_IF_ERROR(consents_.verify_message(body, signature));
  if (body.contains("error")) {
    log::info("exchange.link_proposal_refused", {{"hip", consents_.hip_id()}});
  }
  return {};
}

}  // namespace kavach::exchange
