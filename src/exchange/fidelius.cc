#include "exchange/fidelius.h"

// OpenSSL 3 deprecates the EC_* interfaces in favour of EVP keys, which handle named curves;
// Fidelius's curve exists only as explicit parameters, and the low-level interface computes with
// it directly. The calls are the documented, still-supported ones.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/sodium.h"

namespace kavach::exchange {
namespace {

// Curve25519 in short-Weierstrass form, as BouncyCastle defines "curve25519".
constexpr std::string_view kPrimeHex =
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed";
// a = (3 - A^2) / 3 for the Montgomery A = 486662. (The reference lists it with two extra digits.)
constexpr std::string_view kAHex =
    "2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa984914a144";
constexpr std::string_view kBHex =
    "7b425ed097b425ed097b425ed097b425ed097b425ed097b4260b5e9c7710c864";
constexpr std::string_view kGxHex =
    "2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad245a";
constexpr std::string_view kGyHex =
    "20ae19a1b8a086b4e01edd2c7748d14c923d4d7e6d7c61b229e9c5a27eced3d9";
constexpr std::string_view kOrderHex =
    "1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed";
constexpr std::size_t kSaltBytes = 20;
constexpr std::size_t kIvBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kKeyBytes = 32;

struct BnCtxFree {
  void operator()(BN_CTX* p) const { BN_CTX_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
};
struct GroupFree {
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
};
struct PointFree {
  void operator()(EC_POINT* p) const { EC_POINT_clear_free(p); }
};
struct CipherFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using BnCtx = std::unique_ptr<BN_CTX, BnCtxFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using Group = std::unique_ptr<EC_GROUP, GroupFree>;
using Point = std::unique_ptr<EC_POINT, PointFree>;

Error crypto_failure(std::string_view what) {
  return Error{ErrorCode::kInternal, "fidelius: " + std::string(what)};
}

Bn bn_from_hex(std::string_view hex) {
  BIGNUM* bn = nullptr;
  const std::string text(hex);
  BN_hex2bn(&bn, text.c_str());
  return Bn(bn);
}

Bn bn_from_bytes(std::span<const std::uint8_t> bytes) {
  return Bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
}

// The curve, built once: EC_GROUP is safe to share for reading between threads.
const EC_GROUP& curve() {
  static const Group group = [] {
    BnCtx ctx(BN_CTX_new());
    const Bn p = bn_from_hex(kPrimeHex), a = bn_from_hex(kAHex), b = bn_from_hex(kBHex);
    Group built(EC_GROUP_new_curve_GFp(p.get(), a.get(), b.get(), ctx.get()));
    Point generator(EC_POINT_new(built.get()));
    const Bn gx = bn_from_hex(kGxHex), gy = bn_from_hex(kGyHex), n = bn_from_hex(kOrderHex);
    const Bn h = bn_from_hex("08");
    EC_POINT_set_affine_coordinates(built.get(), generator.get(), gx.get(), gy.get(), ctx.get());
    EC_GROUP_set_generator(built.get(), generator.get(), n.get(), h.get());
    return built;
  }();
  return *group;
}

// The DER of X.509 SubjectPublicKeyInfo for this curve, up to the point: the same 244 bytes for
// every key, so a key in that form is this prefix and the raw point.
std::vector<std::uint8_t> x509_prefix() {
  std::string hex = "308201313081ea06072a8648ce3d02013081de020101302b06072a8648ce3d01010220";
  hex += kPrimeHex;
  hex += "30440420";
  hex += kAHex;
  hex += "0420";
  hex += kBHex;
  hex += "044104";
  hex += kGxHex;
  hex += kGyHex;
  hex += "0220";
  hex += kOrderHex;
  hex += "020108034200";
  return *crypto::from_hex(hex);
}

Result<Point> decode_point(std::span<const std::uint8_t> bytes, BN_CTX* ctx) {
  const EC_GROUP& group = curve();
  Point point(EC_POINT_new(&group));
  // oct2point refuses coordinates that are not on the curve.
  if (!point || EC_POINT_oct2point(&group, point.get(), bytes.data(), bytes.size(), ctx) != 1 ||
      EC_POINT_is_at_infinity(&group, point.get()) == 1) {
    return make_error(ErrorCode::kInvalidArgument, "the public key is not a point of the curve");
  }
  // A point outside the prime-order subgroup would leak the private scalar modulo 8.
  Point check(EC_POINT_new(&group));
  if (!check ||
      EC_POINT_mul(&group, check.get(), nullptr, point.get(), EC_GROUP_get0_order(&group), ctx) !=
          1 ||
      EC_POINT_is_at_infinity(&group, check.get()) != 1) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the public key is outside the curve's subgroup");
  }
  return point;
}

Result<FideliusPublicKey> encode_point(const EC_POINT& point, BN_CTX* ctx) {
  FideliusPublicKey out{};
  if (EC_POINT_point2oct(&curve(), &point, POINT_CONVERSION_UNCOMPRESSED, out.data(), out.size(),
                         ctx) != out.size()) {
    return tl::unexpected(crypto_failure("cannot encode a point"));
  }
  return out;
}

Result<Bn> scalar_of(const crypto::SecretBytes& key) {
  if (key.size() != kFideliusScalarBytes) {
    return make_error(ErrorCode::kInvalidArgument, "a private key is a 32-byte scalar");
  }
  Bn scalar = bn_from_bytes(key.view());
  if (!scalar || BN_is_zero(scalar.get()) ||
      BN_cmp(scalar.get(), EC_GROUP_get0_order(&curve())) >= 0) {
    return make_error(ErrorCode::kInvalidArgument, "a private key is a scalar from 1 to n - 1");
  }
  return scalar;
}

// HKDF-SHA256 of the shared secret with the XOR of the nonces: the AES key and the GCM IV.
Status derive(const std::array<std::uint8_t, 32>& secret, const FideliusNonce& a,
              const FideliusNonce& b, std::array<std::uint8_t, kKeyBytes>& key,
              std::array<std::uint8_t, kIvBytes>& iv) {
  std::array<std::uint8_t, kFideliusNonceBytes> mixed{};
  for (std::size_t i = 0; i < mixed.size(); ++i) mixed[i] = a[i] ^ b[i];
  std::copy(mixed.begin() + kSaltBytes, mixed.end(), iv.begin());
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  std::size_t length = key.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), mixed.data(), kSaltBytes) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), secret.data(), static_cast<int>(secret.size())) != 1 ||
      EVP_PKEY_derive(ctx.get(), key.data(), &length) != 1 || length != key.size()) {
    return tl::unexpected(crypto_failure("HKDF failed"));
  }
  return {};
}

}  // namespace

