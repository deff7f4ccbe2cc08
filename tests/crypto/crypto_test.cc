#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "crypto/aead.h"
#include "crypto/encoding.h"
#include "crypto/key_ring.h"
#include "crypto/keyed_hash.h"
#include "crypto/password_hash.h"
#include "crypto/public_random.h"
#include "crypto/secret_bytes.h"
#include "crypto/sha256.h"
#include "support/temp_dir.h"

namespace kavach::crypto {
namespace {

TEST(SecretBytes, KeepsItsBytesAtEverySizeAndMovesOut) {
  for (const std::size_t size : {0UL, 1UL, 32UL, 64UL, 65UL, 1000UL}) {
    std::vector<std::uint8_t> bytes(size);
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + 1);
    SecretBytes secret(bytes);
    EXPECT_EQ(secret.size(), size);
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), secret.view().begin(), secret.view().end()));
    const SecretBytes copy = secret.clone();
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), copy.view().begin(), copy.view().end()));
    SecretBytes moved = std::move(secret);
    EXPECT_TRUE(secret.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    EXPECT_EQ(moved.size(), size);
    moved = SecretBytes(32);
    EXPECT_EQ(moved.size(), 32U);
    EXPECT_TRUE(std::all_of(moved.view().begin(), moved.view().end(),
                            [](std::uint8_t byte) { return byte == 0; }));
  }
}

TEST(SecretBytes, ManyAliveAtOnceEachKeepTheirOwn) {
  // More small secrets than one locked region holds, from two threads.
  std::vector<SecretBytes> first;
  std::vector<SecretBytes> second;
  std::thread other([&] {
    for (int i = 0; i < 1500; ++i) second.push_back(SecretBytes::random(32));
  });
  for (int i = 0; i < 1500; ++i) {
    const std::vector<std::uint8_t> bytes(32, static_cast<std::uint8_t>(i));
    first.emplace_back(bytes);
  }
  other.join();
  std::set<const std::uint8_t*> slots;
  for (int i = 0; i < 1500; ++i) {
    EXPECT_TRUE(std::all_of(first[i].view().begin(), first[i].view().end(), [&](std::uint8_t byte) {
      return byte == static_cast<std::uint8_t>(i);
    }));
    slots.insert(first[i].view().data());
    slots.insert(second[i].view().data());
  }
  EXPECT_EQ(slots.size(), 3000U);
}

