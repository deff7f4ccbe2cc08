// Scrubber: opens every stored record version, a slice at a time, and raises an alert for any that
// fails authentication, which means it was changed beneath Kavach (by someone with the database
// but not the keys): ransomware encrypting rows in place, a disk corrupting them, an insider's
// edit. Versions whose patient was erased are skipped (they can never open, by design). A full
// pass covers the whole history, then the scrub starts again from the beginning.
// Thread-safety: one step at a time (the serve loop's periodic task).
#pragma once

#include <cstdint>

#include "guard/alert_book.h"
#include "store/store.h"
#include "vault/record_sealer.h"

namespace kavach::guard {

struct ScrubReport {
  std::size_t opened = 0;
  std::size_t erased = 0;  // skipped: the patient's key was destroyed
  std::size_t failed = 0;  // alerted
  bool wrapped = false;    // the pass reached the end and starts over
};

class Scrubber {
 public:
  Scrubber(store::Store& store, vault::RecordSealer& sealer, AlertBook& alerts)
      : store_(store), sealer_(sealer), alerts_(alerts) {}

  // Opens up to `records` versions after the cursor.
  Result<ScrubReport> step(std::size_t records);

 private:
  store::Store& store_;
  vault::RecordSealer& sealer_;
  AlertBook& alerts_;
  std::int64_t cursor_ = 0;  // the last change-feed position opened
};

}  // namespace kavach::guard
