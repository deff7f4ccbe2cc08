// Validation against the FHIR R4 StructureDefinitions compiled from data/fhir-r4.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "fhir/resource_types.h"
#include "fhir/validator.h"

namespace kavach::fhir {
namespace {

using ::testing::HasSubstr;

boost::json::object parse(std::string_view text) { return boost::json::parse(text).as_object(); }

constexpr std::string_view kObservation = R"({
  "resourceType": "Observation", "id": "o1", "status": "final",
  "meta": {"versionId": "1", "lastUpdated": "2024-01-10T10:00:00.000Z"},
  "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Glucose</div>"},
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "laboratory"}]}],
  "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}],
           "text": "Glucose"},
  "subject": {"reference": "Patient/p1", "display": "Asha"},
  "encounter": {"reference": "urn:uuid:0b1f6d7e-61a3-4c57-9a51-0c2b5b0f7e11"},
  "effectiveDateTime": "2024-01-10T08:00:00+05:30",
  "issued": "2024-01-10T10:00:00.123Z",
  "valueQuantity": {"value": 105.5, "unit": "mg/dL", "system": "http://unitsofmeasure.org",
                    "code": "mg/dL"},
  "referenceRange": [{"low": {"value": 70}, "high": {"value": 100}, "text": "normal"}],
  "component": [{"code": {"text": "fasting"}, "valueBoolean": true,
                 "referenceRange": [{"text": "nested through a content reference"}]}],
  "extension": [{"url": "http://example.org/x", "valueString": "y"}],
  "note": [{"text": "a note", "time": "2024-01-10"}]
})";

// The observation with `field` replaced by `json` (or removed when json is empty).
std::string refusal(std::string_view field, std::string_view json) {
  auto resource = parse(kObservation);
  if (json.empty()) {
    resource.erase(field);
  } else {
    resource[field] = boost::json::parse(json);
  }
  const auto status = validate_resource("Observation", resource);
  if (status) return "";
  EXPECT_EQ(status.error().code, ErrorCode::kUnprocessable);
  return status.error().message;
}

