// Search queries come from outside on every search. Besides not crashing, this checks the
// candidates are sound: whenever a parsed predicate matches a sample record, the record's index
// terms hold one of the values the search would look up, and a _lastUpdated predicate's range of
// write times holds the record's, so neither source of candidates ever hides a match.
//
// Input: the first byte picks the resource type, the rest is a query string.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

#include <boost/json.hpp>

#include "common/query_string.h"
#include "fhir/date_range.h"
#include "fhir/search_index.h"
#include "fhir/search_match.h"
#include "fhir/search_parameters.h"
#include "fhir/search_query.h"

namespace {

struct Sample {
  const char* type;
  const char* json;
};

constexpr Sample kSamples[] = {
    {"Patient", R"({"resourceType":"Patient","id":"p1","active":true,
      "meta":{"lastUpdated":"2024-01-10T10:00:00.000Z"},
      "identifier":[{"system":"https://healthid.abdm.gov.in","value":"11-1111"}],
      "name":[{"family":"Sharma","given":["Asha","Devi"],"text":"Asha Sharma"}],
      "gender":"female","birthDate":"1990-02-03",
      "telecom":[{"system":"phone","value":"+91 98765 43210"}],
      "managingOrganization":{"reference":"Organization/o1"}})"},
    {"Observation", R"({"resourceType":"Observation","id":"o1","status":"final",
      "meta":{"lastUpdated":"2024-01-10T10:00:00.000Z"},
      "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
      "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},
      "subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/e1"},
      "effectivePeriod":{"start":"2024-01-01T08:00:00+05:30","end":"2024-01-03"}})"},
    {"Encounter", R"({"resourceType":"Encounter","id":"e1","status":"in-progress",
      "class":{"code":"IMP"},"subject":{"reference":"Patient/p1"},
      "period":{"start":"1799-12-31"}})"},
};

// A record's write time is its meta.lastUpdated to the millisecond (Store::find_recorded).
void check_recorded_range(const kavach::fhir::SearchPredicate& predicate,
                          const boost::json::object& resource) {
  if (!kavach::fhir::matches(predicate, resource)) return;
  const auto range = kavach::fhir::recorded_range(predicate);
  if (!range) return;  // every record is a candidate
  const auto* meta = resource.if_contains("meta");
  const auto* last_updated = meta ? meta->as_object().if_contains("lastUpdated") : nullptr;
  if (last_updated == nullptr) __builtin_trap();  // matched a time the record does not have
  const auto written = kavach::fhir::parse_date_range(last_updated->as_string());
  if (!written) __builtin_trap();
  if (written->low_ms < range->from_ms || written->low_ms >= range->to_ms) {
    __builtin_trap();  // the time range would hide this match
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& sample = kSamples[data[0] % std::size(kSamples)];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)kavach::fhir::parse_date_range(text);
  const auto query = kavach::fhir::parse_search_query(sample.type, kavach::parse_query(text));
  if (!query) return 0;
  static const auto resources = [] {
    std::vector<boost::json::object> parsed;
    for (const auto& each : kSamples) parsed.push_back(boost::json::parse(each.json).as_object());
    return parsed;
  }();
  const auto& resource = resources[data[0] % std::size(kSamples)];
  const auto terms = kavach::fhir::extract_index_terms(sample.type, resource);
  const std::set<std::pair<std::string, std::string>> indexed(terms.begin(), terms.end());
  for (const auto& predicate : query->predicates) {
    if (predicate.parameter == &kavach::fhir::kLastUpdatedParameter) {
      check_recorded_range(predicate, resource);
      continue;
    }
    const auto candidates = kavach::fhir::candidate_index_values(predicate);
    if (!kavach::fhir::matches(predicate, resource) || !candidates) continue;
    const std::string name(kavach::fhir::index_name(*predicate.parameter));
    bool found = false;
    for (const auto& value : *candidates) found = found || indexed.contains({name, value});
    if (!found) __builtin_trap();  // the index would hide this match
  }
  return 0;
}
