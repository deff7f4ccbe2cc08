// Audit entries come back from storage (which an attacker may have edited) and from exports.
// Whatever decodes must re-encode to the same bytes: one encoding per entry.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "audit/audit_entry.h"
#include "audit/entry_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto decoded = kavach::audit::decode_entry(bytes);
  if (!decoded) return 0;
  // In the version it was read in: an entry of version 2 re-encodes as version 2.
  auto encoded = kavach::audit::encode_entry(*decoded, kavach::audit::records_version_of(bytes));
  if (!encoded || !std::equal(encoded->begin(), encoded->end(), bytes.begin(), bytes.end())) {
    std::abort();
  }
  // The guard's quick read of an entry must agree with the full decode wherever that succeeds.
  const auto facts = kavach::audit::read_entry_facts(bytes);
  if (!facts || !(*facts == kavach::audit::facts_of(*decoded))) std::abort();
  (void)kavach::audit::entry_json(*decoded);
  return 0;
}
