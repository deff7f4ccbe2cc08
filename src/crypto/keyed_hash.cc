#include "crypto/keyed_hash.h"

#include <sodium.h>

#include "common/check.h"
#include "crypto/sodium.h"

namespace kavach::crypto {

BlindIndex blind_index(const SecretBytes& key, std::string_view domain, std::string_view value) {
  ensure_sodium();
  CHECK(key.size() >= crypto_generichash_KEYBYTES_MIN);
  crypto_generichash_state state;
  crypto_generichash_init(&state, key.view().data(), key.size(), kBlindIndexBytes);
  // Length-prefix the domain so ("ab", "c") and ("a", "bc") cannot collide.
  const auto domain_size = static_cast<std::uint32_t>(domain.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(&domain_size),
                            sizeof domain_size);
  crypto_generichash_update(&state, as_bytes(domain).data(), domain.size());
  crypto_generichash_update(&state, as_bytes(value).data(), value.size());
  BlindIndex out{};
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

std::array<std::uint8_t, kMacBytes> mac(const SecretBytes& key,
                                        std::span<const std::uint8_t> message) {
  ensure_sodium();
  CHECK(key.size() == crypto_auth_KEYBYTES);
  std::array<std::uint8_t, kMacBytes> tag{};
  crypto_auth(tag.data(), message.data(), message.size(), key.view().data());
  return tag;
}

bool verify_mac(const SecretBytes& key, std::span<const std::uint8_t> message,
                std::span<const std::uint8_t> tag) {
  ensure_sodium();
  CHECK(key.size() == crypto_auth_KEYBYTES);
  return tag.size() == kMacBytes &&
         crypto_auth_verify(tag.data(), message.data(), message.size(), key.view().data()) == 0;
}

SecretBytes derive_subkey(const SecretBytes& master, std::uint64_t subkey_id,
                          std::string_view context8) {
  ensure_sodium();
  CHECK(master.size() == crypto_kdf_KEYBYTES);
  CHECK(context8.size() == crypto_kdf_CONTEXTBYTES);
  SecretBytes subkey(32);
  crypto_kdf_derive_from_key(subkey.mutable_view().data(), subkey.size(), subkey_id,
                             context8.data(), master.view().data());
  return subkey;
}

}  // namespace kavach::crypto
