#include "audit/tile_path.h"

#include <fmt/format.h>

#include <charconv>

#include "audit/tiled_tree.h"

namespace kavach::audit {
namespace {

constexpr int kLevelMax = 63;
constexpr std::size_t kIndexGroupsMax = 7;  // 10^21 > 2^64

tl::unexpected<Error> not_a_tile() { return make_error(ErrorCode::kNotFound, "no such tile"); }

bool parse_decimal(std::string_view text, std::uint64_t& value) {
  if (text.empty() || text.size() > 20) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string tile_path_text(const TilePath& tile) {
  std::uint64_t n = tile.index;
  std::string index = fmt::format("{:03d}", n % 1000);
  while (n >= 1000) {
    n /= 1000;
    index = fmt::format("x{:03d}/{}", n % 1000, index);
  }
  std::string path = tile.entries ? "entries/" : fmt::format("{}/", tile.level);
  path += index;
  if (tile.width != kTileWidth) path += fmt::format(".p/{}", tile.width);
  return path;
}

Result<TilePath> parse_tile_path(std::string_view path) {
  TilePath tile;
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) return not_a_tile();
  const auto head = path.substr(0, slash);
  std::string_view rest = path.substr(slash + 1);
  if (head == "entries") {
    tile.entries = true;
  } else {
    std::uint64_t level = 0;
    if (!parse_decimal(head, level) || level > kLevelMax) return not_a_tile();
    tile.level = static_cast<int>(level);
  }
  // Partial tiles end in ".p/<W>".
  if (const auto partial = rest.find(".p/"); partial != std::string_view::npos) {
    if (!parse_decimal(rest.substr(partial + 3), tile.width) || tile.width == 0 ||
        tile.width >= kTileWidth) {
      return not_a_tile();
    }
    rest = rest.substr(0, partial);
  }
  std::size_t groups = 0;
  std::uint64_t index = 0;
  while (!rest.empty()) {
    if (++groups > kIndexGroupsMax) return not_a_tile();
    const auto next = rest.find('/');
    const bool last = next == std::string_view::npos;
    std::string_view group = rest.substr(0, next);
    rest = last ? std::string_view() : rest.substr(next + 1);
    if (!last) {
      if (!group.starts_with('x')) return not_a_tile();
      group.remove_prefix(1);
    }
    std::uint64_t digits = 0;
    if (group.size() != 3 || !parse_decimal(group, digits)) return not_a_tile();
    if (index > (UINT64_MAX - digits) / 1000) return not_a_tile();
    index = index * 1000 + digits;
    if (last) break;
    if (rest.empty()) return not_a_tile();
  }
  if (groups == 0) return not_a_tile();
  tile.index = index;
  // One spelling per tile: "x000/001" and friends are refused.
  if (tile_path_text(tile) != path) return not_a_tile();
  return tile;
}

}  // namespace kavach::audit