Result<FideliusKeyPair> generate_key_pair() {
  BnCtx ctx(BN_CTX_new());
  const EC_GROUP& group = curve();
  Bn scalar(BN_new());
  do {
    if (!scalar || BN_priv_rand_range(scalar.get(), EC_GROUP_get0_order(&group)) != 1) {
      return tl::unexpected(crypto_failure("no randomness"));
    }
  } while (BN_is_zero(scalar.get()));
  FideliusKeyPair pair;
  pair.private_key = crypto::SecretBytes(kFideliusScalarBytes);
  BN_bn2binpad(scalar.get(), pair.private_key.mutable_view().data(), kFideliusScalarBytes);
  Point public_point(EC_POINT_new(&group));
  if (!public_point ||
      EC_POINT_mul(&group, public_point.get(), scalar.get(), nullptr, nullptr, ctx.get()) != 1) {
    return tl::unexpected(crypto_failure("cannot compute a public key"));
  }
  ASSIGN_OR_RETURN(pair.public_key, encode_point(*public_point, ctx.get()));
  return pair;
}

FideliusNonce generate_nonce() {
  FideliusNonce nonce{};
  const auto random = crypto::SecretBytes::random(nonce.size());
  std::copy(random.view().begin(), random.view().end(), nonce.begin());
  return nonce;
}

Result<FideliusPublicKey> parse_public_key(std::string_view base64) {
  auto bytes = crypto::from_base64(base64);
  if (!bytes) return make_error(ErrorCode::kInvalidArgument, "the public key is not base64");
  static const std::vector<std::uint8_t> prefix = x509_prefix();
  std::span<const std::uint8_t> point(*bytes);
  if (bytes->size() == prefix.size() + kFideliusPublicKeyBytes &&
      std::equal(prefix.begin(), prefix.end(), bytes->begin())) {
    point = point.subspan(prefix.size());
  }
  if (point.size() != kFideliusPublicKeyBytes || point[0] != 0x04) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "a public key is 04||X||Y (65 bytes) or X.509 with the curve25519 parameters");
  }
  BnCtx ctx(BN_CTX_new());
  ASSIGN_OR_RETURN(const auto decoded, decode_point(point, ctx.get()));
  (void)decoded;
  FideliusPublicKey key{};
  std::copy(point.begin(), point.end(), key.begin());
  return key;
}

std::string public_key_to_base64(const FideliusPublicKey& key) { return crypto::to_base64(key); }

Result<crypto::SecretBytes> parse_private_key(std::string_view base64) {
  auto bytes = crypto::from_base64(base64);
  if (!bytes) return make_error(ErrorCode::kInvalidArgument, "the private key is not base64");
  std::span<const std::uint8_t> value(*bytes);
  // A Java BigInteger writes a positive number with a zero byte first when its top bit is set.
  if (value.size() == kFideliusScalarBytes + 1 && value[0] == 0) value = value.subspan(1);
  if (value.empty() || value.size() > kFideliusScalarBytes) {
    return make_error(ErrorCode::kInvalidArgument, "a private key is at most 32 bytes");
  }
  crypto::SecretBytes key(kFideliusScalarBytes);
  std::copy(value.begin(), value.end(),
            key.mutable_view().begin() +
                static_cast<std::ptrdiff_t>(kFideliusScalarBytes - value.size()));
  crypto::wipe(*bytes);
  RETURN_IF_ERROR(scalar_of(key));
  return key;
}

