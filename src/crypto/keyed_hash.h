// Keyed hashes. blind_index() turns a searchable identifying value (a name, a phone number, a code)
// into a deterministic 32-byte keyed BLAKE2b tag, so equality search works while the value itself
// is never stored. mac()/verify_mac() authenticate tokens (HMAC-SHA-512-256). Thread-safety:
// stateless functions; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "crypto/encoding.h"
#include "crypto/secret_bytes.h"

namespace kavach::crypto {

inline constexpr std::size_t kBlindIndexBytes = 32;
inline constexpr std::size_t kMacBytes = 32;

using BlindIndex = std::array<std::uint8_t, kBlindIndexBytes>;

// The domain separates index spaces (for example "Patient.family"), so one value indexed under two
// parameters yields unrelated tags.
BlindIndex blind_index(const SecretBytes& key, std::string_view domain, std::string_view value);

std::array<std::uint8_t, kMacBytes> mac(const SecretBytes& key,
                                        std::span<const std::uint8_t> message);
bool verify_mac(const SecretBytes& key, std::span<const std::uint8_t> message,
                std::span<const std::uint8_t> tag);

// Derives a 32-byte subkey for one purpose from a master key (BLAKE2b KDF).
SecretBytes derive_subkey(const SecretBytes& master, std::uint64_t subkey_id,
                          std::string_view context8);

}  // namespace kavach::crypto
