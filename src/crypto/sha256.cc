#include "crypto/sha256.h"

#include <openssl/evp.h>

#include "common/check.h"

namespace kavach::crypto {
namespace {

// Fetched once: looking the algorithm up by name on every hash costs more than hashing a node.
const EVP_MD* sha256_algorithm() {
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  CHECK(algorithm != nullptr);
  return algorithm;
}

}  // namespace

// OpenSSL's digests fail only when memory runs out, which is a crash anyway (as in libsodium's,
// which cannot fail at all).
void Sha256::Free::operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  CHECK(context_ != nullptr &&
        EVP_DigestInit_ex2(context_.get(), sha256_algorithm(), nullptr) == 1);
}

Sha256& Sha256::update(std::span<const std::uint8_t> bytes) {
  CHECK(EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size()) == 1);
  return *this;
}

Sha256& Sha256::update(std::string_view text) {
  return update(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

Sha256Digest Sha256::finish() {
  Sha256Digest out{};
  unsigned int size = 0;
  CHECK(EVP_DigestFinal_ex(context_.get(), out.data(), &size) == 1 && size == out.size());
  return out;
}

Sha256Digest sha256(std::span<const std::uint8_t> bytes) {
  Sha256Digest out{};
  unsigned int size = 0;
  CHECK(EVP_Digest(bytes.data(), bytes.size(), out.data(), &size, sha256_algorithm(), nullptr) ==
            1 &&
        size == out.size());
  return out;
}

}  // namespace kavach::crypto
