// Resource bodies come from outside: the JSON parser, the R4 validator and the index extraction
// all walk whatever they hold.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json.hpp>

#include "common/limits.h"
#include "fhir/search_index.h"
#include "fhir/validator.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::json::parse_options options;
  options.max_depth = kavach::limits::kJsonDepthMax;
  boost::system::error_code error;
  const auto value = boost::json::parse(text, error, {}, options);
  if (error || !value.is_object()) return 0;
  const auto& object = value.get_object();
  const auto* type = object.if_contains("resourceType");
  const std::string_view named =
      type != nullptr && type->is_string() ? std::string_view(type->get_string()) : "Patient";
  const auto valid = kavach::fhir::validate_resource(named, object);
  if (!valid && valid.error().message.empty()) __builtin_trap();  // a refusal always says why
  for (const char* indexed_type : {"Patient", "Observation"}) {
    const auto terms = kavach::fhir::extract_index_terms(indexed_type, object);
    // Sorted without repeats (the write path counts them against the per-record limit).
    for (std::size_t i = 1; i < terms.size(); ++i) {
      if (!(terms[i - 1] < terms[i])) __builtin_trap();
    }
    (void)kavach::fhir::partition_of(indexed_type, "x", object);
  }
  return 0;
}
