// Configuration files are written by people; a bad one must be refused with a message, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/serve_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  kavach::config::ServeConfig config;
  if (kavach::config::load_toml_text(text, "fuzz", config)) (void)kavach::config::validate(config);
  return 0;
}
