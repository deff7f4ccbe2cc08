// JSON Patch bodies arrive in PATCH requests. Any input either applies or is refused with an
// error; none may crash, hang or grow without bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json.hpp>

#include "fhir/json_patch.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const boost::json::value document = boost::json::parse(
      R"({"resourceType":"Observation","id":"o1","status":"final",)"
      R"("code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},)"
      R"("valueQuantity":{"value":7.9,"unit":"%"},"note":[{"text":"a"},{"text":"b"}]})");
  const std::string_view patch(reinterpret_cast<const char*>(data), size);
  (void)kavach::fhir::apply_json_patch(document, patch);
  return 0;
}
