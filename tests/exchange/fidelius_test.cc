// The Fidelius scheme against the three test vectors of ../shared/reference/abdm.md, and its
// refusals of bad keys, nonces and ciphertexts.
#include "exchange/fidelius.h"

#include <gtest/gtest.h>

#include "crypto/encoding.h"

namespace kavach::exchange {
namespace {

std::string secret_base64(const std::array<std::uint8_t, 32>& secret) {
  return crypto::to_base64(secret);
}

TEST(Fidelius, Vector1MatchesEveryIntermediate) {
  const auto requester_private = *parse_private_key("DMxHPri8d7IT23KgLk281zZenMfVHSdeamq0RhwlIBk=");
  const auto requester_public = *parse_public_key(
      "BAheD5rUqTy4V5xR4/6HWmYpopu5CO+KO8BECS0udNqUTSNo91TIqIIy1A4Vh+F94c+n9vAcwXU2bGcfsI5f69Y=");
  const auto requester_nonce = *parse_nonce("6uj1RdDUbcpI3lVMZvijkMC8Te20O4Bcyz0SyivX8Eg=");
  const auto sender_private = *parse_private_key("AYhVZpbVeX4KS5Qm/W0+9Ye2q3rnVVGmqRICmseWni4=");
  const auto sender_public = *parse_public_key(
      "BABVt+mpRLMXiQpIfEq6bj8hlXsdtXIxLsspmMgLNI1SR5mHgDVbjHO2A+U4QlMddGzqyEidzm1AkhtSxSO2Ahg=");
  const auto sender_nonce = *parse_nonce("lmXgblZwotx+DfBgKJF0lZXtAXgBEYr5khh79Zytr2Y=");
  const std::string plaintext = "Wormtail should never have been Potter cottage's secret keeper.";
  const std::string ciphertext =
      "pzMvVZNNVtJzqPkkxcCbBUWgDEBy/"
      "mBXIeT2dJWI16ZAQnnXUb9lI+S4k8XK6mgZSKKSRIHkcNvJpllnBg548wUgavBa0vCRRwdL6kY6Yw==";

  // Both sides reach the same padded shared secret.
  EXPECT_EQ(secret_base64(*shared_secret(sender_private, requester_public)),
            "HZbc9a4h9kMAReILN5VtvbSYHWQpfIcrZ9pWHlQZUHs=");
  EXPECT_EQ(secret_base64(*shared_secret(requester_private, sender_public)),
            "HZbc9a4h9kMAReILN5VtvbSYHWQpfIcrZ9pWHlQZUHs=");
  auto sealed = encrypt(sender_private, requester_public, sender_nonce, requester_nonce, plaintext);
  ASSERT_TRUE(sealed.has_value()) << sealed.error().message;
  EXPECT_EQ(*sealed, ciphertext);
  auto opened =
      decrypt(requester_private, sender_public, requester_nonce, sender_nonce, ciphertext);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(*opened, plaintext);
}

TEST(Fidelius, Vector1AcceptsTheX509FormOfAKey) {
  // The reference gives this key as X.509 SubjectPublicKeyInfo with explicit parameters; the
  // DER is the constant prefix of this curve and the raw point.
  const auto raw = *crypto::from_base64(
      "BAheD5rUqTy4V5xR4/6HWmYpopu5CO+KO8BECS0udNqUTSNo91TIqIIy1A4Vh+F94c+n9vAcwXU2bGcfsI5f69Y=");
  auto der = *crypto::from_hex(
      "308201313081ea06072a8648ce3d02013081de020101302b06072a8648ce3d01010220"
      "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed"
      "30440420"
      "2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa984914a144"
      "0420"
      "7b425ed097b425ed097b425ed097b425ed097b425ed097b4260b5e9c7710c864"
      "044104"
      "2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad245a"
      "20ae19a1b8a086b4e01edd2c7748d14c923d4d7e6d7c61b229e9c5a27eced3d9"
      "0220"
      "1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed"
      "020108034200");
  ASSERT_EQ(der.size(), 244U);
  der.insert(der.end(), raw.begin(), raw.end());
  auto parsed = parse_public_key(crypto::to_base64(der));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_TRUE(std::equal(parsed->begin(), parsed->end(), raw.begin()));
  EXPECT_EQ(
      public_key_to_base64(*parsed),
      "BAheD5rUqTy4V5xR4/6HWmYpopu5CO+KO8BECS0udNqUTSNo91TIqIIy1A4Vh+F94c+n9vAcwXU2bGcfsI5f69Y=");
}

TEST(Fidelius, Vector2DecryptsTheReferenceHiusData) {
  const auto hiu_private = *parse_private_key("DrDDUf+HIXB59/ym4GxrM/TfeULHyiUVzHWkq9rFkJI=");
  const auto hiu_nonce = *parse_nonce("pk5xT1Xk+KUlf/LC1LZawKECPNvOvIzhZNEyIdh7oJE=");
  const auto hip_public = *parse_public_key(
      "BF+mRxuHRjpnXFxyTgPak0otDYPAs7Ej1s7azLzOVsnjf3XEmnBg0bZJOeY/1zDPT5XvgHeZtzKSXknWCxe0174=");
  const auto hip_nonce = *parse_nonce("xXrM6PfCsBX0Q238uxZCP8YBpPXxsiZvbE++jX5GV5c=");
  auto opened = decrypt(hiu_private, hip_public, hiu_nonce, hip_nonce,
                        "cMTT+FiiDMVXdK1nbBXmnNXP2doSbWQ11Sl8rs1d5SzVDA==");
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(*opened, "\"This is a string\"");
}

TEST(Fidelius, Vector3PadsASharedSecretWithALeadingZero) {
  const auto requester_private = *parse_private_key("D5US863TZV0ZyFUpsyUUDGY3FlNiB3xpNZGL0w084BE=");
  const auto requester_nonce = *parse_nonce("kwO28YHtBkNPumD3tyVnATwIk/wLbNYsCntMDELEBos=");
  const auto sender_public = *parse_public_key(
      "BAhSBZFFLluI5hu3R9KkhihJ0Za/SDDZgcWgSV/ysNV4Y2ZXYW+VHu6AWgBlXwme5MlTAX5JfaaCrW4yEV1prf8=");
  const auto sender_nonce = *parse_nonce("FMOeI97JalXTtibvslVCDnH6MUUd7rYyYkxGgzL+6o4=");
  EXPECT_EQ((*shared_secret(requester_private, sender_public))[0], 0);
  auto opened = decrypt(requester_private, sender_public, requester_nonce, sender_nonce,
                        "tM4lK8AI1c366W0Wl87P+RENmFwJQXEmOIMz5UZP3IozS48jrvnyIhc=");
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_EQ(*opened, "{\"resourceType\":\"Bundle\"}");
  // What a stripped 31-byte secret would have produced does not open.
  EXPECT_EQ(decrypt(requester_private, sender_public, requester_nonce, sender_nonce,
                    "3mLkqm6NX86uwyNfKiSn3zB6qkCkYSJEOobLw0AyS/o+RjDL5Wbe1H4=")
                .error()
                .code,
            ErrorCode::kPermissionDenied);
}

TEST(Fidelius, FreshKeysRoundTripAndTamperingIsRefused) {
  const auto hip = *generate_key_pair();
  const auto hiu = *generate_key_pair();
  const auto hip_nonce = generate_nonce();
  const auto hiu_nonce = generate_nonce();
  const std::string bundle = R"({"resourceType":"Bundle","type":"document"})";
  const auto sealed = *encrypt(hip.private_key, hiu.public_key, hip_nonce, hiu_nonce, bundle);
  EXPECT_EQ(*decrypt(hiu.private_key, hip.public_key, hiu_nonce, hip_nonce, sealed), bundle);
  // Keys survive their text forms.
  EXPECT_EQ(*parse_public_key(public_key_to_base64(hip.public_key)), hip.public_key);
  EXPECT_TRUE(
      std::equal(hip.private_key.view().begin(), hip.private_key.view().end(),
                 parse_private_key(private_key_to_base64(hip.private_key))->view().begin()));
  auto changed = *crypto::from_base64(sealed);
  changed[3] ^= 1;
  EXPECT_EQ(
      decrypt(hiu.private_key, hip.public_key, hiu_nonce, hip_nonce, crypto::to_base64(changed))
          .error()
          .code,
      ErrorCode::kPermissionDenied);
  auto other_nonce = hiu_nonce;
  other_nonce[0] ^= 1;
  EXPECT_FALSE(
      decrypt(hiu.private_key, hip.public_key, other_nonce, hip_nonce, sealed).has_value());
  const auto stranger = *generate_key_pair();
  EXPECT_FALSE(
      decrypt(stranger.private_key, hip.public_key, hiu_nonce, hip_nonce, sealed).has_value());
}

TEST(Fidelius, BadKeysAndNoncesAreRefusedWithReasons) {
  auto point = *crypto::from_base64(
      "BAheD5rUqTy4V5xR4/6HWmYpopu5CO+KO8BECS0udNqUTSNo91TIqIIy1A4Vh+F94c+n9vAcwXU2bGcfsI5f69Y=");
  point[64] ^= 1;  // no longer on the curve
  EXPECT_NE(parse_public_key(crypto::to_base64(point)).error().message.find("not a point"),
            std::string::npos);
  EXPECT_FALSE(parse_public_key("not base64!").has_value());
  EXPECT_FALSE(parse_public_key(crypto::to_base64(std::vector<std::uint8_t>(65, 0))).has_value());
  EXPECT_FALSE(parse_public_key(crypto::to_base64(std::vector<std::uint8_t>(33, 2))).has_value());
  EXPECT_FALSE(parse_private_key(crypto::to_base64(std::vector<std::uint8_t>(32, 0))).has_value());
  EXPECT_FALSE(parse_private_key(crypto::to_base64(std::vector<std::uint8_t>(34, 1))).has_value());
  EXPECT_FALSE(
      parse_private_key(crypto::to_base64(std::vector<std::uint8_t>(32, 0xff))).has_value());
  EXPECT_TRUE(
      parse_private_key("AAGIVWaW1Xl+CkuUJv1tPvWHtqt651VRpqkSApnHlp4u").has_value());  // 33 bytes
  EXPECT_FALSE(parse_nonce("AAAA").has_value());
}

}  // namespace
}  // namespace kavach::exchange
