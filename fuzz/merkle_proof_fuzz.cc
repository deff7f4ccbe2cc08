// Inclusion and consistency proofs arrive from other nodes and from witnesses. The input is read as
// two little-endian 64-bit numbers followed by 32-byte chunks: roots, a leaf and proof elements.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "audit/merkle_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using kavach::audit::ProofElement;
  if (size < 16) return 0;
  std::uint64_t first = 0;
  std::uint64_t second = 0;
  std::memcpy(&first, data, 8);
  std::memcpy(&second, data + 8, 8);
  std::vector<ProofElement> chunks;
  for (std::size_t at = 16; at < size; at += 32) {
    chunks.emplace_back(data + at, data + std::min(size, at + 32));
  }
  if (chunks.size() < 2) return 0;
  const std::vector<ProofElement> proof(chunks.begin() + 2, chunks.end());
  (void)kavach::audit::verify_inclusion(first, second, chunks[0], proof, chunks[1]);
  (void)kavach::audit::verify_consistency(first, second, proof, chunks[0], chunks[1]);
  return 0;
}
