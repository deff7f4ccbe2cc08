#include "crypto/password_hash.h"

#include <sodium.h>

#include "crypto/sodium.h"

namespace kavach::crypto {

Result<std::string> hash_password(std::string_view secret) {
  ensure_sodium();
  std::string out(crypto_pwhash_STRBYTES, '\0');
  if (crypto_pwhash_str_alg(out.data(), secret.data(), secret.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(ErrorCode::kResourceExhausted, "not enough memory to hash a secret");
  }
  out.resize(out.find('\0'));
  return out;
}

bool verify_password(std::string_view encoded_hash, std::string_view secret) {
  ensure_sodium();
  if (encoded_hash.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string terminated(encoded_hash);
  return crypto_pwhash_str_verify(terminated.c_str(), secret.data(), secret.size()) == 0;
}

}  // namespace kavach::crypto
