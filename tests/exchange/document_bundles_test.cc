// Packing released records into FHIR documents: one per care context and HI type, led by the
// NRCeS Composition, with nothing added and nothing outside the requested dates.
#include "exchange/document_bundles.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace kavach::exchange {
namespace {

namespace json = boost::json;
using consent::HiType;

ReleasedRecord record(const char* type, const char* id, const char* json_text) {
  return {type, id, json::parse(json_text).as_object()};
}

std::vector<ReleasedRecord> sample() {
  return {
      record("Patient", "p", R"({"resourceType":"Patient","id":"p"})"),
      record("Observation", "lab", R"({"resourceType":"Observation","id":"lab",
        "category":[{"coding":[{"code":"laboratory"}]}],"encounter":{"reference":"Encounter/v1"},
        "effectiveDateTime":"2026-03-01T10:00:00Z"})"),
      record("Observation", "bp", R"({"resourceType":"Observation","id":"bp",
        "category":[{"coding":[{"code":"vital-signs"}]}],"encounter":{"reference":"Encounter/v1"},
        "effectiveDateTime":"2026-03-01T10:00:00Z"})"),
      record("Observation", "lab2", R"({"resourceType":"Observation","id":"lab2",
        "category":[{"coding":[{"code":"laboratory"}]}],"encounter":{"reference":"Encounter/v2"},
        "effectiveDateTime":"2026-05-01T10:00:00Z"})"),
      record("Observation", "old", R"({"resourceType":"Observation","id":"old",
        "category":[{"coding":[{"code":"laboratory"}]}],"encounter":{"reference":"Encounter/v1"},
        "effectiveDateTime":"2020-03-01T10:00:00Z"})"),
      record("Observation", "undated", R"({"resourceType":"Observation","id":"undated",
        "category":[{"coding":[{"code":"laboratory"}]}]})"),
  };
}

constexpr consent::DateRange k2026{1'767'225'600'000, 1'798'761'599'000};

TEST(DocumentBundles, GroupsByCareContextAndHiTypeWithinTheDates) {
  const auto groups = group_for_transfer(sample(), k2026);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].care_context, "v1");
  EXPECT_EQ(groups[0].hi_type, HiType::kDiagnosticReport);
  ASSERT_EQ(groups[0].records.size(), 1u);
  EXPECT_EQ(groups[0].records[0].id, "lab");
  EXPECT_EQ(groups[1].care_context, "v1");
  EXPECT_EQ(groups[1].hi_type, HiType::kWellnessRecord);
  EXPECT_EQ(groups[2].care_context, "v2");
}

TEST(DocumentBundles, ADocumentLeadsWithItsComposition) {
  const auto records = sample();
  const auto groups = group_for_transfer(records, k2026);
  const auto bundle = document_bundle(
      groups[0], records[0],
      {"0c5d6e16-51a7-4a34-8e6b-6a1b1f3e7a10", "https://hip.example/fhir/R4/", "AIIMS", 0});
  EXPECT_EQ(bundle.at("type"), "document");
  const auto& entries = bundle.at("entry").as_array();
  ASSERT_EQ(entries.size(), 3u);
  const auto& composition = entries[0].at("resource").as_object();
  EXPECT_EQ(composition.at("resourceType"), "Composition");
  EXPECT_EQ(composition.at("type").at("coding").at(0).at("code"), "721981007");
  EXPECT_EQ(composition.at("subject").at("reference"), "Patient/p");
  EXPECT_EQ(composition.at("encounter").at("reference"), "Encounter/v1");
  EXPECT_EQ(composition.at("section").at(0).at("entry").at(0).at("reference"), "Observation/lab");
  EXPECT_EQ(entries[1].at("fullUrl"), "https://hip.example/fhir/R4/Patient/p");
  EXPECT_EQ(entries[2].at("resource").at("id"), "lab");
}

}  // namespace
}  // namespace kavach::exchange
