// Tile paths arrive in public HTTP requests under /audit/log/tile/. A parsed path must print back
// as the same text: one spelling per tile.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audit/tile_path.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  auto parsed = kavach::audit::parse_tile_path(path);
  if (parsed && kavach::audit::tile_path_text(*parsed) != path) std::abort();
  return 0;
}
