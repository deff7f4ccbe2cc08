// Password and client-secret hashing with Argon2id (libsodium crypto_pwhash_str), at the
// interactive cost level: about 64 MiB and 2 passes per hash, so stolen hashes resist offline
// guessing. Thread-safety: stateless; safe from any thread (each call allocates its own memory).
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace kavach::crypto {

// Returns the self-describing "$argon2id$v=19$..." string.
Result<std::string> hash_password(std::string_view secret);
bool verify_password(std::string_view encoded_hash, std::string_view secret);

}  // namespace kavach::crypto
