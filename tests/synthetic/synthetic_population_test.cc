// The synthetic population: valid R4 records of every HI type, each in a visit, deterministic, in
// plausible proportions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include <boost/json.hpp>

#include "consent/record_classification.h"
#include "fhir/validator.h"
#include "synthetic/synthetic_population.h"

namespace kavach::synthetic {
namespace {

std::string with_ids(std::string json) {
  for (const auto& [placeholder, id] :
       {std::pair<std::string, std::string>{"{patient}", "p1"}, {"{encounter}", "e1"}}) {
    for (auto at = json.find(placeholder); at != std::string::npos; at = json.find(placeholder)) {
      json.replace(at, placeholder.size(), id);
    }
  }
  return json;
}

TEST(SyntheticPopulation, EveryRecordIsValidR4InAVisitAndEveryHiTypeAppears) {
  PopulationGenerator generator(42);
  std::set<consent::HiType> seen;
  std::size_t female = 0;
  std::map<std::string, int> states;
  constexpr int kPatients = 300;
  for (int i = 0; i < kPatients; ++i) {
    const auto person = generator.next_patient();
    const auto patient = boost::json::parse(person.patient_json).as_object();
    ASSERT_TRUE(fhir::validate_resource("Patient", patient)) << person.patient_json;
    female += patient.at("gender").as_string() == "female";
    ++states[std::string(patient.at("address").as_array()[0].as_object().at("state").as_string())];
    ASSERT_FALSE(person.records.empty());
    EXPECT_EQ(person.records.front().type, "Encounter");  // the visit comes first
    for (const auto& record : person.records) {
      const auto resource = boost::json::parse(with_ids(record.json)).as_object();
      const auto valid = fhir::validate_resource(record.type, resource);
      ASSERT_TRUE(valid) << valid.error().message << "\n" << record.json;
      const auto type = consent::hi_type_of(record.type, resource);
      ASSERT_TRUE(type) << record.json;
      seen.insert(*type);
      EXPECT_EQ(consent::care_context_of(record.type, "e1", resource), "e1") << record.json;
      EXPECT_TRUE(consent::care_date_of(record.type, resource)) << record.json;
    }
  }
  EXPECT_THAT(seen, ::testing::UnorderedElementsAre(
                        consent::HiType::kOpConsultation, consent::HiType::kPrescription,
                        consent::HiType::kDischargeSummary, consent::HiType::kDiagnosticReport,
                        consent::HiType::kImmunizationRecord,
                        consent::HiType::kHealthDocumentRecord, consent::HiType::kWellnessRecord));
  // About half are women, and the most populous state has the most patients.
  EXPECT_NEAR(static_cast<double>(female) / kPatients, 0.49, 0.08);
  EXPECT_GT(states["Uttar Pradesh"], states["Kerala"]);
}

TEST(SyntheticPopulation, TheSameSeedGivesTheSamePeople) {
  PopulationGenerator first(7);
  PopulationGenerator second(7);
  PopulationGenerator other(8);
  const auto a = first.next_patient();
  const auto b = second.next_patient();
  EXPECT_EQ(a.patient_json, b.patient_json);
  ASSERT_EQ(a.records.size(), b.records.size());
  for (std::size_t i = 0; i < a.records.size(); ++i)
    EXPECT_EQ(a.records[i].json, b.records[i].json);
  EXPECT_NE(a.patient_json, other.next_patient().patient_json);
}

TEST(SyntheticPopulation, AbhaNumbersCarryALuhnCheckDigit) {
  EXPECT_EQ(luhn_check_digit("7992739871"), '3');
}

}  // namespace
}  // namespace kavach::synthetic
