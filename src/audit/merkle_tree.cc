#include "audit/merkle_tree.h"

#include <algorithm>
#include <bit>

#include "crypto/sha256.h"

namespace kavach::audit {
namespace {

tl::unexpected<Error> proof_error(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

// In the RFC 9162 verifiers: after hashing a left sibling in, climb while the node is a left child
// (its remaining siblings are on the right edge and were folded in already).
void climb_left_edge(std::uint64_t& fn, std::uint64_t& sn) {
  while ((fn & 1) == 0 && fn != 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

// The largest power of two strictly smaller than n (n >= 2).
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

Result<Hash> to_hash(std::span<const std::uint8_t> bytes, const char* what) {
  if (bytes.size() != kHashBytes) return proof_error(std::string(what) + " is not a 32-byte hash");
  Hash hash{};
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

// The hash of leaves [begin, end): complete aligned subtrees come from the reader, others are split
// at the largest power of two as in MTH. Every range the RFC 9162 recursions ask for starts at a
// multiple of the power of two they split off, so each left part is a complete aligned subtree.
Result<Hash> range_hash(std::uint64_t begin, std::uint64_t end, const SubtreeHashReader& read) {
  const std::uint64_t n = end - begin;
  if (std::has_single_bit(n) && begin % n == 0) {
    return read(std::countr_zero(n), begin >> std::countr_zero(n));
  }
  const auto k = split_point(n);
  ASSIGN_OR_RETURN(const Hash left, range_hash(begin, begin + k, read));
  ASSIGN_OR_RETURN(const Hash right, range_hash(begin + k, end, read));
  return node_hash(left, right);
}

// PATH(index, D[begin:end]).
Status path(std::uint64_t begin, std::uint64_t end, std::uint64_t index,
            const SubtreeHashReader& read, std::vector<Hash>& out) {
  const std::uint64_t n = end - begin;
  if (n <= 1) return {};
  const auto k = split_point(n);
  if (index < k) {
    RETURN_IF_ERROR(path(begin, begin + k, index, read, out));
    ASSIGN_OR_RETURN(const Hash right, range_hash(begin + k, end, read));
    out.push_back(right);
  } else {
    RETURN_IF_ERROR(path(begin + k, end, index - k, read, out));
    ASSIGN_OR_RETURN(const Hash left, range_hash(begin, begin + k, read));
    out.push_back(left);
  }
  return {};
}

// SUBPROOF(m, D[begin:end], whole) of RFC 9162 section 2.1.4.1.
Status subproof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool whole,
                const SubtreeHashReader& read, std::vector<Hash>& out) {
  const std::uint64_t n = end - begin;
  if (m == n) {
    if (!whole) {
      ASSIGN_OR_RETURN(const Hash hash, range_hash(begin, end, read));
      out.push_back(hash);
    }
    return {};
  }
  const auto k = split_point(n);
  if (m <= k) {
    RETURN_IF_ERROR(subproof(m, begin, begin + k, whole, read, out));
    ASSIGN_OR_RETURN(const Hash right, range_hash(begin + k, end, read));
    out.push_back(right);
  } else {
    RETURN_IF_ERROR(subproof(m - k, begin + k, end, false, read, out));
    ASSIGN_OR_RETURN(const Hash left, range_hash(begin, begin + k, read));
    out.push_back(left);
  }
  return {};
}

SubtreeHashReader reader_over(std::span<const Hash> leaves) {
  return [leaves](int level, std::uint64_t index) -> Result<Hash> {
    const std::uint64_t width = std::uint64_t{1} << level;
    return root_of(leaves.subspan(index * width, width));
  };
}

}  // namespace

Hash leaf_hash(std::span<const std::uint8_t> entry) {
  const std::uint8_t prefix = 0x00;
  return crypto::Sha256().update(std::span(&prefix, 1)).update(entry).finish();
}

Hash node_hash(const Hash& left, const Hash& right) {
  std::array<std::uint8_t, 1 + 2 * kHashBytes> input{};
  input[0] = 0x01;
  std::copy(left.begin(), left.end(), input.begin() + 1);
  std::copy(right.begin(), right.end(), input.begin() + 1 + kHashBytes);
  return crypto::sha256(input);
}

Hash root_of(std::span<const Hash> leaves) {
  if (leaves.empty()) return crypto::sha256({});
  if (leaves.size() == 1) return leaves.front();
  const auto k = split_point(leaves.size());
  return node_hash(root_of(leaves.first(k)), root_of(leaves.subspan(k)));
}

void CompactRange::append(const Hash& leaf) {
  Hash carried = leaf;
  int height = 0;
  while (!subtrees_.empty() && subtrees_.back().first == height) {
    carried = node_hash(subtrees_.back().second, carried);
    subtrees_.pop_back();
    ++height;
  }
  subtrees_.emplace_back(height, carried);
  ++size_;
}

Hash CompactRange::root() const {
  if (subtrees_.empty()) return root_of({});
  Hash root = subtrees_.back().second;
  for (auto it = subtrees_.rbegin() + 1; it != subtrees_.rend(); ++it) {
    root = node_hash(it->second, root);
  }
  return root;
}

Hash sha256(std::span<const std::uint8_t> bytes) { return crypto::sha256(bytes); }

Result<Hash> tree_root(std::uint64_t size, const SubtreeHashReader& read) {
  if (size == 0) return root_of({});
  return range_hash(0, size, read);
}

Result<std::vector<Hash>> inclusion_proof(std::uint64_t size, std::uint64_t index,
                                          const SubtreeHashReader& read) {
  if (index >= size) return proof_error("the index is outside the tree");
  std::vector<Hash> out;
  RETURN_IF_ERROR(path(0, size, index, read, out));
  return out;
}

Result<std::vector<Hash>> consistency_proof(std::uint64_t size, std::uint64_t old_size,
                                            const SubtreeHashReader& read) {
  if (old_size > size) return proof_error("the old size is larger than the tree");
  std::vector<Hash> out;
  if (old_size == 0 || old_size == size) return out;
  RETURN_IF_ERROR(subproof(old_size, 0, size, true, read, out));
  return out;
}

Result<std::vector<Hash>> inclusion_proof(std::span<const Hash> leaves, std::uint64_t index) {
  return inclusion_proof(leaves.size(), index, reader_over(leaves));
}

Result<std::vector<Hash>> consistency_proof(std::span<const Hash> leaves, std::uint64_t old_size) {
  return consistency_proof(leaves.size(), old_size, reader_over(leaves));
}

Status verify_inclusion(std::uint64_t index, std::uint64_t tree_size,
                        std::span<const std::uint8_t> leaf, std::span<const ProofElement> proof,
                        std::span<const std::uint8_t> root) {
  if (index >= tree_size) return proof_error("the leaf index is outside the tree");
  ASSIGN_OR_RETURN(Hash computed, to_hash(leaf, "the leaf hash"));
  ASSIGN_OR_RETURN(const Hash expected, to_hash(root, "the root"));
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  for (const auto& element : proof) {
    ASSIGN_OR_RETURN(const Hash sibling, to_hash(element, "a proof element"));
    if (sn == 0) return proof_error("the inclusion proof is too long");
    if ((fn & 1) != 0 || fn == sn) {
      computed = node_hash(sibling, computed);
      climb_left_edge(fn, sn);
    } else {
      computed = node_hash(computed, sibling);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return proof_error("the inclusion proof is too short");
  if (computed != expected) return proof_error("the inclusion proof does not lead to the root");
  return {};
}

Status verify_consistency(std::uint64_t size1, std::uint64_t size2,
                          std::span<const ProofElement> proof, std::span<const std::uint8_t> root1,
                          std::span<const std::uint8_t> root2) {
  if (size2 < size1) return proof_error("the second tree is smaller than the first");
  // Every tree is consistent with the empty one, so such a check proves nothing; like the reference
  // verifier, refuse it rather than let a caller believe something was checked.
  if (size1 == 0) return proof_error("a consistency check from the empty tree proves nothing");
  // Equal sizes compare the roots as given, as the reference verifier does.
  if (size1 == size2) {
    if (!proof.empty()) return proof_error("equal sizes need an empty consistency proof");
    if (!std::equal(root1.begin(), root1.end(), root2.begin(), root2.end())) {
      return proof_error("two different roots for one tree size");
    }
    return {};
  }
  if (proof.empty()) return proof_error("the consistency proof is empty");
  ASSIGN_OR_RETURN(const Hash first, to_hash(root1, "the first root"));
  ASSIGN_OR_RETURN(const Hash second, to_hash(root2, "the second root"));
  std::vector<Hash> path_hashes;
  path_hashes.reserve(proof.size() + 1);
  if (std::has_single_bit(size1)) path_hashes.push_back(first);
  for (const auto& element : proof) {
    ASSIGN_OR_RETURN(const Hash hash, to_hash(element, "a proof element"));
    path_hashes.push_back(hash);
  }
  std::uint64_t fn = size1 - 1;
  std::uint64_t sn = size2 - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path_hashes.front();
  Hash sr = path_hashes.front();
  for (std::size_t i = 1; i < path_hashes.size(); ++i) {
    const Hash& c = path_hashes[i];
    if (sn == 0) return proof_error("the consistency proof is too long");
    if ((fn & 1) != 0 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      climb_left_edge(fn, sn);
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return proof_error("the consistency proof is too short");
  if (fr != first) return proof_error("the consistency proof does not lead to the first root");
  if (sr != second) return proof_error("the consistency proof does not lead to the second root");
  return {};
}

}  // namespace kavach::audit