TEST(Validator, AcceptsAConformingResource) {
  const auto status = validate_resource("Observation", parse(kObservation));
  EXPECT_TRUE(status) << status.error().message;
  EXPECT_TRUE(validate_resource("Patient", parse(R"({"resourceType":"Patient",
      "name":[{"family":"Sharma","given":["Asha"]}],"birthDate":"1990-02-03","gender":"female",
      "_birthDate":{"extension":[{"url":"http://example.org/t","valueTime":"10:30:00"}]},
      "telecom":[{"system":"phone","value":"+91 98765 43210"}],"active":true,
      "multipleBirthInteger":2,"deceasedBoolean":false,
      "address":[{"line":["1 Ring Road"],"city":"New Delhi","postalCode":"110029"}]})")));
}

TEST(Validator, UnknownElementsAreNamedByPath) {
  EXPECT_THAT(refusal("colour", R"("red")"), HasSubstr("Observation.colour: not an element"));
  EXPECT_THAT(refusal("code", R"({"coding":[{"sistem":"x"}]})"),
              HasSubstr("Observation.code.coding[0].sistem"));
  EXPECT_THAT(refusal("valueFoo", R"("x")"), HasSubstr("Observation.valueFoo"));
  // A choice element only takes the types its definition lists.
  EXPECT_THAT(refusal("effectiveQuantity", R"({"value":1})"), HasSubstr("effectiveQuantity"));
}

TEST(Validator, CardinalityAndRequiredElements) {
  EXPECT_THAT(refusal("status", ""), HasSubstr("Observation.status: required"));
  EXPECT_THAT(refusal("code", R"([{"text":"x"}])"), HasSubstr("a single value"));
  EXPECT_THAT(refusal("category", R"({"text":"x"})"), HasSubstr("is an array"));
  EXPECT_THAT(refusal("category", R"([])"), HasSubstr("not empty"));
  EXPECT_THAT(refusal("category", R"([null])"), HasSubstr("null"));
  // Required inside a backbone element: a component needs its code.
  EXPECT_THAT(refusal("component", R"([{"valueString":"x"}])"),
              HasSubstr("Observation.component[0].code: required"));
}

TEST(Validator, PrimitiveFormats) {
  EXPECT_THAT(refusal("status", R"("")"), HasSubstr("not empty"));
  EXPECT_THAT(refusal("status", R"(" final")"), HasSubstr("not a code"));
  EXPECT_THAT(refusal("status", R"(7)"), HasSubstr("JSON string"));
  EXPECT_THAT(refusal("effectiveDateTime", R"("2024-01-10T08:00")"), HasSubstr("dateTime"));
  EXPECT_THAT(refusal("effectiveDateTime", R"("2024-02-30")"), HasSubstr("dateTime"));
  EXPECT_THAT(refusal("effectiveDateTime", R"("10/01/2024")"), HasSubstr("dateTime"));
  EXPECT_THAT(refusal("issued", R"("2024-01-10")"), HasSubstr("instant"));
  EXPECT_THAT(refusal("valueQuantity", R"({"value":"105"})"), HasSubstr("a number"));
  EXPECT_THAT(refusal("valueInteger", R"(1.5)"), HasSubstr("whole number"));
  EXPECT_THAT(refusal("valueInteger", R"(4294967296)"), HasSubstr("32-bit"));
  EXPECT_THAT(refusal("valueBoolean", R"("true")"), HasSubstr("true or false"));
  EXPECT_THAT(refusal("valueTime", R"("25:00:00")"), HasSubstr("a time"));
  EXPECT_THAT(refusal("id", R"("no spaces allowed")"), HasSubstr("an id"));
  EXPECT_THAT(refusal("implicitRules", R"("http://a b")"), HasSubstr("a uri"));
  EXPECT_THAT(refusal("valueString", "\"" + std::string((1 << 20) + 1, 'x') + "\""),
              HasSubstr("1 MB"));
  EXPECT_THAT(refusal("text", R"({"status":"generated","div":"<div><script>x</script></div>"})"),
              HasSubstr("without scripts"));
}

TEST(Validator, ReferenceSyntax) {
  for (const char* good :
       {"Patient/p1", "Patient/p1/_history/2", "#contained-1",
        "https://hip.example/fhir/R4/Patient/7", "urn:uuid:0b1f6d7e-61a3-4c57-9a51-0c2b5b0f7e11"}) {
    EXPECT_EQ(refusal("subject", fmt::format(R"({{"reference":"{}"}})", good)), "") << good;
  }
  for (const char* bad : {"patient 1", "Spaceship/1", "Patient/", "Patient/a b", "urn:uuid:123"}) {
    EXPECT_THAT(refusal("subject", fmt::format(R"({{"reference":"{}"}})", bad)),
                HasSubstr("Observation.subject.reference"))
        << bad;
  }
}

TEST(Validator, ContainedAndBundledResourcesAreValidatedToo) {
  auto request = parse(R"({"resourceType":"MedicationRequest","status":"active","intent":"order",
      "subject":{"reference":"Patient/p1"},"medicationReference":{"reference":"#m"},
      "contained":[{"resourceType":"Medication","id":"m","colour":"blue"}]})");
  auto status = validate_resource("MedicationRequest", request);
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("MedicationRequest.contained[0].colour"));

  auto bundle = parse(R"({"resourceType":"Bundle","type":"document",
      "entry":[{"fullUrl":"urn:uuid:0b1f6d7e-61a3-4c57-9a51-0c2b5b0f7e11",
                "resource":{"resourceType":"Patient","gender":"unknown-ish "}}]})");
  status = validate_resource("Bundle", bundle);
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("Bundle.entry[0].resource.gender"));
  bundle["entry"].as_array()[0].as_object()["resource"] =
      boost::json::parse(R"({"resourceType":"Spaceship","status":"draft"})");
  EXPECT_THAT(validate_resource("Bundle", bundle).error().message,
              HasSubstr("not a resource type this server knows"));
}

