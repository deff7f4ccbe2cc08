// libsodium must be initialised once before use; every crypto entry point calls ensure_sodium().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kavach::crypto {

// Initialises libsodium exactly once; aborts if the library cannot start (no entropy source).
void ensure_sodium();

// Zeroes a buffer that held secret text or bytes, in a way the optimiser cannot remove.
void wipe(std::string& text);
void wipe(std::vector<std::uint8_t>& bytes);

}  // namespace kavach::crypto
