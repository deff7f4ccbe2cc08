// RFC 9162 (Certificate Transparency v2) Merkle tree hashing and proofs, the arithmetic under the
// audit log: leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right), split at the
// largest power of two smaller than the size. Proof generation works over the leaf hashes held in
// memory; verification takes proofs as untrusted bytes (any element that is not 32 bytes, any extra
// or missing element, any wrong size fails) and is what witnesses and patients' clients run.
// Thread-safety: stateless functions.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "common/error.h"

namespace kavach::audit {

inline constexpr std::size_t kHashBytes = 32;
using Hash = std::array<std::uint8_t, kHashBytes>;
using ProofElement = std::vector<std::uint8_t>;

Hash leaf_hash(std::span<const std::uint8_t> entry);
Hash node_hash(const Hash& left, const Hash& right);
// MTH(D[n]) over leaf hashes; SHA-256 of nothing for the empty tree.
Hash root_of(std::span<const Hash> leaves);

// The right edge of a growing tree (RFC 9162 / "compact range"): the roots of its complete
// subtrees, largest first. Gives the root of every prefix while streaming leaves, in O(log n)
// memory, which is how `kavach audit verify` re-derives a log of any size.
class CompactRange {
 public:
  void append(const Hash& leaf);
  Hash root() const;
  std::uint64_t size() const { return size_; }

 private:
  std::vector<std::pair<int, Hash>> subtrees_;  // (height, hash), heights strictly decreasing
  std::uint64_t size_ = 0;
};

// SHA-256 of arbitrary bytes (content hashes in entries, key fingerprints).
Hash sha256(std::span<const std::uint8_t> bytes);

// The hash of the complete subtree of 2^level leaves that starts at leaf (index << level). A log
// too large for memory answers from its stored tiles (audit/hash_tiles.h).
using SubtreeHashReader = std::function<Result<Hash>(int level, std::uint64_t index)>;

// MTH, PATH(index, D[n]) and PROOF(old_size, D[n]) of RFC 9162 sections 2.1.1, 2.1.3.1 and
// 2.1.4.1 for a tree of `size` leaves, reading only O(log n) complete subtree hashes.
Result<Hash> tree_root(std::uint64_t size, const SubtreeHashReader& read);
Result<std::vector<Hash>> inclusion_proof(std::uint64_t size, std::uint64_t index,
                                          const SubtreeHashReader& read);
Result<std::vector<Hash>> consistency_proof(std::uint64_t size, std::uint64_t old_size,
                                            const SubtreeHashReader& read);

// The same over leaf hashes held in memory.
Result<std::vector<Hash>> inclusion_proof(std::span<const Hash> leaves, std::uint64_t index);
Result<std::vector<Hash>> consistency_proof(std::span<const Hash> leaves, std::uint64_t old_size);

// RFC 9162 sections 2.1.3.2 and 2.1.4.2; kInvalidArgument (naming the problem) when a proof fails.
Status verify_inclusion(std::uint64_t index, std::uint64_t tree_size,
                        std::span<const std::uint8_t> leaf, std::span<const ProofElement> proof,
                        std::span<const std::uint8_t> root);
Status verify_consistency(std::uint64_t size1, std::uint64_t size2,
                          std::span<const ProofElement> proof, std::span<const std::uint8_t> root1,
                          std::span<const std::uint8_t> root2);

}  // namespace kavach::audit
