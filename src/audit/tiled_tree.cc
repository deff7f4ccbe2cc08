#include "audit/tiled_tree.h"

#include <fmt/format.h>

#include <algorithm>

namespace kavach::audit {

store::Bytes tile_bytes(std::span<const Hash> hashes) {
  store::Bytes bytes;
  bytes.reserve(hashes.size() * kHashBytes);
  for (const auto& hash : hashes) bytes.insert(bytes.end(), hash.begin(), hash.end());
  return bytes;
}

Result<std::vector<Hash>> tile_hashes(std::span<const std::uint8_t> bytes) {
  if (bytes.empty() || bytes.size() % kHashBytes != 0 || bytes.size() > kTileWidth * kHashBytes) {
    return make_error(ErrorCode::kInvalidArgument, "a tile is 1 to 256 hashes of 32 bytes");
  }
  std::vector<Hash> hashes(bytes.size() / kHashBytes);
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(i * kHashBytes), kHashBytes,
                hashes[i].begin());
  }
  return hashes;
}

Status TiledTree::restore(std::uint64_t size, std::span<const Hash> edge_leaves) {
  if (edge_leaves.size() != size % kTileWidth) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("a tree of {} leaves has {} leaves on its right edge, not {}",
                                  size, size % kTileWidth, edge_leaves.size()));
  }
  size_ = size;
  completed_.clear();
  edge_.assign(1, std::vector<Hash>(edge_leaves.begin(), edge_leaves.end()));
  for (int level = 1; level < kTileLevelsMax && hashes_at(level) > 0; ++level) {
    const std::uint64_t first = hashes_at(level) / kTileWidth * kTileWidth;
    std::vector<Hash> edge;
    for (std::uint64_t index = first; index < hashes_at(level); ++index) {
      ASSIGN_OR_RETURN(const auto below, full_tile(level - 1, index));
      edge.push_back(root_of(*below));
    }
    edge_.push_back(std::move(edge));
  }
  return {};
}

std::vector<store::AuditTile> TiledTree::append(std::span<const Hash> leaves) {
  std::vector<store::AuditTile> completed;
  for (const auto& leaf : leaves) {
    if (edge_.empty()) edge_.emplace_back();
    edge_[0].push_back(leaf);
    ++size_;
    for (int level = 0; edge_[level].size() == kTileWidth; ++level) {
      const std::uint64_t index = hashes_at(level) / kTileWidth - 1;
      auto hashes = std::make_shared<const std::vector<Hash>>(std::move(edge_[level]));
      edge_[level].clear();
      completed.push_back(
          store::AuditTile{level, static_cast<std::int64_t>(index), tile_bytes(*hashes)});
      if (static_cast<std::size_t>(level) + 1 == edge_.size()) edge_.emplace_back();
      edge_[level + 1].push_back(root_of(*hashes));
      completed_[{level, index}] = std::move(hashes);
    }
  }
  return completed;
}

Result<TileHashes> TiledTree::full_tile(int level, std::uint64_t index) const {
  if (const auto found = completed_.find({level, index}); found != completed_.end()) {
    return found->second;
  }
  ASSIGN_OR_RETURN(auto tile, read_full_tile_(level, index));
  if (!tile || tile->size() != kTileWidth) {
    return make_error(ErrorCode::kDataLoss,
                      fmt::format("audit tile {}/{} is not a full tile", level, index));
  }
  return tile;
}

Result<Hash> TiledTree::root() const { return tree_root(size_, reader()); }

Result<Hash> TiledTree::subtree_hash(int level, std::uint64_t index) const {
  const int tile_level = level / kTileHeight;
  const int height_in_tile = level % kTileHeight;
  const std::uint64_t first = index << height_in_tile;
  const std::uint64_t count = std::uint64_t{1} << height_in_tile;
  if (level < 0 || tile_level >= kTileLevelsMax || first + count > hashes_at(tile_level)) {
    return make_error(
        ErrorCode::kInvalidArgument,
        fmt::format("subtree {}/{} is not complete in a tree of {}", level, index, size_));
  }
  ASSIGN_OR_RETURN(const auto hashes,
                   tile(tile_level, first / kTileWidth, first % kTileWidth + count));
  return root_of(std::span<const Hash>(hashes).subspan(first % kTileWidth, count));
}

Result<std::vector<Hash>> TiledTree::tile(int level, std::uint64_t index,
                                          std::uint64_t width) const {
  if (level < 0 || level >= kTileLevelsMax || width == 0 || width > kTileWidth) {
    return make_error(ErrorCode::kNotFound, "no such tile");
  }
  const std::uint64_t full_tiles = hashes_at(level) / kTileWidth;
  if (index < full_tiles) {
    ASSIGN_OR_RETURN(const auto full, full_tile(level, index));
    return std::vector<Hash>(full->begin(), full->begin() + static_cast<std::ptrdiff_t>(width));
  }
  if (index == full_tiles && static_cast<std::size_t>(level) < edge_.size() &&
      width <= edge_[level].size()) {
    const auto& edge = edge_[level];
    return std::vector<Hash>(edge.begin(), edge.begin() + static_cast<std::ptrdiff_t>(width));
  }
  return make_error(ErrorCode::kNotFound,
                    fmt::format("the log has no tile {}/{} of width {} yet", level, index, width));
}

}  // namespace kavach::audit
