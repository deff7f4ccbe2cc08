#include "audit/tile_path.h"

#include <gtest/gtest.h>

namespace kavach::audit {
namespace {

TEST(TilePath, WritesIndexesInGroupsOfThree) {
  EXPECT_EQ(tile_path_text({false, 0, 0, 256}), "0/000");
  EXPECT_EQ(tile_path_text({false, 1, 1234067, 256}), "1/x001/x234/067");
  EXPECT_EQ(tile_path_text({false, 2, 1000, 17}), "2/x001/000.p/17");
  EXPECT_EQ(tile_path_text({true, 0, 48, 256}), "entries/048");
}

TEST(TilePath, ParsesWhatItWrites) {
  for (const TilePath tile : {TilePath{false, 0, 0, 256}, TilePath{false, 3, 999, 1},
                              TilePath{false, 0, 1000, 255}, TilePath{true, 0, 1234067, 256},
                              TilePath{true, 0, 7, 4}, TilePath{false, 0, UINT64_MAX, 256}}) {
    auto parsed = parse_tile_path(tile_path_text(tile));
    ASSERT_TRUE(parsed) << tile_path_text(tile);
    EXPECT_EQ(*parsed, tile);
  }
}

TEST(TilePath, RefusesEveryOtherSpelling) {
  for (const char* path : {"",
                           "0",
                           "0/",
                           "0/1",
                           "0/0001",
                           "0/x000/001",
                           "0/x001",
                           "0/x001/",
                           "0/001/002",
                           "0/000.p/0",
                           "0/000.p/256",
                           "0/000.p/",
                           "0/000.p/01",
                           "64/000",
                           "-1/000",
                           "a/000",
                           "entries",
                           "entries/",
                           "entries/00a",
                           "0/x18446/x744/x073/x709/x551/616/000",
                           "0/x018/x446/x744/x073/x709/x551/616",
                           "0/000/",
                           "0//000",
                           "0/+00"}) {
    EXPECT_FALSE(parse_tile_path(path)) << path;
  }
}

}  // namespace
}  // namespace kavach::audit
