// Paths of the C2SP tlog-tiles layout: "tile/<L>/<N>[.p/<W>]" for hash tiles and
// "tile/entries/<N>[.p/<W>]" for entry bundles, where N is written in groups of three digits,
// every group but the last prefixed by "x" (1234067 -> "x001/x234/067"), and W (1..255) marks a
// partial tile. The parser reads untrusted request paths and accepts only the one canonical
// spelling of each tile.
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace kavach::audit {

struct TilePath {
  bool entries = false;  // an entry bundle rather than a hash tile
  int level = 0;         // hash tiles only
  std::uint64_t index = 0;
  std::uint64_t width = 256;  // 256 for a full tile
  bool operator==(const TilePath&) const = default;
};

// Parses the part after "tile/"; kNotFound for anything that is not a canonical tile path.
Result<TilePath> parse_tile_path(std::string_view path);
// The path after "tile/".
std::string tile_path_text(const TilePath& tile);

}  // namespace kavach::audit
