// Search: the date arithmetic and its index buckets, the query grammar, and every search
// parameter of every type against both store backends.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/query_string.h"
#include "crypto/key_ring.h"
#include "fhir/date_range.h"
#include "fhir/resource_service.h"
#include "fhir/resource_types.h"
#include "fhir/search_index.h"
#include "fhir/search_match.h"
#include "fhir/search_query.h"
#include "store/store_factory.h"
#include "support/postgres_test_database.h"
#include "support/temp_dir.h"
#include "vault/key_vault.h"
#include "vault/record_sealer.h"

namespace kavach::fhir {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::UnorderedElementsAreArray;

constexpr std::int64_t kDayMs = 86'400'000;

DateRange range(const char* text) {
  const auto parsed = parse_date_range(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(DateRange{});
}

TEST(DateRange, EachPrecisionIsTheRangeItNames) {
  EXPECT_EQ(range("2020").low_ms, range("2020-01-01").low_ms);
  EXPECT_EQ(range("2020").high_ms, range("2021-01-01").low_ms);
  EXPECT_EQ(range("2020-02").high_ms - range("2020-02").low_ms, 29 * kDayMs);  // a leap year
  EXPECT_EQ(range("2020-12").high_ms, range("2021").low_ms);
  EXPECT_EQ(range("2020-03-15").high_ms - range("2020-03-15").low_ms, kDayMs);
  EXPECT_EQ(range("2020-03-15T10:30").high_ms - range("2020-03-15T10:30").low_ms, 60'000);
  EXPECT_EQ(range("2020-03-15T10:30:00Z").high_ms - range("2020-03-15T10:30:00Z").low_ms, 1000);
  EXPECT_EQ(range("2020-03-15T10:30:00.25Z").low_ms, range("2020-03-15T10:30:00Z").low_ms + 250);
  // India is five and a half hours ahead of UTC.
  EXPECT_EQ(range("2020-03-15T10:30:00+05:30").low_ms, range("2020-03-15T05:00:00Z").low_ms);
  for (const char* bad : {"", "20", "2020-13", "2023-02-29", "2020-03-15T25:00", "2020-03-15T10",
                          "2020-03-15 10:30", "2020-03-15T10:30:00+5:30", "2020-03-15T10:30:00.Z",
                          "0000", "2020-03-15Z", "2020-03-15T10:30:00Zjunk"}) {
    EXPECT_FALSE(parse_date_range(bad)) << bad;
  }
}

TEST(DateRange, PrefixesCompareRangesAsFhirSays) {
  const auto day = range("2024-01-10");
  const auto morning = range("2024-01-10T09:00:00Z");
  const auto january = range("2024-01");
  EXPECT_TRUE(date_matches(DateComparator::kEq, january, day));
  EXPECT_FALSE(date_matches(DateComparator::kEq, day, january));
  EXPECT_TRUE(date_matches(DateComparator::kNe, day, january));
  EXPECT_TRUE(date_matches(DateComparator::kGt, range("2024-01-09"), day));
  EXPECT_FALSE(date_matches(DateComparator::kGt, day, morning));
  EXPECT_TRUE(date_matches(DateComparator::kGe, day, morning));
  EXPECT_TRUE(date_matches(DateComparator::kLt, range("2024-01-11"), day));
  EXPECT_TRUE(date_matches(DateComparator::kLe, day, morning));
  EXPECT_TRUE(date_matches(DateComparator::kSa, range("2023"), day));
  EXPECT_FALSE(date_matches(DateComparator::kSa, january, day));
  EXPECT_TRUE(date_matches(DateComparator::kEb, range("2025"), day));
  // An open period reaches beyond any date.
  const DateRange open{range("2020").low_ms, kUnboundedAfter};
  EXPECT_TRUE(date_matches(DateComparator::kGt, range("2999"), open));
  EXPECT_FALSE(date_matches(DateComparator::kEb, range("2999"), open));
}

// The index buckets are sound: every stored range that satisfies a comparison carries one of the
// buckets the search looks up, over ranges of every precision, periods and open ends.
TEST(DateRange, CandidateBucketsNeverMissAMatch) {
  std::mt19937_64 random(20261129);
  const std::int64_t first = range("1750").low_ms;
  const std::int64_t span = range("2250").low_ms - first;
  const auto random_range = [&](bool allow_open) {
    const std::int64_t low = first + static_cast<std::int64_t>(random() % span);
    const std::int64_t widths[] = {1,
                                   1000,
                                   60'000,
                                   kDayMs,
                                   31 * kDayMs,
                                   366 * kDayMs,
                                   static_cast<std::int64_t>(random() % (3000 * kDayMs)) + 1};
    DateRange value{low, low + widths[random() % 7]};
    if (allow_open && random() % 10 == 0) value.low_ms = kUnboundedBefore;
    if (allow_open && random() % 10 == 0) value.high_ms = kUnboundedAfter;
    return value;
  };
  const DateComparator comparators[] = {
      DateComparator::kEq, DateComparator::kGt, DateComparator::kLt, DateComparator::kGe,
      DateComparator::kLe, DateComparator::kSa, DateComparator::kEb};
  int matched = 0;
  for (int round = 0; round < 4000; ++round) {
    const auto stored = random_range(true);
    const auto searched = random_range(false);
    const auto stored_values = date_index_values(stored);
    const std::set<std::string> carried(stored_values.begin(), stored_values.end());
    for (const auto comparator : comparators) {
      if (!date_matches(comparator, searched, stored)) continue;
      ++matched;
      const auto candidates = date_candidate_values(comparator, searched);
      ASSERT_TRUE(candidates);
      const bool found = std::any_of(candidates->begin(), candidates->end(),
                                     [&](const auto& value) { return carried.contains(value); });
      ASSERT_TRUE(found) << "comparator " << static_cast<int>(comparator) << " searched ["
                         << searched.low_ms << "," << searched.high_ms << ") stored ["
                         << stored.low_ms << "," << stored.high_ms << ")";
    }
  }
  EXPECT_GT(matched, 1000);
  // A search of one year looks up a handful of buckets, not one per day.
  EXPECT_LE(date_candidate_values(DateComparator::kEq, range("2020"))->size(), 2u);
  EXPECT_LE(date_candidate_values(DateComparator::kGe, range("2020-03-15"))->size(), 120u);
  EXPECT_FALSE(date_candidate_values(DateComparator::kNe, range("2020")));
}

QueryParameters query(const char* text) { return parse_query(text); }

TEST(SearchQuery, ParsesTheGrammar) {
  auto parsed = parse_search_query(
      "Observation",
      query("subject:Patient.identifier=abha%7C1&code=a,b\\,c&date=ge2024-01&date=lt2024-03"
            "&status:not=cancelled&encounter:missing=true&_sort=-date&_count=5&_total=accurate"
            "&_include=Observation:subject&_elements=code,valueQuantity"));
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->predicates.size(), 6u);
  EXPECT_EQ(parsed->predicates[0].target_type, "Patient");
  ASSERT_EQ(parsed->predicates[0].chain.size(), 1u);
  EXPECT_EQ(parsed->predicates[0].chain[0].values[0].text, "abha|1");
  ASSERT_EQ(parsed->predicates[1].values.size(), 2u);
  EXPECT_EQ(parsed->predicates[1].values[1].text, "b,c");
  EXPECT_EQ(parsed->predicates[2].values[0].comparator, DateComparator::kGe);
  EXPECT_EQ(parsed->predicates[3].values[0].comparator, DateComparator::kLt);
  EXPECT_EQ(parsed->predicates[4].modifier, SearchModifier::kNot);
  EXPECT_TRUE(parsed->predicates[5].missing);
  EXPECT_TRUE(parsed->sort->descending);
  EXPECT_EQ(parsed->count, 5u);
  EXPECT_TRUE(parsed->total);
  EXPECT_EQ(parsed->includes.size(), 1u);
  EXPECT_THAT(parsed->elements, ElementsAre("code", "valueQuantity"));
  EXPECT_TRUE(parse_search_query("Patient", query("_count=0"))->summary_count);
}

TEST(SearchQuery, OnlyAPageThroughOneExactReferenceIsOnePageWork) {
  const auto one_page = [](const char* type, const char* text) {
    auto parsed = parse_search_query(type, query(text));
    EXPECT_TRUE(parsed) << text;
    return parsed && is_one_page_search(*parsed);
  };
  EXPECT_TRUE(one_page("Observation", "subject=Patient/p1"));
  EXPECT_TRUE(one_page("Observation", "subject=Patient/p1&_count=100&_cursor=abc"));
  EXPECT_TRUE(one_page("Observation", "subject=Patient/p1&_elements=code"));
  EXPECT_TRUE(one_page("Encounter", "subject=Patient/p1"));
  // Anything that may scan, or read more than one page, is not.
  for (const char* text : {"subject=Patient/p1&_count=101", "subject=Patient/p1,Patient/p2",
                           "subject=Patient/p1&status=final", "subject=Patient/p1&_total=accurate",
                           "subject=Patient/p1&_summary=count", "subject=Patient/p1&_sort=date",
                           "subject=Patient/p1&_include=Observation:subject",
                           "subject=Patient/p1&_revinclude=DiagnosticReport:result",
                           "patient=Patient/p1", "subject:missing=true",
                           "subject:Patient.identifier=abha%7C1", "code=4548-4", "_id=o1", ""}) {
    EXPECT_FALSE(one_page("Observation", text)) << text;
  }
  // Records that may carry attachments are not small: a page of them goes to a worker.
  EXPECT_FALSE(one_page("DocumentReference", "subject=Patient/p1"));
  EXPECT_FALSE(one_page("DiagnosticReport", "subject=Patient/p1"));
  EXPECT_FALSE(one_page("Patient", "general-practitioner=Practitioner/d1"));
}

TEST(SearchQuery, RefusesWhatItDoesNotSupportByName) {
  for (const char* bad : {"colour=red",
                          "date=ap2020",
                          "date=2020-13",
                          "code:exact=x",
                          "family:contains=s",
                          "subject.subject.name=x",
                          "code.name=x",
                          "_sort=code",
                          "_sort=date,-_lastUpdated",
                          "_total=maybe",
                          "_summary=true",
                          "_include=*",
                          "_include=Patient:organization",
                          "_include=Observation:code",
                          "_include:iterate=Observation:subject",
                          "_has:x=y",
                          "status:missing=yes",
                          "code=",
                          "_count=ten",
                          "_elements=a.b",
                          "patient:Group=1"}) {
    const auto parsed = parse_search_query("Observation", query(bad));
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(parse_search_query("Spaceship", {}));
}

TEST(SearchMatch, ReferencesTokensAndStrings) {
  const auto observation = boost::json::parse(R"({
    "subject":{"reference":"https://hip.example/fhir/R4/Patient/p1/_history/2"},
    "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]}})")
                               .as_object();
  const auto predicate = [](const char* text) {
    return parse_search_query("Observation", parse_query(text))->predicates.front();
  };
  EXPECT_TRUE(matches(predicate("subject=Patient/p1"), observation));
  EXPECT_TRUE(matches(predicate("patient=p1"), observation));
  EXPECT_FALSE(matches(predicate("subject=Patient/p2"), observation));
  EXPECT_TRUE(matches(predicate("code=http://loinc.org%7C2345-7"), observation));
  EXPECT_TRUE(matches(predicate("code=http://loinc.org%7C"), observation));
  EXPECT_FALSE(matches(predicate("code=%7C2345-7"), observation));
  EXPECT_FALSE(matches(predicate("code=http://snomed.info/sct%7C2345-7"), observation));
  EXPECT_TRUE(matches(predicate("code:not=1234-5"), observation));
  EXPECT_TRUE(matches(predicate("encounter:missing=true"), observation));
  EXPECT_FALSE(matches(predicate("code:missing=true"), observation));
}

// Every search parameter of every type, against both backends.
class SearchTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string url = "sqlite:" + (dir_.path() / "db").string();
    if (GetParam() == "postgresql") {
      database_ = testing::PostgresTestDatabase::create();
      if (!database_) GTEST_SKIP() << "no test PostgreSQL server configured";
      url = database_->url();
    }
    ring_ = std::make_unique<crypto::KeyRing>(*crypto::KeyRing::create(dir_.path() / "k"));
    auto opened = store::open_store(url);
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    keys_ = std::make_unique<vault::KeyVault>(*store_, *ring_, clock_);
    sealer_ = std::make_unique<vault::RecordSealer>(*keys_);
    service_ = std::make_unique<ResourceService>(*store_, *sealer_, clock_);
    seed();
  }

  // Writes the record; one without an identifier gets "urn:kavach-test|<Type>-<id>".
  void put(const char* type, const char* id, const std::string& body) {
    auto resource = boost::json::parse(body).as_object();
    if (!resource.contains("identifier") && std::string_view(type) != "Patient" &&
        find_parameter(type, "identifier") != nullptr) {
      resource["identifier"] = boost::json::array{boost::json::object{
          {"system", "urn:kavach-test"}, {"value", fmt::format("{}-{}", type, id)}}};
    }
    auto written = service_->update(all_, type, id, boost::json::serialize(resource), std::nullopt);
    ASSERT_TRUE(written) << type << "/" << id << ": " << written.error().message;
  }

  void seed() {
    put("Patient", "asha",
        R"({"resourceType":"Patient","id":"asha","active":true,
        "identifier":[{"system":"https://healthid.abdm.gov.in","value":"11-1111"}],
        "name":[{"family":"Sharma","given":["Asha"]}],"gender":"female","birthDate":"1990-02-03",
        "telecom":[{"system":"phone","value":"+91 98765 43210"}],
        "managingOrganization":{"reference":"Organization/aiims"}})");
    put("Patient", "ravi",
        R"({"resourceType":"Patient","id":"ravi","active":true,
        "identifier":[{"system":"https://healthid.abdm.gov.in","value":"22-2222"}],
        "name":[{"family":"Verma","given":["Ravi"]}],"gender":"male","birthDate":"1985-07-20",
        "generalPractitioner":[{"reference":"Practitioner/kumar"}]})");
    put("Patient", "meena",
        R"({"resourceType":"Patient","id":"meena","name":[{"family":"SHARMA","given":["Meena"]}],
        "gender":"female","birthDate":"2001-11-30"})");
    put("Practitioner", "kumar",
        R"({"resourceType":"Practitioner","id":"kumar","name":[{"family":"Kumar","given":["Anil"]}],
        "identifier":[{"system":"https://hpr.abdm.gov.in","value":"71-0001"}],"gender":"male",
        "telecom":[{"system":"phone","value":"011 2658 8500"}]})");
    put("Organization", "aiims",
        R"({"resourceType":"Organization","id":"aiims","name":"AIIMS New Delhi",
        "identifier":[{"system":"https://facility.abdm.gov.in","value":"IN0710000123"}],
        "type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/organization-type","code":"prov"}]}]})");
    put("Organization", "aiims-lab",
        R"({"resourceType":"Organization","id":"aiims-lab","name":"AIIMS Laboratory",
        "partOf":{"reference":"Organization/aiims"}})");
    put("Encounter", "e1",
        R"({"resourceType":"Encounter","id":"e1","status":"finished",
        "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
        "type":[{"coding":[{"system":"http://snomed.info/sct","code":"11429006"}]}],
        "subject":{"reference":"Patient/asha"},
        "period":{"start":"2024-01-10T09:00:00+05:30","end":"2024-01-10T11:00:00+05:30"},
        "serviceProvider":{"reference":"Organization/aiims"},
        "participant":[{"individual":{"reference":"Practitioner/kumar"}}]})");
    put("Encounter", "e2",
        R"({"resourceType":"Encounter","id":"e2","status":"in-progress",
        "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
        "subject":{"reference":"Patient/ravi"},"period":{"start":"2024-03-01"}})");
    const char* months[] = {"2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"};
    for (int i = 0; i < 5; ++i) {
      const bool glucose = i < 3;
      put("Observation", fmt::format("o{}", i + 1).c_str(),
          fmt::format(R"({{"resourceType":"Observation","status":"{}",
          "category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}}]}}],
          "code":{{"coding":[{{"system":"http://loinc.org","code":"{}"}}]}},
          "subject":{{"reference":"Patient/asha"}},{}"effectiveDateTime":"{}T08:00:00Z",
          "performer":[{{"reference":"Practitioner/kumar"}}],
          "valueQuantity":{{"value":{},"unit":"mg/dL"}}}})",
                      i == 4 ? "amended" : "final", glucose ? "2345-7" : "4548-4",
                      i == 0 ? R"("encounter":{"reference":"Encounter/e1"},)" : "", months[i],
                      100 + i));
    }
    put("Observation", "o6",
        R"({"resourceType":"Observation","status":"final",
        "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
        "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},
        "subject":{"reference":"Patient/ravi"},"effectiveDateTime":"2024-02-15"})");
    put("Condition", "c1",
        R"({"resourceType":"Condition","subject":{"reference":"Patient/asha"},
        "code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]},
        "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item"}]}],
        "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
        "verificationStatus":{"coding":[{"code":"confirmed"}]},
        "encounter":{"reference":"Encounter/e1"},"onsetDateTime":"2019","recordedDate":"2020-01-01"})");
    put("DiagnosticReport", "d1",
        R"({"resourceType":"DiagnosticReport","status":"final","subject":{"reference":"Patient/asha"},
        "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"LAB"}]}],
        "code":{"coding":[{"system":"http://loinc.org","code":"24323-8"}]},
        "effectiveDateTime":"2024-01-01","issued":"2024-01-02T10:00:00Z",
        "encounter":{"reference":"Encounter/e1"},"result":[{"reference":"Observation/o1"}],
        "performer":[{"reference":"Practitioner/kumar"}]})");
    put("MedicationRequest", "m1",
        R"({"resourceType":"MedicationRequest","status":"active","intent":"order",
        "subject":{"reference":"Patient/asha"},
        "medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"325278007"}]},
        "category":[{"coding":[{"code":"outpatient"}]}],
        "authoredOn":"2024-01-10","encounter":{"reference":"Encounter/e1"},
        "requester":{"reference":"Practitioner/kumar"}})");
    put("Immunization", "i1",
        R"({"resourceType":"Immunization","status":"completed","patient":{"reference":"Patient/asha"},
        "vaccineCode":{"coding":[{"system":"http://snomed.info/sct","code":"1119349007"}]},
        "occurrenceDateTime":"2023-06-01","encounter":{"reference":"Encounter/e1"}})");
    put("AllergyIntolerance", "a1",
        R"({"resourceType":"AllergyIntolerance","patient":{"reference":"Patient/asha"},
        "code":{"coding":[{"system":"http://snomed.info/sct","code":"91935009"}]},
        "category":["food"],"criticality":"high","recordedDate":"2022-05-05",
        "clinicalStatus":{"coding":[{"code":"active"}]},"encounter":{"reference":"Encounter/e1"}})");
    put("Procedure", "p1",
        R"({"resourceType":"Procedure","status":"completed","subject":{"reference":"Patient/asha"},
        "code":{"coding":[{"system":"http://snomed.info/sct","code":"80146002"}]},
        "category":{"coding":[{"code":"387713003"}]},
        "performedPeriod":{"start":"2023-02-01","end":"2023-02-03"},
        "encounter":{"reference":"Encounter/e1"}})");
    put("DocumentReference", "dr1",
        R"({"resourceType":"DocumentReference","status":"current","subject":{"reference":"Patient/asha"},
        "type":{"coding":[{"system":"http://snomed.info/sct","code":"373942005"}]},
        "category":[{"coding":[{"code":"clinical-note"}]}],"date":"2024-01-10T10:00:00+05:30",
        "identifier":[{"system":"urn:hospital","value":"doc-1"}],
        "context":{"encounter":[{"reference":"Encounter/e1"}]},
        "content":[{"attachment":{"contentType":"text/plain","data":"T1Agbm90ZQ=="}}]})");
    put("Composition", "co1",
        R"({"resourceType":"Composition","status":"final","subject":{"reference":"Patient/asha"},
        "type":{"coding":[{"system":"http://snomed.info/sct","code":"371530004"}]},
        "category":[{"coding":[{"code":"clinical-note"}]}],"date":"2024-01-10",
        "encounter":{"reference":"Encounter/e1"},"author":[{"reference":"Practitioner/kumar"}],
        "identifier":{"system":"urn:hospital","value":"comp-1"},"title":"OP note"})");
    put("Location", "ward-7",
        R"({"resourceType":"Location","name":"Ward 7","status":"active",
        "type":[{"coding":[{"code":"HOSP"}]}],"address":{"city":"New Delhi","state":"Delhi"},
        "managingOrganization":{"reference":"Organization/aiims"}})");
    put("PractitionerRole", "kumar-aiims",
        R"({"resourceType":"PractitionerRole","practitioner":{"reference":"Practitioner/kumar"},
        "organization":{"reference":"Organization/aiims"},"location":[{"reference":"Location/ward-7"}],
        "code":[{"coding":[{"code":"doctor"}]}],"specialty":[{"coding":[{"code":"394579002"}]}],
        "telecom":[{"system":"phone","value":"+91 11 2658 8500"}]})");
    put("CarePlan", "cp1",
        R"({"resourceType":"CarePlan","status":"active","intent":"plan",
        "subject":{"reference":"Patient/asha"},"category":[{"coding":[{"code":"assess-plan"}]}],
        "period":{"start":"2024-01-10"},"encounter":{"reference":"Encounter/e1"}})");
    put("CareTeam", "ct1",
        R"({"resourceType":"CareTeam","status":"active","subject":{"reference":"Patient/asha"},
        "category":[{"coding":[{"code":"LA27976-2"}]}],"period":{"start":"2024-01-10","end":"2024-06-30"},
        "encounter":{"reference":"Encounter/e1"},
        "participant":[{"member":{"reference":"Practitioner/kumar"}}]})");
    put("Claim", "cl1",
        R"({"resourceType":"Claim","status":"active","use":"claim","patient":{"reference":"Patient/asha"},
        "created":"2024-01-10","provider":{"reference":"Organization/aiims"},
        "item":[{"sequence":1,"productOrService":{"text":"consultation"},
        "encounter":[{"reference":"Encounter/e1"}]}],
        "type":{"text":"professional"},"priority":{"text":"normal"},
        "insurance":[{"sequence":1,"focal":true,"coverage":{"display":"PM-JAY"}}]})");
    put("ExplanationOfBenefit", "eob1",
        R"({"resourceType":"ExplanationOfBenefit","status":"active","patient":{"reference":"Patient/asha"},
        "created":"2024-01-11","claim":{"reference":"Claim/cl1"},
        "provider":{"reference":"Organization/aiims"},"type":{"text":"professional"},
        "use":"claim","insurer":{"display":"PM-JAY"},"outcome":"complete",
        "insurance":[{"focal":true,"coverage":{"display":"PM-JAY"}}],
        "item":[{"sequence":1,"productOrService":{"text":"consultation"},
        "encounter":[{"reference":"Encounter/e1"}]}]})");
    put("Device", "dev1",
        R"({"resourceType":"Device","status":"active","patient":{"reference":"Patient/asha"},
        "type":{"coding":[{"system":"http://snomed.info/sct","code":"337414009"}]}})");
    put("ImagingStudy", "img1",
        R"({"resourceType":"ImagingStudy","status":"available","subject":{"reference":"Patient/asha"},
        "started":"2024-01-10T10:30:00Z","encounter":{"reference":"Encounter/e1"},
        "series":[{"uid":"1.2","modality":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"CR"},
        "bodySite":{"system":"http://snomed.info/sct","code":"51185008"}}]})");
    put("Medication", "med1",
        R"({"resourceType":"Medication","status":"active",
        "code":{"coding":[{"system":"http://snomed.info/sct","code":"325278007"}]}})");
    put("MedicationAdministration", "ma1",
        R"({"resourceType":"MedicationAdministration","status":"completed",
        "subject":{"reference":"Patient/asha"},"context":{"reference":"Encounter/e1"},
        "medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"325278007"}]},
        "effectiveDateTime":"2024-01-10T11:00:00+05:30"})");
    put("Provenance", "prov1",
        R"({"resourceType":"Provenance","target":[{"reference":"Patient/asha"},{"reference":"Encounter/e1"}],
        "recorded":"2024-01-10T12:00:00Z","agent":[{"who":{"reference":"Practitioner/kumar"}}]})");
    put("SupplyDelivery", "sd1",
        R"({"resourceType":"SupplyDelivery","status":"completed","patient":{"reference":"Patient/asha"},
        "supplier":{"reference":"Practitioner/kumar"}})");
    put("Group", "diabetes-clinic",
        R"({"resourceType":"Group","type":"person","actual":true,
        "code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]},
        "member":[{"entity":{"reference":"Patient/asha"}},{"entity":{"reference":"Patient/ravi"}}]})");
    put("Binary", "bin1",
        R"({"resourceType":"Binary","contentType":"text/plain","data":"aGVsbG8="})");
    put("Bundle", "b1",
        R"({"resourceType":"Bundle","type":"document","timestamp":"2024-01-10T12:00:00Z",
        "identifier":{"system":"urn:hospital","value":"bundle-1"}})");
  }

  // The ids a search returns, over every page, sorted.
  std::vector<std::string> ids(const char* type, const char* text) {
    auto parsed = parse_search_query(type, parse_query(text));
    EXPECT_TRUE(parsed) << text << ": " << parsed.error().message;
    if (!parsed) return {};
    parsed->count = 2;  // several pages for most searches
    std::vector<std::string> out;
    for (int page = 0; page < 50; ++page) {
      auto result = service_->search(all_, *parsed);
      EXPECT_TRUE(result) << text << ": " << result.error().message;
      if (!result) return out;
      for (const auto& resource : result->matches) out.push_back(resource.id);
      if (result->next_cursor.empty()) break;
      parsed->cursor = result->next_cursor;
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresTestDatabase> database_;
  ManualClock clock_{TimePoint{std::chrono::seconds{1'700'000'000}}};  // 2023-11-14T22:13:20Z
  std::unique_ptr<crypto::KeyRing> ring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<vault::KeyVault> keys_;
  std::unique_ptr<vault::RecordSealer> sealer_;
  std::unique_ptr<ResourceService> service_;
  auth::AccessToken all_{"c-test", *auth::ScopeSet::parse("system/*.cruds"), 0};
};

struct Case {
  const char* type;
  const char* query;
  std::vector<std::string> expected;
};

std::vector<Case> search_cases() {
  const std::vector<std::string> asha_observations = {"o1", "o2", "o3", "o4", "o5"};
  return {
      // Patient
      {"Patient", "_id=asha,meena", {"asha", "meena"}},
      {"Patient", "identifier=https://healthid.abdm.gov.in%7C11-1111", {"asha"}},
      {"Patient", "identifier=22-2222", {"ravi"}},
      {"Patient", "identifier=https://healthid.abdm.gov.in%7C", {"asha", "ravi"}},
      {"Patient", "identifier=%7C22-2222", {}},
      {"Patient", "identifier:missing=true", {"meena"}},
      {"Patient", "family=sharma", {"asha", "meena"}},
      {"Patient", "family=SHAR", {"asha", "meena"}},
      {"Patient", "family:exact=Sharma", {"asha"}},
      {"Patient", "family=sharmaji", {}},
      {"Patient", "given=ra", {"ravi"}},
      {"Patient", "name=ver", {"ravi"}},
      {"Patient", "name=asha,meena", {"asha", "meena"}},
      {"Patient", "birthdate=1990", {"asha"}},
      {"Patient", "birthdate=1990-02-03", {"asha"}},
      {"Patient", "birthdate=ge1990-01-01", {"asha", "meena"}},
      {"Patient", "birthdate=lt1990", {"ravi"}},
      {"Patient", "birthdate=le1985-07-20", {"ravi"}},
      {"Patient", "birthdate=gt2001-11", {}},
      {"Patient", "birthdate=ne1990-02-03", {"meena", "ravi"}},
      {"Patient", "birthdate=sa1999", {"meena"}},
      {"Patient", "birthdate=eb1986", {"ravi"}},
      {"Patient", "birthdate=ge1980&birthdate=lt2000", {"asha", "ravi"}},
      {"Patient", "gender=female", {"asha", "meena"}},
      {"Patient", "gender:not=female", {"ravi"}},
      {"Patient", "phone=9876543210", {"asha"}},
      {"Patient", "phone=+91-98765-43210", {"asha"}},
      {"Patient", "active=true", {"asha", "ravi"}},
      {"Patient", "organization=Organization/aiims", {"asha"}},
      {"Patient", "general-practitioner=kumar", {"ravi"}},
      {"Patient", "_lastUpdated=2023-11-14", {"asha", "meena", "ravi"}},
      {"Patient", "_lastUpdated=lt2023-11-14", {}},
      // Practitioner and Organization
      {"Practitioner", "name=kum", {"kumar"}},
      {"Practitioner", "family=kumar&given=anil", {"kumar"}},
      {"Practitioner", "identifier=71-0001", {"kumar"}},
      {"Practitioner", "gender=male", {"kumar"}},
      {"Practitioner", "phone=01126588500", {"kumar"}},
      {"Organization", "name=aiims", {"aiims", "aiims-lab"}},
      {"Organization", "name=aiims%20new", {"aiims"}},
      {"Organization", "identifier=https://facility.abdm.gov.in%7CIN0710000123", {"aiims"}},
      {"Organization", "type=prov", {"aiims"}},
      {"Organization", "partof=Organization/aiims", {"aiims-lab"}},
      // Encounter
      {"Encounter", "subject=Patient/asha", {"e1"}},
      {"Encounter", "patient=ravi", {"e2"}},
      {"Encounter", "status=finished", {"e1"}},
      {"Encounter", "class=IMP", {"e2"}},
      {"Encounter", "type=http://snomed.info/sct%7C11429006", {"e1"}},
      {"Encounter", "date=2024-01-10", {"e1"}},
      {"Encounter", "date=gt2030", {"e2"}},  // still in progress: the period is open
      {"Encounter", "date=lt2024-02", {"e1"}},
      {"Encounter", "service-provider=Organization/aiims", {"e1"}},
      {"Encounter", "practitioner=Practitioner/kumar", {"e1"}},
      // Observation
      {"Observation", "subject=Patient/asha", asha_observations},
      {"Observation", "patient=asha", asha_observations},
      {"Observation", "subject:Patient=asha", asha_observations},
      {"Observation", "subject=https://elsewhere.example/fhir/R4/Patient/asha", asha_observations},
      {"Observation", "code=http://loinc.org%7C2345-7", {"o1", "o2", "o3", "o6"}},
      {"Observation", "code=2345-7,4548-4&patient=asha", asha_observations},
      {"Observation", "code=4548-4", {"o4", "o5"}},
      {"Observation", "category=vital-signs", {"o6"}},
      {"Observation", "status=amended", {"o5"}},
      {"Observation", "status:not=final", {"o5"}},
      {"Observation", "date=2024-02", {"o2", "o6"}},
      {"Observation", "date=ge2024-03-01&date=lt2024-05-01&patient=asha", {"o3", "o4"}},
      {"Observation", "date=sa2024-04-01", {"o5"}},
      {"Observation", "encounter=Encounter/e1", {"o1"}},
      {"Observation", "encounter:missing=false", {"o1"}},
      {"Observation", "performer=Practitioner/kumar&code=4548-4", {"o4", "o5"}},
      {"Observation", "subject:Patient.identifier=https://healthid.abdm.gov.in%7C11-1111",
       asha_observations},
      {"Observation", "patient.name=ravi", {"o6"}},
      {"Observation", "subject.birthdate=lt1990&code=2345-7", {"o6"}},
      {"Observation", "patient.identifier=nobody", {}},
      {"Observation", "_id=o2,o6&code=2345-7", {"o2", "o6"}},
      // Condition
      {"Condition", "patient=asha", {"c1"}},
      {"Condition", "code=http://snomed.info/sct%7C44054006", {"c1"}},
      {"Condition", "category=problem-list-item", {"c1"}},
      {"Condition", "clinical-status=active", {"c1"}},
      {"Condition", "verification-status=confirmed", {"c1"}},
      {"Condition", "encounter=e1", {"c1"}},
      {"Condition", "onset-date=2019", {"c1"}},
      {"Condition", "onset-date=2019-06", {}},
      {"Condition", "recorded-date=ge2020", {"c1"}},
      // DiagnosticReport
      {"DiagnosticReport", "subject=Patient/asha", {"d1"}},
      {"DiagnosticReport", "code=24323-8", {"d1"}},
      {"DiagnosticReport", "category=LAB", {"d1"}},
      {"DiagnosticReport", "status=final", {"d1"}},
      {"DiagnosticReport", "date=2024-01-01", {"d1"}},
      {"DiagnosticReport", "issued=gt2024-01-01", {"d1"}},
      {"DiagnosticReport", "encounter=Encounter/e1", {"d1"}},
      {"DiagnosticReport", "result=Observation/o1", {"d1"}},
      {"DiagnosticReport", "performer=kumar", {"d1"}},
      // MedicationRequest
      {"MedicationRequest", "patient=asha", {"m1"}},
      {"MedicationRequest", "code=325278007", {"m1"}},
      {"MedicationRequest", "category=outpatient", {"m1"}},
      {"MedicationRequest", "status=active", {"m1"}},
      {"MedicationRequest", "intent=order", {"m1"}},
      {"MedicationRequest", "authoredon=2024-01", {"m1"}},
      {"MedicationRequest", "encounter=e1", {"m1"}},
      {"MedicationRequest", "requester=Practitioner/kumar", {"m1"}},
      // Immunization
      {"Immunization", "patient=Patient/asha", {"i1"}},
      {"Immunization", "status=completed", {"i1"}},
      {"Immunization", "vaccine-code=1119349007", {"i1"}},
      {"Immunization", "date=2023", {"i1"}},
      {"Immunization", "encounter=e1", {"i1"}},
      // AllergyIntolerance
      {"AllergyIntolerance", "patient=asha", {"a1"}},
      {"AllergyIntolerance", "code=91935009", {"a1"}},
      {"AllergyIntolerance", "category=food", {"a1"}},
      {"AllergyIntolerance", "clinical-status=active", {"a1"}},
      {"AllergyIntolerance", "criticality=high", {"a1"}},
      {"AllergyIntolerance", "date=le2022-05-05", {"a1"}},
      {"AllergyIntolerance", "encounter=e1", {"a1"}},
      // Procedure
      {"Procedure", "subject=Patient/asha", {"p1"}},
      {"Procedure", "code=80146002", {"p1"}},
      {"Procedure", "category=387713003", {"p1"}},
      {"Procedure", "status=completed", {"p1"}},
      {"Procedure", "date=2023-02", {"p1"}},
      {"Procedure", "date=2023-02-02", {}},  // the operation took three days
      {"Procedure", "date=gt2023-02-02", {"p1"}},
      {"Procedure", "encounter=e1", {"p1"}},
      // DocumentReference
      {"DocumentReference", "patient=asha", {"dr1"}},
      {"DocumentReference", "identifier=urn:hospital%7Cdoc-1", {"dr1"}},
      {"DocumentReference", "type=373942005", {"dr1"}},
      {"DocumentReference", "category=clinical-note", {"dr1"}},
      {"DocumentReference", "status=current", {"dr1"}},
      {"DocumentReference", "date=2024-01-10", {"dr1"}},
      {"DocumentReference", "encounter=Encounter/e1", {"dr1"}},
      // Composition
      {"Composition", "subject=asha", {"co1"}},
      {"Composition", "identifier=comp-1", {"co1"}},
      {"Composition", "type=371530004", {"co1"}},
      {"Composition", "category=clinical-note", {"co1"}},
      {"Composition", "status=final", {"co1"}},
      {"Composition", "date=2024-01-10", {"co1"}},
      {"Composition", "encounter=e1", {"co1"}},
      {"Composition", "author=kumar", {"co1"}},
      // Bundle
      {"Bundle", "identifier=bundle-1", {"b1"}},
      {"Bundle", "type=document", {"b1"}},
      {"Bundle", "timestamp=2024-01-10", {"b1"}},
      // identifier on the rest
      {"Encounter", "identifier=urn:kavach-test%7CEncounter-e2", {"e2"}},
      {"Condition", "identifier=Condition-c1", {"c1"}},
      {"Observation", "identifier=urn:kavach-test%7C", {"o1", "o2", "o3", "o4", "o5", "o6"}},
      {"DiagnosticReport", "identifier=DiagnosticReport-d1", {"d1"}},
      {"MedicationRequest", "identifier=MedicationRequest-m1", {"m1"}},
      {"Immunization", "identifier=Immunization-i1", {"i1"}},
      {"AllergyIntolerance", "identifier=AllergyIntolerance-a1", {"a1"}},
      {"Procedure", "identifier=Procedure-p1", {"p1"}},
      // The types hospital systems and Synthea send alongside
      {"Location", "identifier=Location-ward-7", {"ward-7"}},
      {"Location", "name=ward", {"ward-7"}},
      {"Location", "status=active", {"ward-7"}},
      {"Location", "type=HOSP", {"ward-7"}},
      {"Location", "address-city=new%20delhi", {"ward-7"}},
      {"Location", "address-state=del", {"ward-7"}},
      {"Location", "organization=Organization/aiims", {"ward-7"}},
      {"PractitionerRole", "identifier=PractitionerRole-kumar-aiims", {"kumar-aiims"}},
      {"PractitionerRole", "practitioner=kumar", {"kumar-aiims"}},
      {"PractitionerRole", "organization=Organization/aiims", {"kumar-aiims"}},
      {"PractitionerRole", "location=Location/ward-7", {"kumar-aiims"}},
      {"PractitionerRole", "role=doctor", {"kumar-aiims"}},
      {"PractitionerRole", "specialty=394579002", {"kumar-aiims"}},
      {"PractitionerRole", "phone=1126588500", {"kumar-aiims"}},
      {"CarePlan", "identifier=CarePlan-cp1", {"cp1"}},
      {"CarePlan", "subject=Patient/asha&patient=asha", {"cp1"}},
      {"CarePlan", "status=active&intent=plan&category=assess-plan", {"cp1"}},
      {"CarePlan", "date=gt2030", {"cp1"}},
      {"CarePlan", "encounter=e1", {"cp1"}},
      {"CareTeam", "identifier=CareTeam-ct1&subject=asha&patient=asha", {"ct1"}},
      {"CareTeam", "status=active&category=LA27976-2", {"ct1"}},
      {"CareTeam", "date=2024", {"ct1"}},
      {"CareTeam", "encounter=e1&participant=Practitioner/kumar", {"ct1"}},
      {"Claim", "identifier=Claim-cl1&patient=asha&status=active&use=claim", {"cl1"}},
      {"Claim", "created=2024-01-10&provider=Organization/aiims&encounter=e1", {"cl1"}},
      {"ExplanationOfBenefit", "identifier=ExplanationOfBenefit-eob1&patient=asha", {"eob1"}},
      {"ExplanationOfBenefit", "status=active&created=ge2024-01-11&claim=Claim/cl1", {"eob1"}},
      {"ExplanationOfBenefit", "provider=aiims&encounter=Encounter/e1", {"eob1"}},
      {"Device", "identifier=Device-dev1&patient=asha&status=active&type=337414009", {"dev1"}},
      {"ImagingStudy", "identifier=ImagingStudy-img1&subject=asha&patient=asha", {"img1"}},
      {"ImagingStudy", "status=available&started=2024-01-10&encounter=e1", {"img1"}},
      {"ImagingStudy", "modality=CR&bodysite=51185008", {"img1"}},
      {"Medication", "identifier=Medication-med1&code=325278007&status=active", {"med1"}},
      {"MedicationAdministration", "identifier=MedicationAdministration-ma1&subject=asha", {"ma1"}},
      {"MedicationAdministration", "patient=asha&code=325278007&status=completed", {"ma1"}},
      {"MedicationAdministration", "effective-time=2024-01-10&context=e1", {"ma1"}},
      {"Provenance", "target=Encounter/e1&patient=asha", {"prov1"}},
      {"Provenance", "recorded=2024-01-10&agent=Practitioner/kumar", {"prov1"}},
      {"SupplyDelivery", "identifier=SupplyDelivery-sd1&patient=asha", {"sd1"}},
      {"SupplyDelivery", "status=completed&supplier=kumar", {"sd1"}},
      {"Group", "identifier=Group-diabetes-clinic&type=person&code=44054006", {"diabetes-clinic"}},
      {"Group", "member=Patient/ravi", {"diabetes-clinic"}},
      {"Binary", "_id=bin1", {"bin1"}},
      {"Binary", "_lastUpdated=2023-11", {"bin1"}},
      // subject and patient on the rest
      {"Condition", "subject=Patient/asha", {"c1"}},
      {"DiagnosticReport", "patient=Patient/asha", {"d1"}},
      {"MedicationRequest", "subject=asha", {"m1"}},
      {"Procedure", "patient=asha", {"p1"}},
      {"DocumentReference", "subject=Patient/ravi", {}},
      {"Composition", "patient=asha", {"co1"}},
  };
}

TEST_P(SearchTest, EveryParameterOfEveryType) {
  for (const auto& test : search_cases()) {
    EXPECT_THAT(ids(test.type, test.query), ElementsAreArray(test.expected))
        << test.type << "?" << test.query;
  }
}

TEST_P(SearchTest, EveryAdvertisedParameterIsExercised) {
  // The table above covers every parameter: one added without a case fails here.
  const auto cases = search_cases();
  const auto tested = [&cases](std::string_view type, std::string_view name) {
    return std::any_of(cases.begin(), cases.end(), [&](const Case& test) {
      if (test.type != type) return false;
      for (const auto& [key, value] : parse_query(test.query)) {
        const auto head = key.substr(0, key.find_first_of(":."));
        if (head == name) return true;
      }
      return false;
    });
  };
  for (const std::string_view type : supported_types()) {
    for (const auto& parameter : parameters_of(type)) {
      EXPECT_TRUE(tested(type, parameter.name)) << type << "." << parameter.name << " has no case";
      EXPECT_TRUE(parse_search_query(type, {{std::string(parameter.name) + ":missing", "false"}}))
          << type << "." << parameter.name;
      auto result = service_->search(
          all_, *parse_search_query(type, {{std::string(parameter.name) + ":missing", "false"}}));
      ASSERT_TRUE(result);
      EXPECT_FALSE(result->matches.empty())
          << type << "." << parameter.name << " has no value in the seeded records";
    }
  }
}

TEST_P(SearchTest, SortsByDateAcrossPages) {
  auto parsed = *parse_search_query("Observation", query("patient=asha&_sort=-date&_count=2"));
  std::vector<std::string> order;
  for (int page = 0; page < 10; ++page) {
    auto result = service_->search(all_, parsed);
    ASSERT_TRUE(result) << result.error().message;
    for (const auto& resource : result->matches) order.push_back(resource.id);
    if (result->next_cursor.empty()) break;
    parsed.cursor = result->next_cursor;
  }
  EXPECT_THAT(order, ElementsAre("o5", "o4", "o3", "o2", "o1"));

  parsed = *parse_search_query("Encounter", query("_sort=date"));
  auto encounters = service_->search(all_, parsed);
  ASSERT_TRUE(encounters);
  ASSERT_EQ(encounters->matches.size(), 2u);
  EXPECT_EQ(encounters->matches[0].id, "e1");
  // Records without the value come last either way.
  parsed = *parse_search_query("Observation", query("_sort=-date&code=2345-7"));
  parsed.count = 10;
  auto observations = service_->search(all_, parsed);
  ASSERT_TRUE(observations);
  ASSERT_EQ(observations->matches.size(), 4u);
  EXPECT_EQ(observations->matches[0].id, "o3");
  auto bad = *parse_search_query("Observation", query("_sort=date"));
  bad.cursor = "k12";
  EXPECT_EQ(service_->search(all_, bad).error().code, ErrorCode::kInvalidArgument);
}

TEST_P(SearchTest, TotalsAndCountOnly) {
  auto parsed = *parse_search_query("Observation", query("patient=asha&_total=accurate&_count=2"));
  auto result = service_->search(all_, parsed);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->matches.size(), 2u);
  EXPECT_EQ(result->total, 5u);
  parsed = *parse_search_query("Observation", query("code=2345-7&_summary=count"));
  result = service_->search(all_, parsed);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->matches.empty());
  EXPECT_EQ(result->total, 4u);
  parsed = *parse_search_query("Observation", query("patient=asha"));
  EXPECT_FALSE(service_->search(all_, parsed)->total);
}

TEST_P(SearchTest, IncludesAndReverseIncludes) {
  auto parsed = *parse_search_query(
      "Observation", query("patient=asha&_include=Observation:subject&_include=Observation:"
                           "encounter&_include=Observation:performer:Organization"));
  parsed.count = 10;
  auto result = service_->search(all_, parsed);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->matches.size(), 5u);
  std::vector<std::string> included;
  for (const auto& resource : result->included) {
    included.push_back(resource.type + "/" + resource.id);
  }
  // Each once, and the performer only when it is of the named type.
  EXPECT_THAT(included, UnorderedElementsAreArray({"Patient/asha", "Encounter/e1"}));

  parsed = *parse_search_query(
      "Patient", query("_id=asha&_revinclude=Observation:patient&_revinclude=Condition:subject"));
  result = service_->search(all_, parsed);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->matches.size(), 1u);
  EXPECT_EQ(result->included.size(), 6u);

  // Records the caller may not read are left out of includes.
  const auth::AccessToken observations_only{"c-obs",
                                            *auth::ScopeSet::parse("system/Observation.rs"), 0};
  parsed = *parse_search_query("Observation", query("patient=asha&_include=Observation:subject"));
  result = service_->search(observations_only, parsed);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->matches.empty());
  EXPECT_TRUE(result->included.empty());
  // And a chain through a type the caller may not search is refused.
  parsed = *parse_search_query("Observation", query("patient.name=asha"));
  EXPECT_EQ(service_->search(observations_only, parsed).error().code, ErrorCode::kPermissionDenied);
}

