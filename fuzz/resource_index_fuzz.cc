// Resource bodies come from outside; the index extraction walks whatever JSON they hold.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json.hpp>

#include "common/limits.h"
#include "fhir/search_index.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::json::parse_options options;
  options.max_depth = kavach::limits::kJsonDepthMax;
  boost::system::error_code error;
  const auto value = boost::json::parse(text, error, {}, options);
  if (error || !value.is_object()) return 0;
  for (const char* type : {"Patient", "Observation"}) {
    const auto terms = kavach::fhir::extract_index_terms(type, value.get_object());
    // Sorted without repeats (the write path counts them against the per-record limit).
    for (std::size_t i = 1; i < terms.size(); ++i) {
      if (!(terms[i - 1] < terms[i])) __builtin_trap();
    }
    (void)kavach::fhir::partition_of(type, "x", value.get_object());
  }
  return 0;
}
