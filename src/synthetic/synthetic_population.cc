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

// A condition with what is usually prescribed for it and a procedure an inpatient stay for it
// might involve.
struct Condition {
  const char* snomed;
  const char* display;
  const char* drug_snomed;
  const char* drug;
  const char* dosage;
  const char* procedure_snomed;
  const char* procedure;
};
constexpr std::array<Condition, 5> kConditions = {{
    {"44054006", "Diabetes mellitus type 2", "325278007", "Metformin 500 mg tablet",
     "1 tablet twice a day after meals", "698472009", "Blood glucose monitoring"},
    {"38341003", "Hypertensive disorder", "318859008", "Amlodipine 5 mg tablet",
     "1 tablet once a day", "46973005", "Blood pressure taking"},
    {"195967001", "Asthma", "320149006", "Salbutamol 100 micrograms inhaler",
     "2 puffs when breathless", "23426006", "Measurement of respiratory function"},
    {"56717001", "Tuberculosis", "376515006", "Rifampicin 450 mg capsule",
     "1 capsule once a day before breakfast", "168731009", "Chest X-ray"},
    {"271737000", "Anaemia", "330793003", "Ferrous sulfate 200 mg tablet", "1 tablet once a day",
     "5447007", "Transfusion"},
}};

// Lab tests with a plausible range of results, in tenths of the unit.
struct LabTest {
  const char* loinc;
  const char* display;
  const char* unit;
  std::uint64_t low_tenths;
  std::uint64_t high_tenths;
  const char* range;
};
constexpr std::array<LabTest, 4> kLabTests = {{
    {"4548-4", "Hemoglobin A1c", "%", 50, 110, "4.0-5.6 %"},
    {"1558-6", "Fasting glucose", "mg/dL", 700, 2400, "70-99 mg/dL"},
    {"718-7", "Hemoglobin", "g/dL", 80, 160, "12.0-15.5 g/dL"},
    {"2160-0", "Creatinine", "mg/dL", 6, 20, "0.6-1.2 mg/dL"},
}};

// Blood pressure, pulse and weight (in tenths of a kilogram), as a wellness record.
std::string vital_signs(const std::string& visit, std::uint64_t systolic, std::uint64_t diastolic,
                        std::uint64_t pulse, std::uint64_t weight_tenths) {
  return fmt::format(
      R"({{"resourceType":"Observation","status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}}]}}],)"
      R"("code":{{"coding":[{{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel"}}]}},)"
      R"("subject":{{"reference":"Patient/{{patient}}"}},"encounter":{{"reference":"Encounter/{{encounter}}"}},)"
      R"("effectiveDateTime":"{}T10:05:00+05:30","component":[)"
      R"({{"code":{{"coding":[{{"system":"http://loinc.org","code":"8480-6","display":"Systolic blood pressure"}}]}},"valueQuantity":{{"value":{},"unit":"mm[Hg]"}}}},)"
      R"({{"code":{{"coding":[{{"system":"http://loinc.org","code":"8462-4","display":"Diastolic blood pressure"}}]}},"valueQuantity":{{"value":{},"unit":"mm[Hg]"}}}},)"
      R"({{"code":{{"coding":[{{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}}]}},"valueQuantity":{{"value":{},"unit":"/min"}}}},)"
      R"({{"code":{{"coding":[{{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}}]}},"valueQuantity":{{"value":{}.{},"unit":"kg"}}}}]}})",
      visit, systolic, diastolic, pulse, weight_tenths / 10, weight_tenths % 10);
}

