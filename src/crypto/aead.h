// Authenticated encryption of stored payloads and wrapped keys: XChaCha20-Poly1305 (IETF) from
// libsodium with a fresh random 24-byte nonce per message, stored in front of the ciphertext.
// The associated data binds a ciphertext to where it belongs, so a sealed value copied to another
// row, patient or version fails to open.
// Thread-safety: stateless functions; safe from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/error.h"
#include "crypto/encoding.h"
#include "crypto/secret_bytes.h"

namespace kavach::crypto {

inline constexpr std::size_t kAeadKeyBytes = 32;
inline constexpr std::size_t kAeadNonceBytes = 24;
inline constexpr std::size_t kAeadTagBytes = 16;

// Returns nonce || ciphertext || tag. The key must be kAeadKeyBytes long.
Bytes seal(const SecretBytes& key, std::span<const std::uint8_t> plaintext,
           std::string_view associated_data);

// Deterministic sealing, for content-addressed backup objects: the nonce is a keyed BLAKE2b hash
// (under `nonce_key`) of the associated data and plaintext, so equal inputs give equal outputs and
// deduplicate, while anything else still gets a distinct nonce (a synthetic IV). It reveals only
// whether two objects are equal. Output and opening are as seal()/open().
Bytes seal_deterministic(const SecretBytes& key, const SecretBytes& nonce_key,
                         std::span<const std::uint8_t> plaintext, std::string_view associated_data);

// Opens what seal() produced; kDataLoss if the key, associated data or bytes do not match.
Result<Bytes> open(const SecretBytes& key, std::span<const std::uint8_t> sealed,
                   std::string_view associated_data);

// The same for secrets (wrapped keys): the plaintext lands directly in locked memory.
Result<SecretBytes> open_secret(const SecretBytes& key, std::span<const std::uint8_t> sealed,
                                std::string_view associated_data);

}  // namespace kavach::crypto
