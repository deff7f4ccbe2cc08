// Text encodings of binary data: lowercase hex and unpadded base64url (RFC 4648 section 5).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace kavach::crypto {

using Bytes = std::vector<std::uint8_t>;

std::string to_hex(std::span<const std::uint8_t> bytes);
Result<Bytes> from_hex(std::string_view hex);
std::string to_base64url(std::span<const std::uint8_t> bytes);
Result<Bytes> from_base64url(std::string_view text);
// Standard base64 with padding, as HTTP Basic authentication and signed notes use.
std::string to_base64(std::span<const std::uint8_t> bytes);
Result<Bytes> from_base64(std::string_view text);

inline std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
inline std::string_view as_text(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace kavach::crypto
