#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "consent/record_classification.h"

namespace kavach::consent {
namespace {

boost::json::object parse(std::string_view text) { return boost::json::parse(text).as_object(); }

TEST(RecordClassification, TheCareContextIsTheVisitTheRecordNames) {
  EXPECT_EQ(care_context_of("Encounter", "e9", parse("{}")), "e9");
  EXPECT_EQ(
      care_context_of("Observation", "o", parse(R"({"encounter":{"reference":"Encounter/e1"}})")),
      "e1");
  EXPECT_EQ(care_context_of("MedicationAdministration", "m",
                            parse(R"({"context":{"reference":"Encounter/e2"}})")),
            "e2");
  // R4 DocumentReference names its visits in context.encounter, a list.
  EXPECT_EQ(care_context_of("DocumentReference", "d",
                            parse(R"({"context":{"encounter":[{"reference":"Encounter/e3"}]}})")),
            "e3");
  EXPECT_EQ(care_context_of("Observation", "o", parse(R"({"encounter":{"reference":"Group/g"}})")),
            "");
  EXPECT_EQ(care_context_of("DocumentReference", "d", parse(R"({"context":{"encounter":[]}})")),
            "");
  EXPECT_EQ(care_context_of("DocumentReference", "d", parse(R"({"context":{"encounter":[7]}})")),
            "");
}

TEST(RecordClassification, HiTypesOfTheSeededKinds) {
  EXPECT_EQ(hi_type_of("DocumentReference", parse("{}")), HiType::kHealthDocumentRecord);
  EXPECT_EQ(hi_type_of("Encounter", parse(R"({"class":{"code":"IMP"}})")),
            HiType::kDischargeSummary);
  EXPECT_EQ(
      hi_type_of("Observation", parse(R"({"category":[{"coding":[{"code":"vital-signs"}]}]})")),
      HiType::kWellnessRecord);
  EXPECT_FALSE(hi_type_of("Observation", parse("{}")));
}

}  // namespace
}  // namespace kavach::consent
