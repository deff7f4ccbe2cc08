// Bearer tokens and scope strings come from outside on every API call.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/token_service.h"
#include "common/clock.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const kavach::ManualClock clock{kavach::TimePoint{std::chrono::seconds{1'700'000'000}}};
  static const kavach::auth::TokenService tokens{kavach::crypto::SecretBytes(32), clock,
                                                 std::chrono::seconds{300}};
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)tokens.verify(text);
  if (auto scopes = kavach::auth::ScopeSet::parse(text)) {
    (void)scopes->allows("Patient", kavach::auth::Interaction::kRead);
    (void)kavach::auth::ScopeSet::parse(scopes->text()).value();
  }
  return 0;
}
