#include "audit/tiled_tree.h"

#include <gtest/gtest.h>

#include <map>

namespace kavach::audit {
namespace {

std::vector<Hash> leaves(std::uint64_t count) {
  std::vector<Hash> out;
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto text = std::to_string(i);
    out.push_back(leaf_hash({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}));
  }
  return out;
}

// Full tiles kept as a store would keep them.
class TileShelf {
 public:
  void keep(const std::vector<store::AuditTile>& tiles) {
    for (const auto& tile : tiles) {
      auto hashes = tile_hashes(tile.hashes);
      ASSERT_TRUE(hashes);
      shelf_[{tile.level, static_cast<std::uint64_t>(tile.index)}] =
          std::make_shared<const std::vector<Hash>>(*hashes);
    }
  }
  FullTileReader reader() {
    return [this](int level, std::uint64_t index) -> Result<TileHashes> {
      ++reads;
      const auto found = shelf_.find({level, index});
      if (found == shelf_.end()) return make_error(ErrorCode::kDataLoss, "no such tile");
      return found->second;
    };
  }
  int reads = 0;

 private:
  std::map<std::pair<int, std::uint64_t>, TileHashes> shelf_;
};

TEST(TiledTree, RootsMatchTheInMemoryTreeAtEverySizeAcrossTileEdges) {
  const auto all = leaves(600);
  TileShelf shelf;
  TiledTree tree(shelf.reader());
  for (std::uint64_t size = 1; size <= all.size(); ++size) {
    shelf.keep(tree.append(std::span(all).subspan(size - 1, 1)));
    tree.forget_completed();
    ASSERT_EQ(*tree.root(), root_of(std::span(all).first(size))) << size;
  }
}

TEST(TiledTree, CompletesTilesOnTwoLevels) {
  TiledTree tree([](int, std::uint64_t) -> Result<TileHashes> {
    return make_error(ErrorCode::kDataLoss, "unused");
  });
  const auto all = leaves(256 * 256 + 3);
  const auto completed = tree.append(all);
  ASSERT_EQ(completed.size(), 257U);  // 256 leaf tiles and the first level-1 tile
  EXPECT_EQ(completed.back().level, 1);
  EXPECT_EQ(completed.back().index, 0);
  EXPECT_EQ(completed[255].level, 0);
  EXPECT_EQ(completed[255].index, 255);
  EXPECT_EQ(*tree.root(), root_of(all));
}

TEST(TiledTree, ProofsFromTilesEqualProofsFromLeaves) {
  const auto all = leaves(70'000);
  TileShelf shelf;
  TiledTree tree(shelf.reader());
  shelf.keep(tree.append(all));
  tree.forget_completed();
  for (const std::uint64_t size :
       std::vector<std::uint64_t>{1, 255, 256, 257, 65536, 65537, 70000}) {
    const auto prefix = std::span(all).first(size);
    for (const std::uint64_t index : std::vector<std::uint64_t>{0, size / 3, size - 1}) {
      auto from_tiles = inclusion_proof(size, index, tree.reader());
      ASSERT_TRUE(from_tiles) << from_tiles.error().message;
      EXPECT_EQ(*from_tiles, *inclusion_proof(prefix, index)) << size << " " << index;
    }
    for (const std::uint64_t old_size : std::vector<std::uint64_t>{1, size / 2, size}) {
      if (old_size == 0) continue;
      auto from_tiles = consistency_proof(size, old_size, tree.reader());
      ASSERT_TRUE(from_tiles);
      EXPECT_EQ(*from_tiles, *consistency_proof(prefix, old_size)) << size << " " << old_size;
    }
  }
}

TEST(TiledTree, AnInclusionProofReadsAFewTilesOnly) {
  const auto all = leaves(70'000);
  TileShelf shelf;
  TiledTree tree(shelf.reader());
  shelf.keep(tree.append(all));
  tree.forget_completed();
  shelf.reads = 0;
  ASSERT_TRUE(inclusion_proof(all.size(), 12'345, tree.reader()));
  EXPECT_LE(shelf.reads, 32);
}

TEST(TiledTree, RestoresItsRightEdgeFromStoredTiles) {
  const auto all = leaves(66'000);
  TileShelf shelf;
  TiledTree original(shelf.reader());
  shelf.keep(original.append(std::span(all).first(65'800)));
  original.forget_completed();

  TiledTree restored(shelf.reader());
  const std::uint64_t size = 65'800;
  ASSERT_TRUE(restored.restore(size, std::span(all).subspan(size - size % 256, size % 256)));
  EXPECT_EQ(*restored.root(), *original.root());
  shelf.keep(restored.append(std::span(all).subspan(size)));
  EXPECT_EQ(*restored.root(), root_of(all));
  // A wrong edge length is refused.
  EXPECT_FALSE(restored.restore(size, std::span(all).first(3)));
}

TEST(TiledTree, ServesFullAndPartialTiles) {
  const auto all = leaves(300);
  TileShelf shelf;
  TiledTree tree(shelf.reader());
  shelf.keep(tree.append(all));
  tree.forget_completed();
  auto full = tree.tile(0, 0, 256);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->front(), all[0]);
  auto partial = tree.tile(0, 1, 44);
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->back(), all[299]);
  EXPECT_EQ(tree.tile(0, 1, 45).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(tree.tile(0, 2, 1).error().code, ErrorCode::kNotFound);
  auto upper = tree.tile(1, 0, 1);
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->front(), root_of(std::span(all).first(256)));
  EXPECT_FALSE(tree.subtree_hash(9, 0));  // 512 leaves are not there yet
}

TEST(TiledTree, TileBytesRoundTripAndRefuseBadLengths) {
  const auto some = leaves(3);
  EXPECT_EQ(*tile_hashes(tile_bytes(some)), some);
  EXPECT_FALSE(tile_hashes(std::vector<std::uint8_t>(33)));
  EXPECT_FALSE(tile_hashes(std::vector<std::uint8_t>()));
  EXPECT_FALSE(tile_hashes(std::vector<std::uint8_t>(257 * 32)));
}

}  // namespace
}  // namespace kavach::audit
