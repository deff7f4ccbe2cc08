#include "audit/signed_note.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