std::string private_key_to_base64(const crypto::SecretBytes& key) {
  return crypto::to_base64(key.view());
}

Result<FideliusNonce> parse_nonce(std::string_view base64) {
  auto bytes = crypto::from_base64(base64);
  if (!bytes || bytes->size() != kFideliusNonceBytes) {
    return make_error(ErrorCode::kInvalidArgument, "a nonce is 32 bytes in base64");
  }
  FideliusNonce nonce{};
  std::copy(bytes->begin(), bytes->end(), nonce.begin());
  return nonce;
}

std::string nonce_to_base64(const FideliusNonce& nonce) { return crypto::to_base64(nonce); }

Result<std::array<std::uint8_t, 32>> shared_secret(const crypto::SecretBytes& own_private,
                                                   const FideliusPublicKey& peer_public) {
  BnCtx ctx(BN_CTX_new());
  ASSIGN_OR_RETURN(const Bn scalar, scalar_of(own_private));
  ASSIGN_OR_RETURN(const Point peer, decode_point(peer_public, ctx.get()));
  const EC_GROUP& group = curve();
  Point shared(EC_POINT_new(&group));
  Bn x(BN_new());
  if (!shared || !x ||
      EC_POINT_mul(&group, shared.get(), nullptr, peer.get(), scalar.get(), ctx.get()) != 1 ||
      EC_POINT_get_affine_coordinates(&group, shared.get(), x.get(), nullptr, ctx.get()) != 1) {
    return tl::unexpected(crypto_failure("ECDH failed"));
  }
  std::array<std::uint8_t, 32> secret{};
  // Padded on the left: the x-coordinate has a leading zero byte one time in 256.
  BN_bn2binpad(x.get(), secret.data(), static_cast<int>(secret.size()));
  return secret;
}

Result<std::string> encrypt(const crypto::SecretBytes& own_private,
                            const FideliusPublicKey& peer_public, const FideliusNonce& own_nonce,
                            const FideliusNonce& peer_nonce, std::string_view plaintext) {
  if (plaintext.size() > kFideliusCiphertextMax) {
    return make_error(ErrorCode::kTooLarge, "the plaintext is larger than 64 MiB");
  }
  ASSIGN_OR_RETURN(const auto secret, shared_secret(own_private, peer_public));
  std::array<std::uint8_t, kKeyBytes> key{};
  std::array<std::uint8_t, kIvBytes> iv{};
  RETURN_IF_ERROR(derive(secret, own_nonce, peer_nonce, key, iv));
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> ctx(EVP_CIPHER_CTX_new());
  std::vector<std::uint8_t> out(plaintext.size() + kTagBytes);
  int written = 0, final_written = 0;
  const auto* input = reinterpret_cast<const unsigned char*>(plaintext.data());
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), iv.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &written, input,
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + written, &final_written) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          out.data() + written + final_written) != 1) {
    return tl::unexpected(crypto_failure("AES-GCM encryption failed"));
  }
  std::fill(key.begin(), key.end(), 0);
  return crypto::to_base64(out);
}

Result<std::string> decrypt(const crypto::SecretBytes& own_private,
                            const FideliusPublicKey& peer_public, const FideliusNonce& own_nonce,
                            const FideliusNonce& peer_nonce, std::string_view ciphertext_base64) {
  auto sealed = crypto::from_base64(ciphertext_base64);
  if (!sealed || sealed->size() < kTagBytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the ciphertext is not base64 of data and a tag");
  }
  if (sealed->size() > kFideliusCiphertextMax + kTagBytes) {
    return make_error(ErrorCode::kTooLarge, "the ciphertext is larger than 64 MiB");
  }
  ASSIGN_OR_RETURN(const auto secret, shared_secret(own_private, peer_public));
  std::array<std::uint8_t, kKeyBytes> key{};
  std::array<std::uint8_t, kIvBytes> iv{};
  RETURN_IF_ERROR(derive(secret, own_nonce, peer_nonce, key, iv));
  const std::size_t data_size = sealed->size() - kTagBytes;
  std::string plaintext(data_size, '\0');
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> ctx(EVP_CIPHER_CTX_new());
  int written = 0, final_written = 0;
  auto* output = reinterpret_cast<unsigned char*>(plaintext.data());
  const bool opened =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), iv.data()) == 1 &&
      EVP_DecryptUpdate(ctx.get(), output, &written, sealed->data(), static_cast<int>(data_size)) ==
          1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, sealed->data() + data_size) ==
          1 &&
      EVP_DecryptFinal_ex(ctx.get(), output + written, &final_written) == 1;
  std::fill(key.begin(), key.end(), 0);
  if (!opened) {
    crypto::wipe(plaintext);
    return make_error(ErrorCode::kPermissionDenied,
                      "the data does not decrypt: wrong keys or nonces, or it was changed");
  }
  return plaintext;
}

}  // namespace kavach::exchange
