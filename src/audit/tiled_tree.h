// TiledTree: the audit log's Merkle tree laid out as C2SP tlog-tiles, so it scales past memory.
//
// Tile (L, N) holds the hashes of the complete subtrees of height 8L numbered 256N .. 256N+255
// (level-0 tiles hold leaf hashes). Full tiles never change, so they are stored once and read
// back through a FullTileReader; the one partial tile at the right edge of each level lives here.
// Any complete subtree hash is then one tile read plus at most 127 hash operations, and a proof
// at ten million entries touches a handful of tiles.
//
// append() grows the tree and returns the tiles it completed; until the caller has stored them
// and called forget_completed(), they are answered from memory. Copying a TiledTree copies the
// right edge only (at most 256 hashes per level), so a writer can grow a copy and publish it
// once the new tiles are durable.
// Thread-safety: none; the owner (AuditLog) guards it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "audit/merkle_tree.h"
#include "common/error.h"
#include "store/store.h"

namespace kavach::audit {

inline constexpr int kTileHeight = 8;
inline constexpr std::uint64_t kTileWidth = 256;
// A tree of 2^64 leaves has tiles on at most 8 levels.
inline constexpr int kTileLevelsMax = 8;

using TileHashes = std::shared_ptr<const std::vector<Hash>>;
// Returns the full tile (level, index) or an error (kDataLoss when it should exist and does not).
using FullTileReader = std::function<Result<TileHashes>(int level, std::uint64_t index)>;

// The bytes of a tile: its hashes concatenated; and back (kInvalidArgument for a bad length).
store::Bytes tile_bytes(std::span<const Hash> hashes);
Result<std::vector<Hash>> tile_hashes(std::span<const std::uint8_t> bytes);

class TiledTree {
 public:
  explicit TiledTree(FullTileReader read_full_tile) : read_full_tile_(std::move(read_full_tile)) {}

  // Rebuilds the right edge of a tree of `size` leaves whose full tiles are readable: the level-0
  // edge from `edge_leaves` (the hashes of leaves size - size % 256 .. size - 1), the rest from
  // the full tiles below.
  Status restore(std::uint64_t size, std::span<const Hash> edge_leaves);

  // Adds leaves at the end; returns the tiles they completed, in completion order.
  std::vector<store::AuditTile> append(std::span<const Hash> leaves);
  // The completed tiles are stored and readable through the reader now.
  void forget_completed() { completed_.clear(); }

  std::uint64_t size() const { return size_; }
  Result<Hash> root() const;
  // The hash of a complete subtree (see SubtreeHashReader); kInvalidArgument beyond the tree.
  Result<Hash> subtree_hash(int level, std::uint64_t index) const;
  SubtreeHashReader reader() const {
    return [this](int level, std::uint64_t index) { return subtree_hash(level, index); };
  }
  // The first `width` hashes (1..256) of tile (level, index), full or partial; kNotFound when the
  // tree does not have that many yet.
  Result<std::vector<Hash>> tile(int level, std::uint64_t index, std::uint64_t width) const;

 private:
  // Hashes at tree height 8 * level.
  std::uint64_t hashes_at(int level) const { return size_ >> (kTileHeight * level); }
  Result<TileHashes> full_tile(int level, std::uint64_t index) const;

  FullTileReader read_full_tile_;
  std::uint64_t size_ = 0;
  std::vector<std::vector<Hash>> edge_;  // edge_[L]: the partial tile at level L
  std::map<std::pair<int, std::uint64_t>, TileHashes> completed_;
};

}  // namespace kavach::audit
