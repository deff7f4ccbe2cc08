#include "audit/signed_note.h"

#include <sodium.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/encoding.h"

namespace kavach::audit {
namespace {

using ::testing::HasSubstr;

// The example of golang.org/x/mod/sumdb/note, the reference implementation of signed notes.
constexpr std::string_view kPrivateKey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kVerifierKey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kNote =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

TEST(SignedNote, MatchesTheReferenceExampleByteForByte) {
  auto signer = NoteSigner::parse_private_key(kPrivateKey);
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_EQ(signer->verifier_key(), kVerifierKey);
  EXPECT_EQ(*signer->sign(kText), kNote);
  auto verifier = NoteVerifier::parse(kVerifierKey);
  ASSERT_TRUE(verifier);
  EXPECT_EQ(*verifier->open(kNote), kText);
}

TEST(SignedNote, TamperedNotesAndForeignKeysAreRefused) {
  auto verifier = *NoteVerifier::parse(kVerifierKey);
  std::string changed(kNote);
  changed[3] ^= 1;
  EXPECT_FALSE(verifier.open(changed));
  std::string bad_signature(kNote);
  bad_signature[bad_signature.size() - 10] = 'A';
  EXPECT_FALSE(verifier.open(bad_signature));
  EXPECT_FALSE(verifier.open(kText));  // no signature block at all

  auto other = *NoteSigner::from_seed("OtherLog", crypto::SecretBytes::random(32));
  auto foreign = *other.sign(kText);
  auto refused = verifier.open(foreign);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("no signature by PeterNeumann"));
  // A note signed by two keys opens for each of them.
  const std::string both = std::string(kNote) + foreign.substr(foreign.rfind("\n\n") + 2);
  EXPECT_TRUE(verifier.open(both));
  EXPECT_TRUE(NoteVerifier::parse(other.verifier_key())->open(both));
}

TEST(SignedNote, MalformedKeysAndTextAreRefused) {
  EXPECT_FALSE(
      NoteVerifier::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
  EXPECT_FALSE(
      NoteVerifier::parse("PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
  EXPECT_FALSE(NoteVerifier::parse("no-plus-signs"));
  EXPECT_FALSE(NoteSigner::parse_private_key(kVerifierKey));
  auto signer = *NoteSigner::parse_private_key(kPrivateKey);
  EXPECT_FALSE(signer.sign("no final newline"));
  EXPECT_FALSE(signer.sign("a\n\nblank line\n"));
  EXPECT_FALSE(NoteSigner::from_seed("has space", crypto::SecretBytes::random(32)));
}

TEST(Checkpoint, RoundTripsThroughASignedNote) {
  Checkpoint checkpoint{"kavach.example/hip/aiims-delhi", 1'234'567, leaf_hash({})};
  const auto text = checkpoint_text(checkpoint);
  EXPECT_THAT(text, ::testing::StartsWith("kavach.example/hip/aiims-delhi\n1234567\n"));
  auto signer = *NoteSigner::from_seed(checkpoint.origin, crypto::SecretBytes::random(32));
  const auto note = *signer.sign(text);
  const auto opened = NoteVerifier::parse(signer.verifier_key())->open(note);
  ASSERT_TRUE(opened);
  const auto parsed = parse_checkpoint(*opened);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->origin, checkpoint.origin);
  EXPECT_EQ(parsed->size, checkpoint.size);
  EXPECT_EQ(parsed->root, checkpoint.root);
  for (const char* bad : {"origin\n12\n", "origin\n012\nAAAA\n", "\n1\nAAAA\n", "o\nx\nAAAA\n",
                          "o\n1\nnot base64\n"}) {
    EXPECT_FALSE(parse_checkpoint(bad)) << bad;
  }
}

}  // namespace
}  // namespace kavach::audit

namespace kavach::audit {
namespace {

// The cosignature/v1 format of C2SP tlog-cosignature, rebuilt here from the specification with
// libsodium directly: key id = SHA-256(name || "\n" || 0x04 || key)[:4], then the 8-byte
// big-endian time, then an Ed25519 signature over "cosignature/v1\ntime <t>\n" || text.
TEST(Cosignature, FollowsTheSpecificationByteForByte) {
  const std::string name = "witness.example.com/w1";
  const std::string text =
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  const std::uint64_t time = 1679315147;
  crypto::SecretBytes seed(32);
  for (std::size_t i = 0; i < 32; ++i) seed.mutable_view()[i] = static_cast<std::uint8_t>(i);
  auto cosigner = NoteSigner::from_seed(name, seed, NoteKeyType::kCosignatureV1);
  ASSERT_TRUE(cosigner);
  auto line = cosigner->cosignature_line(text, time);
  ASSERT_TRUE(line) << line.error().message;

  std::array<std::uint8_t, 32> public_key{};
  std::array<std::uint8_t, 64> secret_key{};
  crypto_sign_seed_keypair(public_key.data(), secret_key.data(), seed.view().data());
  std::string key_input = name + "\n";
  key_input.push_back('\x04');
  key_input.append(reinterpret_cast<const char*>(public_key.data()), public_key.size());
  std::array<std::uint8_t, 32> key_digest{};
  crypto_hash_sha256(key_digest.data(), reinterpret_cast<const std::uint8_t*>(key_input.data()),
                     key_input.size());
  const std::string message = "cosignature/v1\ntime 1679315147\n" + text;
  std::vector<std::uint8_t> blob(key_digest.begin(), key_digest.begin() + 4);
  for (int i = 0; i < 8; ++i) blob.push_back(static_cast<std::uint8_t>(time >> (56 - 8 * i)));
  std::array<std::uint8_t, 64> signature{};
  crypto_sign_detached(signature.data(), nullptr,
                       reinterpret_cast<const std::uint8_t*>(message.data()), message.size(),
                       secret_key.data());
  blob.insert(blob.end(), signature.begin(), signature.end());
  EXPECT_EQ(*line, "\u2014 " + name + " " + crypto::to_base64(blob) + "\n");

  // A verifier for the cosigner's key accepts the cosigned note and only that.
  auto verifier = NoteVerifier::parse(cosigner->verifier_key());
  ASSERT_TRUE(verifier);
  EXPECT_EQ(verifier->type(), NoteKeyType::kCosignatureV1);
  EXPECT_TRUE(verifier->open(text + "\n" + *line));
  auto other_time = cosigner->cosignature_line(text, time + 1);
  EXPECT_NE(*other_time, *line);
  std::string tampered = *line;
  tampered[tampered.size() - 10] = tampered[tampered.size() - 10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifier->open(text + "\n" + tampered));
  // A cosigner does not sign notes, and a log key does not cosign.
  EXPECT_FALSE(cosigner->sign(text));
  EXPECT_FALSE(NoteSigner::from_seed(name, seed)->cosignature_line(text, time));
}

}  // namespace
}  // namespace kavach::audit