TEST(Aead, SealedValueOpensOnlyWithTheSameKeyAndContext) {
  const auto key = SecretBytes::random(kAeadKeyBytes);
  const auto sealed = seal(key, as_bytes("blood group B+"), "patient/1");
  EXPECT_EQ(sealed.size(), kAeadNonceBytes + 14 + kAeadTagBytes);
  auto opened = open(key, sealed, "patient/1");
  ASSERT_TRUE(opened);
  EXPECT_EQ(as_text(*opened), "blood group B+");

  EXPECT_EQ(open(key, sealed, "patient/2").error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(open(SecretBytes::random(kAeadKeyBytes), sealed, "patient/1").error().code,
            ErrorCode::kDataLoss);
  auto flipped = sealed;
  flipped[kAeadNonceBytes] ^= 1;
  EXPECT_EQ(open(key, flipped, "patient/1").error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(open(key, Bytes(10), "patient/1").error().code, ErrorCode::kDataLoss);
}

TEST(Aead, SealingTwiceGivesDifferentCiphertexts) {
  const auto key = SecretBytes::random(kAeadKeyBytes);
  EXPECT_NE(seal(key, as_bytes("x"), ""), seal(key, as_bytes("x"), ""));
}

TEST(PublicRandom, HandsOutFreshBytesAcrossRefillsAndThreads) {
  // Many draws of every size, spanning several refills of the 4 KiB pool: no 16-byte value
  // twice (a repeated block would mean bytes handed out twice), and bytes that look random.
  std::set<std::vector<std::uint8_t>> seen;
  std::array<std::size_t, 256> counts{};
  std::size_t total = 0;
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::uint8_t> value(16 + static_cast<std::size_t>(round % 7));
    fill_public_random(value);
    EXPECT_TRUE(seen.emplace(value.begin(), value.begin() + 16).second) << round;
    for (const auto byte : value) ++counts[byte];
    total += value.size();
  }
  // About 150 of each byte value expected; a pool handing out zeroes (or nothing) fails here.
  for (const auto count : counts) EXPECT_GT(count, total / 256 / 3);
  // One draw larger than the pool.
  std::vector<std::uint8_t> large(10'000);
  fill_public_random(large);
  EXPECT_GT(std::count(large.begin(), large.end(), 0), 0);
  EXPECT_LT(std::count(large.begin(), large.end(), 0), 100);
  // Threads draw from pools of their own: no value in common.
  std::vector<std::uint8_t> other(16);
  std::thread([&] { fill_public_random(other); }).join();
  EXPECT_FALSE(seen.contains(other));
}

TEST(PublicRandom, AForkedChildDoesNotHandOutWhatTheParentWill) {
  std::vector<std::uint8_t> first(24);
  fill_public_random(first);  // the pool now holds bytes the parent has not handed out
  int pipe_ends[2];
  ASSERT_EQ(pipe(pipe_ends), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::array<std::uint8_t, 24> nonce{};
    fill_public_random(nonce);
    const bool written =
        write(pipe_ends[1], nonce.data(), nonce.size()) == static_cast<ssize_t>(nonce.size());
    _exit(written ? 0 : 1);
  }
  std::array<std::uint8_t, 24> from_child{};
  ASSERT_EQ(read(pipe_ends[0], from_child.data(), from_child.size()),
            static_cast<ssize_t>(from_child.size()));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(pipe_ends[0]);
  close(pipe_ends[1]);
  std::array<std::uint8_t, 24> from_parent{};
  fill_public_random(from_parent);
  EXPECT_NE(from_child, from_parent) << "the child reused the parent's pool";
}

TEST(Encoding, RoundTripsAndRejectsGarbage) {
  const Bytes bytes{0, 1, 0xfe, 0xff, 0x10};
  EXPECT_EQ(to_hex(bytes), "0001feff10");
  EXPECT_EQ(*from_hex("0001feff10"), bytes);
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_TRUE(from_hex("")->empty());
  EXPECT_EQ(to_hex({}), "");
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_EQ(*from_base64url(to_base64url(bytes)), bytes);
  EXPECT_FALSE(from_base64url("a+b/"));
  EXPECT_EQ(as_text(*from_base64("dXNlcjpwYXNz")), "user:pass");
  EXPECT_FALSE(from_base64("dXNlcjpwYXNz!"));
}

TEST(BlindIndex, DependsOnKeyDomainAndValue) {
  const auto key = SecretBytes::random(32);
  const auto tag = blind_index(key, "Patient.family", "sharma");
  EXPECT_EQ(tag, blind_index(key, "Patient.family", "sharma"));
  EXPECT_NE(tag, blind_index(key, "Patient.given", "sharma"));
  EXPECT_NE(tag, blind_index(key, "Patient.family", "verma"));
  EXPECT_NE(tag, blind_index(SecretBytes::random(32), "Patient.family", "sharma"));
  // Length-prefixed domains keep ("ab","c") apart from ("a","bc").
  EXPECT_NE(blind_index(key, "ab", "c"), blind_index(key, "a", "bc"));
}

TEST(Mac, VerifiesOnlyTheSignedMessage) {
  const auto key = SecretBytes::random(32);
  const auto tag = mac(key, as_bytes("message"));
  EXPECT_TRUE(verify_mac(key, as_bytes("message"), tag));
  EXPECT_FALSE(verify_mac(key, as_bytes("messagE"), tag));
  EXPECT_FALSE(verify_mac(key, as_bytes("message"), std::span(tag).first(31)));
}

TEST(PasswordHash, IsArgon2idAndVerifies) {
  auto hash = hash_password("correct horse");
  ASSERT_TRUE(hash);
  EXPECT_THAT(*hash, ::testing::StartsWith("$argon2id$"));
  EXPECT_TRUE(verify_password(*hash, "correct horse"));
  EXPECT_FALSE(verify_password(*hash, "correct horsf"));
  EXPECT_FALSE(verify_password("not a hash", "correct horse"));
}

TEST(KeyRing, CreatesA0600FileAndRefusesToOverwrite) {
  testing::TempDir dir;
  const auto path = dir.path() / "node.key";
  auto ring = KeyRing::create(path);
  ASSERT_TRUE(ring);
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto again = KeyRing::create(path);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);

  auto loaded = KeyRing::load(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->active().id, ring->active().id);
  EXPECT_EQ(to_hex(loaded->active().key.view()), to_hex(ring->active().key.view()));
}

TEST(KeyRing, RefusesGroupOrWorldReadableFiles) {
  testing::TempDir dir;
  const auto path = dir.path() / "node.key";
  ASSERT_TRUE(KeyRing::create(path));
  ::chmod(path.c_str(), 0640);
  auto loaded = KeyRing::load(path);
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, ::testing::HasSubstr("readable by group or others"));
}

TEST(KeyRing, RefusesMalformedFiles) {
  testing::TempDir dir;
  const auto path = dir.path() / "bad.key";
  std::ofstream(path) << "kavach-key-file v1\nkek 0011 nothex\n";
  ::chmod(path.c_str(), 0600);
  EXPECT_FALSE(KeyRing::load(path));
  std::ofstream(path) << "something else\n";
  EXPECT_FALSE(KeyRing::load(path));
  EXPECT_FALSE(KeyRing::load(dir.path() / "missing.key"));
}

TEST(Sha256, MatchesTheFips180Vectors) {
  // FIPS 180-2 appendix B: "abc", the 448-bit message, and (below) the empty message.
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256(as_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(to_hex(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, PiecesHashAsTheWhole) {
  std::string message;
  for (int i = 0; i < 1000; ++i) message += static_cast<char>('a' + i % 26);
  Sha256 pieces;
  // Pieces across the 64-byte block boundary, and an empty one.
  pieces.update(std::string_view(message).substr(0, 63))
      .update(std::string_view())
      .update(std::string_view(message).substr(63, 2))
      .update(std::string_view(message).substr(65));
  EXPECT_EQ(pieces.finish(), sha256(as_bytes(message)));
}

TEST(KeyRing, AddAndRetireKeepTheActiveKey) {
  testing::TempDir dir;
  const auto path = dir.path() / "node.key";
  auto ring = KeyRing::create(path);
  ASSERT_TRUE(ring);
  const std::string first = ring->active().id;
  ASSERT_TRUE(ring->add_key(path));
  const std::string second = ring->active().id;
  EXPECT_NE(first, second);
  auto reloaded = KeyRing::load(path);
  ASSERT_EQ(reloaded->keys().size(), 2u);
  EXPECT_NE(reloaded->find(first), nullptr);
  EXPECT_EQ(reloaded->active().id, second);
  ASSERT_TRUE(ring->retire_inactive(path));
  reloaded = KeyRing::load(path);
  ASSERT_EQ(reloaded->keys().size(), 1u);
  EXPECT_EQ(reloaded->find(first), nullptr);
  EXPECT_EQ(reloaded->active().id, second);
}

}  // namespace
}  // namespace kavach::crypto
