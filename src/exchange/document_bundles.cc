#include "exchange/document_bundles.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/time_format.h"
#include "consent/record_classification.h"

namespace kavach::exchange {
namespace {

namespace json = boost::json;

constexpr std::string_view kDocumentBundleProfile =
    "https://nrces.in/ndhm/fhir/r4/StructureDefinition/DocumentBundle";
constexpr std::string_view kSnomed = "http://snomed.info/sct";

}  // namespace

std::vector<DocumentGroup> group_for_transfer(std::vector<ReleasedRecord> records,
                                              const consent::DateRange& dates) {
  std::map<std::pair<std::string, consent::HiType>, std::vector<ReleasedRecord>> groups;
  for (auto& record : records) {
    if (record.type == "Patient") continue;
    const auto hi_type = consent::hi_type_of(record.type, record.resource);
    const auto care_date = consent::care_date_of(record.type, record.resource);
    if (!hi_type || !care_date || *care_date < dates.from_ms || *care_date > dates.to_ms) continue;
    auto care_context = consent::care_context_of(record.type, record.id, record.resource);
    groups[{std::move(care_context), *hi_type}].push_back(std::move(record));
  }
  std::vector<DocumentGroup> out;
  for (auto& [key, members] : groups) {
    std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) {
      return std::tie(a.type, a.id) < std::tie(b.type, b.id);
    });
    out.push_back(DocumentGroup{key.first, key.second, std::move(members)});
  }
  return out;
}

json::object document_bundle(const DocumentGroup& group, const ReleasedRecord& patient,
                             const BundleContext& context) {
  const auto document_type = consent::document_type_of(group.hi_type);
  json::object type_concept{{"text", document_type.display}};
  if (!document_type.snomed_code.empty()) {
    type_concept["coding"] = json::array{json::object{{"system", kSnomed},
                                                      {"code", document_type.snomed_code},
                                                      {"display", document_type.display}}};
  }
  const std::string now = format_instant_ms(context.now_ms);
  json::array section_entries;
  for (const auto& record : group.records) {
    section_entries.push_back(
        json::object{{"reference", fmt::format("{}/{}", record.type, record.id)}});
  }
  json::object composition{
      {"resourceType", "Composition"},
      {"id", context.bundle_id},
      {"status", "final"},
      {"type", std::move(type_concept)},
      {"subject", {{"reference", fmt::format("Patient/{}", patient.id)}}},
      {"date", now},
      {"author", json::array{json::object{{"display", context.hip_name}}}},
      {"title", document_type.display},
      {"section", json::array{json::object{{"title", document_type.display},
                                           {"entry", std::move(section_entries)}}}}};
  if (!group.care_context.empty()) {
    composition["encounter"] = {{"reference", fmt::format("Encounter/{}", group.care_context)}};
  }
  std::string base = context.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  json::array entries;
  entries.push_back(json::object{{"fullUrl", fmt::format("urn:uuid:{}", context.bundle_id)},
                                 {"resource", std::move(composition)}});
  const auto add = [&](const ReleasedRecord& record) {
    entries.push_back(
        json::object{{"fullUrl", fmt::format("{}/{}/{}", base, record.type, record.id)},
                     {"resource", record.resource}});
  };
  add(patient);
  for (const auto& record : group.records) add(record);
  return {
      {"resourceType", "Bundle"},
      {"id", context.bundle_id},
      {"meta", {{"lastUpdated", now}, {"profile", json::array{kDocumentBundleProfile}}}},
      {"identifier",
       {{"system", "urn:ietf:rfc:3986"}, {"value", fmt::format("urn:uuid:{}", context.bundle_id)}}},
      {"type", "document"},
      {"timestamp", now},
      {"entry", std::move(entries)}};
}

}  // namespace kavach::exchange