TEST(Validator, EveryStoredTypeHasDefinitions) {
  // A type the validator did not know would be refused as such, whatever the resource holds.
  const auto unknown = [](std::string_view type) {
    const auto status = validate_resource(type, boost::json::object{});
    return !status && status.error().message.find("not a resource type") != std::string::npos;
  };
  for (const auto type : supported_types()) EXPECT_FALSE(unknown(type)) << type;
  // Every R4 resource type, stored here or not (a contained ServiceRequest, say).
  EXPECT_FALSE(unknown("ServiceRequest"));
  EXPECT_TRUE(unknown("CodeableConcept"));
  EXPECT_TRUE(unknown("Spaceship"));
}

// The elements of `type` that can hold an Attachment, directly or through a complex data type
// (Extension aside: any element may carry an extension with a valueAttachment), read from the
// definitions the validator's tables are compiled from.
std::set<std::string> attachment_paths(const boost::json::object& definitions,
                                       std::string_view type) {
  std::set<std::string> paths;
  std::map<std::string, bool, std::less<>> holds;  // by complex type; false while being looked at
  const std::function<bool(std::string_view)> holds_attachment = [&](std::string_view of) {
    bool found = false;
    for (const auto& element : definitions.at(of).at("elements").as_array()) {
      for (const auto& element_type : element.at(3).as_array()) {
        const std::string name(element_type.as_string());
        const auto* definition = definitions.if_contains(name);
        bool here = name == "Attachment";
        if (!here && name != "Extension" && definition != nullptr &&
            definition->at("kind") == "complex-type") {
          if (const auto known = holds.find(name); known != holds.end()) {
            here = known->second;
          } else {
            holds[name] = false;
            here = holds[name] = holds_attachment(name);
          }
        }
        if (here && of == type) paths.insert(std::string(element.at(0).as_string()));
        found = found || here;
      }
    }
    return found;
  };
  holds_attachment(type);
  return paths;
}

TEST(ResourceTypes, SmallRecordTypesHaveNoAttachmentInTheirDefinitions) {
  const char* source = std::getenv("KAVACH_SOURCE_DIR");
  std::ifstream in(std::filesystem::path(source ? source : ".") /
                   "data/fhir-r4/structure-definitions.json");
  ASSERT_TRUE(in) << "KAVACH_SOURCE_DIR must name the source tree";
  std::stringstream text;
  text << in.rdbuf();
  const auto definitions = boost::json::parse(text.str()).at("definitions").as_object();

  int small = 0;
  for (const auto type : supported_types()) {
    if (!has_small_records(type)) continue;
    ++small;
    EXPECT_TRUE(attachment_paths(definitions, type).empty()) << type;
  }
  EXPECT_EQ(small, 8);
  // What the check finds where there is one, and types refused as small for it.
  EXPECT_EQ(attachment_paths(definitions, "Patient"), std::set<std::string>{"Patient.photo"});
  EXPECT_EQ(attachment_paths(definitions, "DiagnosticReport"),
            std::set<std::string>{"DiagnosticReport.presentedForm"});
  EXPECT_EQ(attachment_paths(definitions, "DocumentReference"),
            std::set<std::string>{"DocumentReference.content.attachment"});
  for (const auto type : {"Binary", "Bundle", "Composition", "DocumentReference",
                          "DiagnosticReport", "Patient", "Practitioner", "ImagingStudy"}) {
    EXPECT_FALSE(has_small_records(type)) << type;
  }
  EXPECT_FALSE(has_small_records("Spaceship"));
}

}  // namespace
}  // namespace kavach::fhir
