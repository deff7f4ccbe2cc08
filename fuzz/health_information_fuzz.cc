// The exchange's messages arrive from other nodes: an HIU's hiRequest, a HIP's pushed page with
// its key material, either side's notification, a HIP's discovery answer with its care contexts,
// and the Patient records a HIP matches a discovery against; and from a patient's browser, the
// ask for their own records. Any input is parsed or refused with
// an error; none may crash or hang, and a page the fuzzer writes never decrypts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json.hpp>

#include "common/limits.h"
#include "exchange/health_information.h"
#include "exchange/hip_links.h"
#include "exchange/patient_links.h"
#include "exchange/patient_locker.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kavach;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::json::parse_options options;
  options.max_depth = limits::kJsonDepthMax;
  boost::system::error_code error;
  const auto value = boost::json::parse(text, error, {}, options);
  if (error) return 0;
  (void)exchange::parse_hi_request(value);
  (void)exchange::parse_notification(value);
  (void)exchange::parse_care_contexts(value, "careContexts");
  if (auto page = exchange::parse_data_page(value)) {
    // Round trip: what was accepted is written back and read again the same.
    const auto again = exchange::parse_data_page(exchange::data_page_to_json(*page));
    if (!again || again->entries.size() != page->entries.size()) __builtin_trap();
  }
  const auto* object = value.if_object();
  if (object == nullptr) return 0;
  (void)exchange::parse_locker_ask(*object);
  if (const auto* hi_request = object->if_contains("hiRequest")) {
    (void)exchange::parse_hi_request(*hi_request);
  }
  if (const auto* notification = object->if_contains("notification")) {
    (void)exchange::parse_notification(*notification);
  }
  exchange::PatientQuery query{"asha.devi@sbx", "", "", "Asha Devi", "F", 1986};
  (void)exchange::demographics_match(query, *object);
  query.gender = "U";
  query.name = text.substr(0, 64);
  (void)exchange::demographics_match(query, *object);
  return 0;
}
