// Deterministic synthetic Indian patients for demos, tests and benchmarks: names by region, sexes
// and ages in plausible proportions, ABHA-style 14-digit numbers with a Luhn check digit, mobile
// numbers, and one to three visits (care contexts) each, with records of every ABDM HI type coded
// with LOINC and SNOMED CT: OP consultations, prescriptions, lab reports with numeric results,
// imaging reports, discharge summaries, immunisations, wellness vitals and a scanned document.
// Every record names its Encounter. The same seed always yields the same people; nothing here
// resembles a real person except by chance.
// Thread-safety: a generator is confined to one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kavach::synthetic {

struct SyntheticResource {
  std::string type;
  // FHIR R4 JSON; "{patient}" stands where the Patient id goes and "{encounter}" where the id of
  // the last Encounter before it in the list goes.
  std::string json;
};

struct SyntheticPatient {
  std::string patient_json;
  std::vector<SyntheticResource> records;
};

class PopulationGenerator {
 public:
  explicit PopulationGenerator(std::uint64_t seed) : state_(seed ^ 0x9e3779b97f4a7c15ULL) {}
  SyntheticPatient next_patient();

 private:
  std::uint64_t next();  // splitmix64: the same sequence on every platform
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }
  std::uint64_t state_;
};

// The Luhn check digit for a string of decimal digits.
char luhn_check_digit(const std::string& digits);

}  // namespace kavach::synthetic
