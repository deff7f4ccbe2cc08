#include "audit/merkle_tree.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "crypto/encoding.h"

namespace kavach::audit {
namespace {

namespace json = boost::json;

// The vectors (transparency-dev/merkle testdata, Apache-2.0, see merkle_vectors/NOTICE.md).
std::filesystem::path vectors_dir() {
  const char* source = std::getenv("KAVACH_SOURCE_DIR");
  return std::filesystem::path(source ? source : ".") / "tests/audit/merkle_vectors";
}

json::object load(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str()).as_object();
}

crypto::Bytes bytes(const json::value& value) {
  if (value.is_null()) return {};
  auto decoded = crypto::from_base64(value.as_string());
  return decoded ? *decoded : crypto::Bytes{0xff};  // undecodable input must fail verification
}

std::vector<ProofElement> proof_of(const json::object& test) {
  std::vector<ProofElement> proof;
  if (const auto* elements = test.if_contains("proof"); elements && elements->is_array()) {
    for (const auto& element : elements->as_array()) proof.push_back(bytes(element));
  }
  return proof;
}

std::uint64_t number(const json::value& value) { return value.to_number<std::uint64_t>(); }

// Runs `verify` on every vector under `kind` and checks it accepts exactly the wantErr=false cases.
template <class Verify>
void check_vectors(const char* kind, Verify verify) {
  std::size_t cases = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(vectors_dir() / kind)) {
    if (entry.path().extension() != ".json") continue;
    const auto test = load(entry.path());
    EXPECT_EQ(verify(test).has_value(), !test.at("wantErr").as_bool()) << entry.path();
    ++cases;
  }
  EXPECT_GT(cases, 50u);
}

TEST(MerkleVectors, InclusionCasesAcceptedOrRejectedAsSpecified) {
  check_vectors("inclusion", [](const json::object& test) {
    return verify_inclusion(number(test.at("leafIdx")), number(test.at("treeSize")),
                            bytes(test.at("leafHash")), proof_of(test), bytes(test.at("root")));
  });
}

TEST(MerkleVectors, ConsistencyCasesAcceptedOrRejectedAsSpecified) {
  check_vectors("consistency", [](const json::object& test) {
    return verify_consistency(number(test.at("size1")), number(test.at("size2")), proof_of(test),
                              bytes(test.at("root1")), bytes(test.at("root2")));
  });
}

std::vector<Hash> leaves(std::size_t count) {
  std::vector<Hash> out;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string entry = "entry " + std::to_string(i);
    out.push_back(leaf_hash(crypto::as_bytes(entry)));
  }
  return out;
}

std::vector<ProofElement> as_elements(const std::vector<Hash>& proof) {
  std::vector<ProofElement> elements;
  for (const auto& hash : proof) elements.emplace_back(hash.begin(), hash.end());
  return elements;
}

TEST(MerkleTree, RootOfTheCanonicalEightLeafTree) {
  std::vector<Hash> canonical;
  for (const char* hex : {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                          "606162636465666768696a6b6c6d6e6f"}) {
    canonical.push_back(leaf_hash(*crypto::from_hex(hex)));
  }
  EXPECT_EQ(crypto::to_hex(root_of(canonical)),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  EXPECT_EQ(crypto::to_hex(root_of({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(MerkleTree, GeneratedInclusionProofsVerifyAndTamperingFails) {
  for (std::size_t size = 1; size <= 33; ++size) {
    const auto tree = leaves(size);
    const auto root = root_of(tree);
    for (std::size_t index = 0; index < size; ++index) {
      const auto proof = as_elements(*inclusion_proof(tree, index));
      EXPECT_TRUE(verify_inclusion(index, size, tree[index], proof, root)) << size << " " << index;
      EXPECT_FALSE(
          verify_inclusion(index, size, leaf_hash(crypto::as_bytes("forged")), proof, root));
      if (size > 1) {
        auto truncated = proof;
        truncated.pop_back();
        EXPECT_FALSE(verify_inclusion(index, size, tree[index], truncated, root));
        EXPECT_FALSE(verify_inclusion((index + 1) % size, size, tree[index], proof, root));
        auto flipped = proof;
        flipped[0][5] ^= 1;
        EXPECT_FALSE(verify_inclusion(index, size, tree[index], flipped, root));
      }
    }
  }
  EXPECT_FALSE(inclusion_proof(leaves(3), 3));
}

TEST(MerkleTree, GeneratedConsistencyProofsVerifyAndForksAreCaught) {
  const auto tree = leaves(40);
  for (std::size_t size2 = 1; size2 <= tree.size(); ++size2) {
    const std::span<const Hash> newer(tree.data(), size2);
    for (std::size_t size1 = 0; size1 <= size2; ++size1) {
      const std::span<const Hash> older(tree.data(), size1);
      const auto proof = as_elements(*consistency_proof(newer, size1));
      EXPECT_EQ(verify_consistency(size1, size2, proof, root_of(older), root_of(newer)).has_value(),
                size1 > 0)
          << size1 << " -> " << size2;
      if (size1 > 0 && size1 < size2) {
        // A log that rewrote its history after size1 cannot prove consistency with the old root.
        auto forked = std::vector<Hash>(tree.begin(), tree.begin() + static_cast<long>(size2));
        forked[size1 - 1] = leaf_hash(crypto::as_bytes("rewritten"));
        EXPECT_FALSE(verify_consistency(size1, size2,
                                        as_elements(*consistency_proof(forked, size1)),
                                        root_of(older), root_of(forked)));
      }
    }
  }
  EXPECT_FALSE(consistency_proof(leaves(3), 4));
}

}  // namespace
}  // namespace kavach::audit

namespace kavach::audit {
namespace {

TEST(CompactRange, GivesTheRootOfEveryPrefix) {
  std::vector<Hash> leaves;
  CompactRange range;
  EXPECT_EQ(range.root(), root_of({}));
  for (int i = 0; i < 300; ++i) {
    const auto text = std::to_string(i);
    leaves.push_back(leaf_hash({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}));
    range.append(leaves.back());
    ASSERT_EQ(range.root(), root_of(leaves)) << i;
  }
  EXPECT_EQ(range.size(), 300U);
}

}  // namespace
}  // namespace kavach::audit