TEST_P(SearchTest, DeletedAndChangedRecordsLeaveTheResults) {
  ASSERT_TRUE(service_->remove(all_, "Observation", "o6"));
  EXPECT_THAT(ids("Observation", "code=2345-7"), ElementsAre("o1", "o2", "o3"));
  put("Patient", "meena",
      R"({"resourceType":"Patient","id":"meena","name":[{"family":"Gupta"}],"gender":"female"})");
  EXPECT_THAT(ids("Patient", "family=sharma"), ElementsAre("asha"));
  EXPECT_THAT(ids("Patient", "family=gupta"), ElementsAre("meena"));
  EXPECT_THAT(ids("Patient", "birthdate:missing=true"), ElementsAre("meena"));
}

// A coding is indexed by its bare code, which "system|code" looks up too: the same code in another
// system is a candidate that the exact check drops, and an identifier's system still tells two
// equal values apart.
TEST_P(SearchTest, TheSameCodeInAnotherSystemIsNotASystemMatch) {
  put("Observation", "local",
      R"({"resourceType":"Observation","id":"local","status":"final",
      "code":{"coding":[{"system":"urn:kavach-test:local-codes","code":"2345-7"}]},
      "subject":{"reference":"Patient/ravi"}})");
  put("Patient", "twin",
      R"({"resourceType":"Patient","id":"twin","name":[{"family":"Twin"}],
      "identifier":[{"system":"urn:kavach-test:mrn","value":"11-1111"}]})");
  EXPECT_THAT(ids("Observation", "code=http://loinc.org%7C2345-7"),
              ElementsAre("o1", "o2", "o3", "o6"));
  EXPECT_THAT(ids("Observation", "code=urn:kavach-test:local-codes%7C2345-7"),
              ElementsAre("local"));
  EXPECT_THAT(ids("Observation", "code=2345-7"), ElementsAre("local", "o1", "o2", "o3", "o6"));
  EXPECT_THAT(ids("Patient", "identifier=https://healthid.abdm.gov.in%7C11-1111"),
              ElementsAre("asha"));
  EXPECT_THAT(ids("Patient", "identifier=11-1111"), ElementsAre("asha", "twin"));
}

