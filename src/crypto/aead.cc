#include "crypto/aead.h"

#include <sodium.h>

#include "common/check.h"
#include "crypto/public_random.h"
#include "crypto/sodium.h"

namespace kavach::crypto {
namespace {

const unsigned char* ad_bytes(std::string_view associated_data) {
  return reinterpret_cast<const unsigned char*>(associated_data.data());
}

Result<std::size_t> open_into(const SecretBytes& key, std::span<const std::uint8_t> sealed,
                              std::string_view associated_data, std::span<std::uint8_t> out) {
  CHECK(key.size() == kAeadKeyBytes);
  if (sealed.size() < kAeadNonceBytes + kAeadTagBytes) {
    return make_error(ErrorCode::kDataLoss, "sealed value is truncated");
  }
  unsigned long long written = 0;
  const auto ciphertext = sealed.subspan(kAeadNonceBytes);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &written, nullptr, ciphertext.data(),
                                                 ciphertext.size(), ad_bytes(associated_data),
                                                 associated_data.size(), sealed.data(),
                                                 key.view().data()) != 0) {
    return make_error(ErrorCode::kDataLoss, "sealed value failed authentication");
  }
  return static_cast<std::size_t>(written);
}

}  // namespace

Bytes seal(const SecretBytes& key, std::span<const std::uint8_t> plaintext,
           std::string_view associated_data) {
  ensure_sodium();
  CHECK(key.size() == kAeadKeyBytes);
  Bytes out(kAeadNonceBytes + plaintext.size() + kAeadTagBytes);
  // A random 24-byte nonce: XChaCha20's is long enough that random ones never repeat.
  fill_public_random(std::span(out).first(kAeadNonceBytes));
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kAeadNonceBytes, &written, plaintext.data(), plaintext.size(),
      ad_bytes(associated_data), associated_data.size(), nullptr, out.data(), key.view().data());
  CHECK(written == plaintext.size() + kAeadTagBytes);
  return out;
}

Bytes seal_deterministic(const SecretBytes& key, const SecretBytes& nonce_key,
                         std::span<const std::uint8_t> plaintext,
                         std::string_view associated_data) {
  ensure_sodium();
  CHECK(key.size() == kAeadKeyBytes);
  CHECK(nonce_key.size() >= crypto_generichash_KEYBYTES_MIN);
  Bytes out(kAeadNonceBytes + plaintext.size() + kAeadTagBytes);
  crypto_generichash_state state;
  crypto_generichash_init(&state, nonce_key.view().data(), nonce_key.size(), kAeadNonceBytes);
  // The length first, so (associated data, plaintext) splits cannot collide.
  const std::uint64_t ad_length = associated_data.size();
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(&ad_length),
                            sizeof ad_length);
  crypto_generichash_update(&state, ad_bytes(associated_data), associated_data.size());
  crypto_generichash_update(&state, plaintext.data(), plaintext.size());
  crypto_generichash_final(&state, out.data(), kAeadNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kAeadNonceBytes, &written, plaintext.data(), plaintext.size(),
      ad_bytes(associated_data), associated_data.size(), nullptr, out.data(), key.view().data());
  CHECK(written == plaintext.size() + kAeadTagBytes);
  return out;
}

Result<Bytes> open(const SecretBytes& key, std::span<const std::uint8_t> sealed,
                   std::string_view associated_data) {
  ensure_sodium();
  Bytes out(sealed.size() > kAeadNonceBytes + kAeadTagBytes
                ? sealed.size() - kAeadNonceBytes - kAeadTagBytes
                : 0);
  ASSIGN_OR_RETURN(const std::size_t written, open_into(key, sealed, associated_data, out));
  out.resize(written);
  return out;
}

Result<SecretBytes> open_secret(const SecretBytes& key, std::span<const std::uint8_t> sealed,
                                std::string_view associated_data) {
  ensure_sodium();
  SecretBytes out(sealed.size() > kAeadNonceBytes + kAeadTagBytes
                      ? sealed.size() - kAeadNonceBytes - kAeadTagBytes
                      : 0);
  RETURN_IF_ERROR(open_into(key, sealed, associated_data, out.mutable_view()));
  return out;
}

}  // namespace kavach::crypto
