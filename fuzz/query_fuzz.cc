// Query strings and percent-encoded path segments come from outside on every request.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parameters = kavach::http::parse_query(text);
  std::size_t total = 0;
  for (const auto& [name, value] : parameters) total += name.size() + value.size();
  // Decoding never grows the text.
  if (total > size) __builtin_trap();
  (void)kavach::http::percent_decode(text);
  return 0;
}