// _lastUpdated and searches with nothing indexed read the records' own times: a record counts
// at its current version's time, and a deleted one not at all.
TEST_P(SearchTest, LastUpdatedSelectsByTheCurrentVersionsTime) {
  clock_.advance(std::chrono::hours(24));  // 2023-11-15T22:13:20Z
  put("Patient", "ravi",
      R"({"resourceType":"Patient","id":"ravi","name":[{"family":"Verma"}],"gender":"male"})");
  clock_.advance(std::chrono::hours(24));
  ASSERT_TRUE(service_->remove(all_, "Patient", "meena"));

  EXPECT_THAT(ids("Patient", ""), ElementsAre("asha", "ravi"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=2023-11-14"), ElementsAre("asha"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=2023-11-15"), ElementsAre("ravi"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=2023-11-16"), ElementsAre());
  EXPECT_THAT(ids("Patient", "_lastUpdated=gt2023-11-14"), ElementsAre("ravi"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=sa2023-11-14"), ElementsAre("ravi"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=ge2023-11-15"), ElementsAre("ravi"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=lt2023-11-15"), ElementsAre("asha"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=eb2023-11-15"), ElementsAre("asha"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=le2023-11-15"), ElementsAre("asha", "ravi"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=ne2023-11-14"), ElementsAre("ravi"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=2023-11-14,2023-11-15"), ElementsAre("asha", "ravi"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=ge2023-11-14&_lastUpdated=lt2023-11-15"),
              ElementsAre("asha"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=ge2023-11-15&_lastUpdated=lt2023-11-15"), ElementsAre());
  EXPECT_THAT(ids("Patient", "gender=female&_lastUpdated=2023-11-14"), ElementsAre("asha"));
  // To the millisecond at the edges: ravi's version was written at 22:13:20.000 exactly.
  EXPECT_THAT(ids("Patient", "_lastUpdated=ge2023-11-15T22:13:20.000Z"), ElementsAre("ravi"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=gt2023-11-15T22:13:20.000Z"), ElementsAre());
  EXPECT_THAT(ids("Patient", "_lastUpdated=lt2023-11-15T22:13:20.000Z"), ElementsAre("asha"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=le2023-11-15T22:13:20.000Z"),
              ElementsAre("asha", "ravi"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=2023-11-15T22:13:20.000Z"), ElementsAre("ravi"));
  EXPECT_THAT(ids("Patient", "_lastUpdated=2023-11-15T22:13:19.999Z"), ElementsAre());
}

INSTANTIATE_TEST_SUITE_P(Backends, SearchTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& backend) { return backend.param; });

}  // namespace
}  // namespace kavach::fhir
