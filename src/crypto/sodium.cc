#include "crypto/sodium.h"

#include <sodium.h>

#include "common/check.h"

namespace kavach::crypto {

void ensure_sodium() {
  static const bool initialised = [] { return sodium_init() >= 0; }();
  CHECK(initialised);
}

void wipe(std::string& text) {
  sodium_memzero(text.data(), text.size());
  text.clear();
}

void wipe(std::vector<std::uint8_t>& bytes) {
  sodium_memzero(bytes.data(), bytes.size());
  bytes.clear();
}

}  // namespace kavach::crypto