// An NRCeS document Composition of the visit (the OP consultation or the discharge summary).
std::string composition(const char* snomed, const char* display, const char* title,
                        const std::string& date, const char* diagnosis) {
  return fmt::format(
      R"({{"resourceType":"Composition","status":"final",)"
      R"("type":{{"coding":[{{"system":"http://snomed.info/sct","code":"{}","display":"{}"}}]}},)"
      R"("subject":{{"reference":"Patient/{{patient}}"}},"encounter":{{"reference":"Encounter/{{encounter}}"}},)"
      R"("date":"{}","author":[{{"display":"Treating physician"}}],"title":"{}",)"
      R"("section":[{{"title":"Diagnosis","code":{{"coding":[{{"system":"http://snomed.info/sct","code":"439401001","display":"Diagnosis"}}]}},)"
      R"("text":{{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>"}}}}]}})",
      snomed, display, date, title, diagnosis);
}

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
  auto record = [&](const char* type, std::string json) {
    patient.records.push_back({type, std::move(json)});
  };
  // One to three visits (care contexts); every record names its visit, as ABDM links records by
  // care context. Outpatient visits carry a consultation, vitals, a lab report with numeric
  // results and a prescription; inpatient stays a procedure, an imaging report and a discharge
  // summary. The first visit also carries an immunisation and a scanned document, so every HI
  // type appears.
  const auto visits = 1 + below(3);
  for (std::uint64_t visit_number = 0; visit_number < visits; ++visit_number) {
    const bool inpatient = below(100) < 20;
    const auto year = 2025 + below(2);
    const auto month = 1 + below(year == 2026 ? 10 : 12);
    const auto day = 1 + below(25);
    const std::string visit = fmt::format("{}-{:02}-{:02}", year, month, day);
    const std::string discharge = fmt::format("{}-{:02}-{:02}", year, month, day + 1 + below(3));
    record(
        "Encounter",
        fmt::format(
            R"({{"resourceType":"Encounter","status":"finished",)"
            R"("class":{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"{}"}},)"
            R"("subject":{{"reference":"Patient/{{patient}}"}},)"
            R"("period":{{"start":"{}T10:00:00+05:30","end":"{}T{}:00+05:30"}}}})",
            inpatient ? "IMP" : "AMB", visit, inpatient ? discharge : visit,
            inpatient ? "12:00" : "10:20"));
    record(
        "Condition",
        fmt::format(
            R"({{"resourceType":"Condition","clinicalStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}}]}},)"
            R"("code":{{"coding":[{{"system":"http://snomed.info/sct","code":"{}","display":"{}"}}]}},)"
            R"("subject":{{"reference":"Patient/{{patient}}"}},"encounter":{{"reference":"Encounter/{{encounter}}"}},)"
            R"("recordedDate":"{}"}})",
            condition.snomed, condition.display, visit));
    record(
        "MedicationRequest",
        fmt::format(
            R"({{"resourceType":"MedicationRequest","status":"active","intent":"order",)"
            R"("medicationCodeableConcept":{{"coding":[{{"system":"http://snomed.info/sct","code":"{}","display":"{}"}}]}},)"
            R"("subject":{{"reference":"Patient/{{patient}}"}},"encounter":{{"reference":"Encounter/{{encounter}}"}},)"
            R"("authoredOn":"{}","dosageInstruction":[{{"text":"{}"}}]}})",
            condition.drug_snomed, condition.drug, visit, condition.dosage));
    if (!inpatient) {
      record("Observation",
             vital_signs(visit, 105 + below(50), 65 + below(30), 60 + below(40), 450 + below(450)));
      for (const auto& test : kLabTests) {
        if (below(3) == 0) continue;  // each test on two visits in three
        const auto tenths = test.low_tenths + below(test.high_tenths - test.low_tenths);
        record(
            "Observation",
            fmt::format(
                R"({{"resourceType":"Observation","status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}}]}}],)"
                R"("code":{{"coding":[{{"system":"http://loinc.org","code":"{}","display":"{}"}}]}},)"
                R"("subject":{{"reference":"Patient/{{patient}}"}},"encounter":{{"reference":"Encounter/{{encounter}}"}},)"
                R"("effectiveDateTime":"{}T09:00:00+05:30","valueQuantity":{{"value":{}.{},"unit":"{}","system":"http://unitsofmeasure.org","code":"{}"}},)"
                R"("referenceRange":[{{"text":"{}"}}]}})",
                test.loinc, test.display, visit, tenths / 10, tenths % 10, test.unit, test.unit,
                test.range));
      }
      record(
          "DiagnosticReport",
          fmt::format(
              R"({{"resourceType":"DiagnosticReport","status":"final",)"
              R"("category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"LAB"}}]}}],)"
              R"("code":{{"coding":[{{"system":"http://loinc.org","code":"24323-8","display":"Comprehensive metabolic panel"}}]}},)"
              R"("subject":{{"reference":"Patient/{{patient}}"}},"encounter":{{"reference":"Encounter/{{encounter}}"}},)"
              R"("effectiveDateTime":"{}T09:00:00+05:30","issued":"{}T14:00:00+05:30","conclusion":"Reviewed by the treating physician."}})",
              visit, visit));
      record("Composition", composition("371530004", "Clinical consultation report",
                                        "OP consultation", visit, condition.display));
    } else {
      record(
          "Procedure",
          fmt::format(
              R"({{"resourceType":"Procedure","status":"completed",)"
              R"("code":{{"coding":[{{"system":"http://snomed.info/sct","code":"{}","display":"{}"}}]}},)"
              R"("subject":{{"reference":"Patient/{{patient}}"}},"encounter":{{"reference":"Encounter/{{encounter}}"}},)"
              R"("performedDateTime":"{}T15:00:00+05:30"}})",
              condition.procedure_snomed, condition.procedure, visit));
      record(
          "DiagnosticReport",
          fmt::format(
              R"({{"resourceType":"DiagnosticReport","status":"final",)"
              R"("category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"RAD"}}]}}],)"
              R"("code":{{"coding":[{{"system":"http://loinc.org","code":"36643-5","display":"XR Chest 2 Views"}}]}},)"
              R"("subject":{{"reference":"Patient/{{patient}}"}},"encounter":{{"reference":"Encounter/{{encounter}}"}},)"
              R"("effectiveDateTime":"{}T11:30:00+05:30","conclusion":"{}"}})",
              visit,
              below(4) == 0 ? "Patchy consolidation in the right lower zone."
                            : "No active lung lesion. Heart size normal."));
      record("Composition", composition("373942005", "Discharge summary", "Discharge summary",
                                        discharge, condition.display));
    }
    if (visit_number == 0) {
      record(
          "Immunization",
          fmt::format(
              R"({{"resourceType":"Immunization","status":"completed","vaccineCode":{{"coding":[{{"system":"http://snomed.info/sct","code":"{}","display":"{}"}}]}},)"
              R"("patient":{{"reference":"Patient/{{patient}}"}},"encounter":{{"reference":"Encounter/{{encounter}}"}},)"
              R"("occurrenceDateTime":"{}T10:10:00+05:30"}})",
              below(2) == 0 ? "1119349007" : "871866001",
              below(2) == 0 ? "COVID-19 mRNA vaccine" : "Hepatitis B vaccine", visit));
      record(
          "DocumentReference",
          fmt::format(
              R"({{"resourceType":"DocumentReference","status":"current",)"
              R"("type":{{"coding":[{{"system":"http://snomed.info/sct","code":"419891008","display":"Record artifact"}}]}},)"
              R"("subject":{{"reference":"Patient/{{patient}}"}},"date":"{}T10:15:00+05:30",)"
              R"("content":[{{"attachment":{{"contentType":"text/plain","title":"Referral letter","data":"UmVmZXJyYWwgbGV0dGVyIChzeW50aGV0aWMp"}}}}],)"
              R"("context":{{"encounter":[{{"reference":"Encounter/{{encounter}}"}}]}}}})",
              visit));
    }
  }
  return patient;
}

}  // namespace kavach::synthetic
