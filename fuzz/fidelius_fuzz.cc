// Fidelius key material and ciphertexts arrive from other nodes (keyMaterial of a data request,
// the entries of a data push). Any input is parsed or refused; none may crash or decrypt.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exchange/fidelius.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kavach::exchange;
  static const FideliusKeyPair own = *generate_key_pair();
  static const FideliusKeyPair peer = *generate_key_pair();
  static const FideliusNonce nonce{};
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parse_public_key(text);
  (void)parse_private_key(text);
  (void)parse_nonce(text);
  // No input the fuzzer writes carries a valid tag under fresh keys.
  if (decrypt(own.private_key, peer.public_key, nonce, nonce, text)) __builtin_trap();
  return 0;
}
