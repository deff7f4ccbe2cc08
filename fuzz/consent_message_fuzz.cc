// Consent messages arrive from outside: an HIU's consent-requests/init body, a CM's
// consents/hip/notify notice with its artefact and signature, health IDs typed by people. Any
// input is parsed and checked or refused with an error; none may crash, hang or verify.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "common/canonical_json.h"
#include "common/limits.h"
#include "consent/abha.h"
#include "consent/consent_artefact.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kavach;
  static const auto signer =
      *consent::ArtefactSigner::from_seed(crypto::SecretBytes(std::vector<std::uint8_t>(32, 7)));
  static const auto verifier = consent::ArtefactVerifier::from_public_key(signer.public_key());
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)consent::parse_abha_number(text);
  (void)consent::parse_abha_address(text);

  boost::json::parse_options options;
  options.max_depth = limits::kJsonDepthMax;
  boost::system::error_code error;
  const auto value = boost::json::parse(text, error, {}, options);
  if (error) return 0;
  (void)canonical_json(value);
  (void)consent::parse_consent_detail(value);
  const auto* object = value.if_object();
  if (object == nullptr) return 0;
  (void)consent::parse_consent_terms(*object, 1'800'000'000'000);
  if (const auto* consent_value = object->if_contains("consent");
      consent_value && consent_value->is_object()) {
    (void)consent::parse_consent_terms(consent_value->as_object(), 1'800'000'000'000);
  }
  if (const auto* notification = object->if_contains("notification");
      notification && notification->is_object()) {
    // Nothing the fuzzer writes can carry a valid signature by this key.
    if (verifier.open(notification->as_object())) __builtin_trap();
  }
  return 0;
}
