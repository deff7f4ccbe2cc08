#include "crypto/secret_bytes.h"

#include <sodium.h>

#include "crypto/sodium.h"

namespace kavach::crypto {

SecretBytes::SecretBytes(std::size_t size) : bytes_(size) {
  ensure_sodium();
  if (!bytes_.empty()) sodium_mlock(bytes_.data(), bytes_.size());
}

SecretBytes::SecretBytes(std::span<const std::uint8_t> bytes) : SecretBytes(bytes.size()) {
  std::copy(bytes.begin(), bytes.end(), bytes_.begin());
}

SecretBytes::~SecretBytes() { wipe(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.bytes_.clear();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

SecretBytes SecretBytes::random(std::size_t size) {
  SecretBytes secret(size);
  randombytes_buf(secret.bytes_.data(), secret.bytes_.size());
  return secret;
}

void SecretBytes::wipe() {
  if (bytes_.empty()) return;
  // sodium_munlock zeroes the memory before unlocking it.
  sodium_munlock(bytes_.data(), bytes_.size());
  bytes_.clear();
}

}  // namespace kavach::crypto
