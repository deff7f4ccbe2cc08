// GuardPolicy: the budgets and lists of the anomaly guard (issue 7, docs/guard.md), from the
// [guard] table of the node's configuration. The defaults are set well above what a hospital's
// clinical use needs (a busy outpatient doctor sees some 100 patients a day; an HMIS creates
// records in bulk but rarely rewrites them), and far below what a scraper or ransomware does.
#pragma once

#include <chrono>
#include <cstddef>
#include <set>
#include <string>

namespace kavach::guard {

struct GuardPolicy {
  // Distinct patients one principal may read (read, search, history) in an hour.
  std::size_t patients_read_per_hour = 300;
  // Updates and deletes of existing records by one principal in ten minutes.
  std::size_t rewrites_per_ten_minutes = 1000;
  // Records one principal may export in bulk in an hour.
  std::size_t exported_records_per_hour = 200'000;
  // Rewrites whose content looks like random bytes (ciphertext, not clinical text) by one principal
  // in ten minutes: JSON of at least random_min_bytes with at least random_bits_per_byte of
  // Shannon entropy. FHIR JSON sits near 4.5 to 5.3 bits per byte; base64 of random bytes near 6.
  std::size_t random_rewrites_per_ten_minutes = 5;
  double random_bits_per_byte = 5.6;
  std::size_t random_min_bytes = 512;
  // Patients no real care touches: any access alerts and locks the principal.
  std::set<std::string> canary_patients;
  // Records the scrub opens per minute (0: no scrub); each full pass covers every stored version.
  std::size_t scrub_records_per_minute = 6000;
};

}  // namespace kavach::guard
