// Fidelius: the encryption of ABDM's health-information push (../shared/reference/abdm.md),
// byte for byte as the reference implementations do it, so Kavach interoperates with them.
//
// Keys live on Curve25519 written in short-Weierstrass form (BouncyCastle's "curve25519"), not
// X25519: scalars are not clamped, so only generic elliptic-curve Diffie-Hellman gives the same
// shared secret. The secret is the x-coordinate of the shared point, 32 bytes big-endian, padded
// with leading zeros (implementations that strip them fail one time in 256; Kavach does not). The
// two 32-byte nonces are XORed; bytes 0-19 are the HKDF-SHA256 salt and bytes 20-31 the AES-256-GCM
// IV; the 16-byte tag follows the ciphertext; all text is standard base64.
//
// Public keys are read in both forms seen in the wild: raw (04 || X || Y, 65 bytes) and X.509
// SubjectPublicKeyInfo with the explicit curve, and written raw. Every peer key is checked to be
// a point of the curve in its prime-order subgroup. Private keys are Java BigInteger bytes (32,
// or 33 with a leading zero). Kavach's own pushes use a fresh key pair and nonce for every page
// (one entry per page), so no key and IV pair ever encrypts twice.
// Thread-safety: stateless functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"
#include "crypto/secret_bytes.h"

namespace kavach::exchange {

inline constexpr std::size_t kFideliusPublicKeyBytes = 65;
inline constexpr std::size_t kFideliusScalarBytes = 32;
inline constexpr std::size_t kFideliusNonceBytes = 32;
inline constexpr std::size_t kFideliusCiphertextMax = 64 * 1024 * 1024;

using FideliusPublicKey = std::array<std::uint8_t, kFideliusPublicKeyBytes>;
using FideliusNonce = std::array<std::uint8_t, kFideliusNonceBytes>;

struct FideliusKeyPair {
  crypto::SecretBytes private_key;  // the scalar, 32 bytes big-endian
  FideliusPublicKey public_key{};
};

Result<FideliusKeyPair> generate_key_pair();
FideliusNonce generate_nonce();

// Raw or X.509 base64; kInvalidArgument for anything else or a point off the curve's subgroup.
Result<FideliusPublicKey> parse_public_key(std::string_view base64);
std::string public_key_to_base64(const FideliusPublicKey& key);
// Java BigInteger bytes in base64 (32, or 33 with a leading zero byte); a scalar in [1, n).
Result<crypto::SecretBytes> parse_private_key(std::string_view base64);
std::string private_key_to_base64(const crypto::SecretBytes& key);
Result<FideliusNonce> parse_nonce(std::string_view base64);
std::string nonce_to_base64(const FideliusNonce& nonce);

// The padded 32-byte x-coordinate of own_private * peer_public.
Result<std::array<std::uint8_t, 32>> shared_secret(const crypto::SecretBytes& own_private,
                                                   const FideliusPublicKey& peer_public);

// Encrypts for the peer; returns base64 of ciphertext || tag. The nonce roles are symmetric.
Result<std::string> encrypt(const crypto::SecretBytes& own_private,
                            const FideliusPublicKey& peer_public, const FideliusNonce& own_nonce,
                            const FideliusNonce& peer_nonce, std::string_view plaintext);
// kPermissionDenied when the tag does not verify (wrong keys, nonces or a changed ciphertext).
Result<std::string> decrypt(const crypto::SecretBytes& own_private,
                            const FideliusPublicKey& peer_public, const FideliusNonce& own_nonce,
                            const FideliusNonce& peer_nonce, std::string_view ciphertext_base64);

}  // namespace kavach::exchange
