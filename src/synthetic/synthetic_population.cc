#include "synthetic/synthetic_population.h"

#include <array>

#include <fmt/format.h>

namespace kavach::synthetic {
namespace {

struct Region {
  const char* state;
  const char* city;
  std::array<const char*, 6> surnames;
  unsigned weight;  // share of the population, roughly by state size
};

constexpr std::array<Region, 8> kRegions = {{
    {"Uttar Pradesh", "Lucknow", {"Yadav", "Singh", "Mishra", "Verma", "Gupta", "Srivastava"}, 17},
    {"Maharashtra", "Pune", {"Patil", "Deshmukh", "Kulkarni", "Jadhav", "Shinde", "Pawar"}, 9},
    {"Bihar", "Patna", {"Kumar", "Prasad", "Jha", "Sinha", "Thakur", "Choudhary"}, 9},
    {"West Bengal", "Kolkata", {"Das", "Chatterjee", "Banerjee", "Ghosh", "Mukherjee", "Bose"}, 8},
    {"Tamil Nadu",
     "Chennai",
     {"Murugan", "Subramanian", "Raman", "Krishnan", "Natarajan", "Selvam"},
     6},
    {"Karnataka", "Bengaluru", {"Gowda", "Hegde", "Rao", "Shetty", "Naik", "Kamath"}, 5},
    {"Gujarat", "Ahmedabad", {"Patel", "Shah", "Desai", "Mehta", "Joshi", "Parmar"}, 5},
    {"Kerala", "Kochi", {"Nair", "Menon", "Pillai", "Kurian", "Thomas", "Varghese"}, 3},
}};

constexpr std::array<const char*, 12> kFemaleNames = {"Asha",   "Priya",  "Sunita", "Lakshmi",
                                                      "Anjali", "Kavita", "Meena",  "Pooja",
                                                      "Divya",  "Fatima", "Rekha",  "Shreya"};
constexpr std::array<const char*, 12> kMaleNames = {"Rahul", "Amit",    "Suresh", "Ravi",
                                                    "Arjun", "Vijay",   "Imran",  "Sanjay",
                                                    "Manoj", "Karthik", "Deepak", "Rohan"};

struct Condition {
  const char* snomed;
  const char* display;
};
constexpr std::array<Condition, 5> kConditions = {{{"44054006", "Diabetes mellitus type 2"},
                                                   {"38341003", "Hypertensive disorder"},
                                                   {"195967001", "Asthma"},
                                                   {"56717001", "Tuberculosis"},
                                                   {"271737000", "Anaemia"}}};

}  // namespace

char luhn_check_digit(const std::string& digits) {
  unsigned sum = 0;
  bool double_it = true;  // the check digit will be appended, so the last digit here is doubled
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    unsigned digit = static_cast<unsigned>(*it - '0');
    if (double_it) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
    double_it = !double_it;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

std::uint64_t PopulationGenerator::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

SyntheticPatient PopulationGenerator::next_patient() {
  unsigned total_weight = 0;
  for (const auto& region : kRegions) total_weight += region.weight;
  auto pick = below(total_weight);
  const Region* region = &kRegions[0];
  for (const auto& candidate : kRegions) {
    if (pick < candidate.weight) {
      region = &candidate;
      break;
    }
    pick -= candidate.weight;
  }
  const bool female = below(1000) < 490;
  const char* given =
      female ? kFemaleNames[below(kFemaleNames.size())] : kMaleNames[below(kMaleNames.size())];
  const char* family = region->surnames[below(region->surnames.size())];
  // Ages skew young, as India's population does.
  const auto age = below(100) < 60 ? below(35) : 35 + below(50);
  const auto birth_year = 2026 - static_cast<int>(age);
  const auto birth_month = 1 + below(12);
  const auto birth_day = 1 + below(28);
  std::string abha = fmt::format("91{:011}", below(100'000'000'000ULL));
  abha += luhn_check_digit(abha);
  const std::string abha_text = fmt::format("{}-{}-{}-{}", abha.substr(0, 2), abha.substr(2, 4),
                                            abha.substr(6, 4), abha.substr(10, 4));
  const std::string mobile = fmt::format("+91 {}{:09}", 6 + below(4), below(1'000'000'000ULL));

  SyntheticPatient patient;
  patient.patient_json = fmt::format(
      R"({{"resourceType":"Patient","identifier":[{{"system":"https://healthid.ndhm.gov.in","value":"{}"}}],)"
      R"("name":[{{"family":"{}","given":["{}"],"text":"{} {}"}}],"gender":"{}","birthDate":"{:04}-{:02}-{:02}",)"
      R"("telecom":[{{"system":"phone","value":"{}","use":"mobile"}}],)"
      R"("address":[{{"city":"{}","state":"{}","country":"IN"}}]}})",
      abha_text, family, given, given, family, female ? "female" : "male", birth_year, birth_month,
      birth_day, mobile, region->city, region->state);

  const auto& condition = kConditions[below(kConditions.size())];
  const auto visit_day = 1 + below(28);
  const auto visit_month = 1 + below(10);
  const std::string visit = fmt::format("2026-{:02}-{:02}", visit_month, visit_day);
  const auto systolic = 105 + below(50);
  const auto diastolic = 65 + below(30);
  const auto hba1c = 50 + below(60);  // tenths of a percent
  auto record = [&](const char* type, std::string json) {
    patient.records.push_back({type, std::move(json)});
  };
  record(
      "Encounter",
      fmt::format(
          R"({{"resourceType":"Encounter","status":"finished","class":{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"}},)"
          R"("subject":{{"reference":"Patient/{{patient}}"}},"period":{{"start":"{}T10:00:00+05:30","end":"{}T10:20:00+05:30"}}}})",
          visit, visit));
  record(
      "Condition",
      fmt::format(
          R"({{"resourceType":"Condition","clinicalStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}}]}},)"
          R"("code":{{"coding":[{{"system":"http://snomed.info/sct","code":"{}","display":"{}"}}]}},)"
          R"("subject":{{"reference":"Patient/{{patient}}"}},"recordedDate":"{}"}})",
          condition.snomed, condition.display, visit));
  record(
      "Observation",
      fmt::format(
          R"({{"resourceType":"Observation","status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}}]}}],)"
          R"("code":{{"coding":[{{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}}]}},)"
          R"("subject":{{"reference":"Patient/{{patient}}"}},"effectiveDateTime":"{}T10:05:00+05:30","component":[)"
          R"({{"code":{{"coding":[{{"system":"http://loinc.org","code":"8480-6"}}]}},"valueQuantity":{{"value":{},"unit":"mm[Hg]"}}}},)"
          R"({{"code":{{"coding":[{{"system":"http://loinc.org","code":"8462-4"}}]}},"valueQuantity":{{"value":{},"unit":"mm[Hg]"}}}}]}})",
          visit, systolic, diastolic));
  record(
      "Observation",
      fmt::format(
          R"({{"resourceType":"Observation","status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}}]}}],)"
          R"("code":{{"coding":[{{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c"}}]}},)"
          R"("subject":{{"reference":"Patient/{{patient}}"}},"effectiveDateTime":"{}T09:00:00+05:30",)"
          R"("valueQuantity":{{"value":{}.{},"unit":"%"}}}})",
          visit, hba1c / 10, hba1c % 10));
  record(
      "Immunization",
      fmt::format(
          R"({{"resourceType":"Immunization","status":"completed","vaccineCode":{{"coding":[{{"system":"http://snomed.info/sct","code":"1119349007","display":"COVID-19 mRNA vaccine"}}]}},)"
          R"("patient":{{"reference":"Patient/{{patient}}"}},"occurrenceDateTime":"2025-{:02}-{:02}"}})",
          1 + below(12), 1 + below(28)));
  record(
      "MedicationRequest",
      fmt::format(
          R"({{"resourceType":"MedicationRequest","status":"active","intent":"order",)"
          R"("medicationCodeableConcept":{{"coding":[{{"system":"http://snomed.info/sct","code":"325278007","display":"Metformin 500 mg tablet"}}]}},)"
          R"("subject":{{"reference":"Patient/{{patient}}"}},"authoredOn":"{}"}})",
          visit));
  return patient;
}

}  // namespace kavach::synthetic
